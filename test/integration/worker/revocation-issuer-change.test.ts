/**
 * Revocations stay with their trust record (storage schema version 2, `revoke/v2/<name>`): a
 * record whose issuer changes (the cluster's service-account issuer moved) keeps denying the
 * accounts it denied. Version-1 lists (`revoke/v1/<issuer>`) still apply, and the next write
 * folds them into the record’s own list (docs/storage-schema.md, "Versions and migration").
 */
import { env } from 'cloudflare:workers';
import { beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_UID } from '../../support/kit.mjs';
import {
  ADMIN,
  credentialRequest,
  defaultRecord,
  edgeFetch,
  makeIssuer,
  now,
  postCredentials,
  putRecord,
  saToken,
  type TestIssuer,
} from '../../support/worker/issuer';

const UID = DEFAULT_UID; // the account every kit token names
const v1Key = (issuer: string) => `revoke/v1/${encodeURIComponent(issuer)}`;
const v2Key = (name: string) => `revoke/v2/${encodeURIComponent(name)}`;

let iss: TestIssuer;
let moved: TestIssuer;
let name: string;
let counter = 0;

beforeEach(async () => {
  iss = await makeIssuer();
  moved = await makeIssuer(); // the same cluster under its new issuer URL (new keys too)
  name = `moving-${++counter}`;
  expect((await putRecord(name, defaultRecord(iss))).status).toBe(201);
});

const admin = (path: string, init: RequestInit = {}) =>
  edgeFetch(`/admin/v1/issuers/${name}${path}`, { ...init, headers: { ...ADMIN(), 'content-type': 'application/json', ...init.headers } });

async function exchange(cluster: TestIssuer) {
  const res = await postCredentials(credentialRequest(await saToken(cluster)));
  return { status: res.status, code: res.status === 200 ? undefined : ((await res.json()) as { error: string }).error };
}

/** A revocation list as version 1 stored it, under the issuer. */
async function writeV1(issuer: string) {
  const t = now();
  const entry = { kind: 'serviceAccountUid', uid: UID, id: 'rv-legacy0000001', createdAt: t, expiresAt: t + 86400 };
  await env.TRUST.put(v1Key(issuer), JSON.stringify({ items: [entry] }), { expirationTtl: 86400 });
  return entry;
}

describe('changing a record’s issuer', () => {
  it('keeps a revoked account revoked under the new issuer', async () => {
    const res = await admin('/revocations', { method: 'POST', body: JSON.stringify({ kind: 'serviceAccountUid', uid: UID }) });
    expect(res.status).toBe(201);
    expect(await exchange(iss)).toEqual({ status: 401, code: 'ERR_REVOKED' });

    expect((await putRecord(name, defaultRecord(moved))).status).toBe(200);
    expect(await exchange(moved)).toEqual({ status: 401, code: 'ERR_REVOKED' });
    expect(((await (await admin('/revocations')).json()) as { items: unknown[] }).items).toHaveLength(1);
  });

  it('keeps a version-1 revocation (stored under the old issuer) and moves it into the record’s own list', async () => {
    const entry = await writeV1(iss.issuer);
    expect(await exchange(iss)).toEqual({ status: 401, code: 'ERR_REVOKED' }); // v1 read as a fallback

    expect((await putRecord(name, defaultRecord(moved))).status).toBe(200);
    expect(await exchange(moved)).toEqual({ status: 401, code: 'ERR_REVOKED' });
    expect(await env.TRUST.get(v1Key(iss.issuer))).toBeNull();
    expect(JSON.parse((await env.TRUST.get(v2Key(name)))!).items).toEqual([entry]);
  });

  it('still lets an administrator lift a version-1 revocation, and it stays lifted', async () => {
    const entry = await writeV1(iss.issuer);
    const listed = ((await (await admin('/revocations')).json()) as { items: { id: string }[] }).items;
    expect(listed.map((r) => r.id)).toEqual([entry.id]);
    expect((await admin(`/revocations/${entry.id}`, { method: 'DELETE' })).status).toBe(204);
    expect(await env.TRUST.get(v1Key(iss.issuer))).toBeNull();
    expect(await exchange(iss)).toEqual({ status: 200, code: undefined });
  });

  it('merges a target revoked in both versions into one entry that keeps the later cut-off and expiry', async () => {
    const t = now();
    const cut = (before: number, expiresAt: number, id: string) => ({ kind: 'issuedBefore', before, id, createdAt: t, expiresAt });
    await env.TRUST.put(v2Key(name), JSON.stringify({ items: [cut(t - 100, t + 200_000, 'rv-own000000001')] }));
    await env.TRUST.put(v1Key(iss.issuer), JSON.stringify({ items: [cut(t - 10, t + 100_000, 'rv-legacy000001')] }));
    const { items } = (await (await admin('/revocations')).json()) as { items: { before: number; expiresAt: number }[] };
    expect(items).toMatchObject([{ before: t - 10, expiresAt: t + 200_000 }]);
    expect((await putRecord(name, defaultRecord(moved))).status).toBe(200); // folds v1 in
    expect(JSON.parse((await env.TRUST.get(v2Key(name)))!).items).toMatchObject([{ before: t - 10, expiresAt: t + 200_000 }]);
  });

  it('does not carry a revocation to the record that takes over the old issuer', async () => {
    await admin('/revocations', { method: 'POST', body: JSON.stringify({ kind: 'serviceAccountUid', uid: UID }) });
    expect((await putRecord(name, defaultRecord(moved))).status).toBe(200);
    expect((await putRecord(`${name}-new`, defaultRecord(iss))).status).toBe(201);
    expect(await exchange(iss)).toEqual({ status: 200, code: undefined });
  });
});
