/**
 * Revocation at the moment of use: a credential handed out under a rule stops getting
 * registry tokens when its record is disabled or deleted, its rule narrowed or removed, or
 * its account, uid or id revoked through the admin API (which also stops new exchanges).
 */
import { env } from 'cloudflare:workers';
import { decodeJwt, jwtVerify } from 'jose';
import { beforeEach, describe, expect, it } from 'vitest';
import { mintCredential } from '../../../src/registry/credential';
import { loadKeyRing } from '../../../src/signing/keys';
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

const REGISTRY = 'registry.test:5000';
const UID = '11111111-2222-3333-4444-555555555555';
const rule = { name: 'team-a-push', namespaces: ['team-a'], registry: REGISTRY, repositories: ['team-a/*'], actions: ['pull', 'push'] };

let iss: TestIssuer;
let name: string;
let counter = 0;

beforeEach(async () => {
  iss = await makeIssuer();
  name = `revoke-${++counter}`;
  expect((await putRecord(name, defaultRecord(iss, { rules: [rule] }))).status).toBe(201);
});

async function credential(opts: { uid?: string } = {}): Promise<string> {
  const res = await postCredentials(credentialRequest(await saToken(iss, opts.uid ? { uid: opts.uid } : {})));
  expect(res.status).toBe(200);
  return ((await res.json()) as { auth: Record<string, { password: string }> }).auth[REGISTRY]!.password;
}

async function token(password: string, scope = 'repository:team-a/app:pull,push') {
  const res = await edgeFetch(`/token?service=${encodeURIComponent(REGISTRY)}&scope=${encodeURIComponent(scope)}`, {
    headers: { authorization: `Basic ${btoa(`team-a/builder:${password}`)}` },
  });
  const body = (await res.json()) as { token?: string; errors?: { code: string; detail: { error: string } }[] };
  return { status: res.status, code: body.errors?.[0]?.detail.error, token: body.token };
}

async function accessOf(jwt: string) {
  const ring = await loadKeyRing(env.EDGE_SIGNING_KEYS);
  return (await jwtVerify(jwt, ring.active.publicKey, { audience: REGISTRY })).payload.access;
}

const admin = (path: string, init: RequestInit = {}) =>
  edgeFetch(`/admin/v1/issuers/${name}${path}`, { ...init, headers: { ...ADMIN(), 'content-type': 'application/json', ...init.headers } });

async function revoke(body: Record<string, unknown>) {
  const res = await admin('/revocations', { method: 'POST', body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

describe('/token re-checks the trust record', () => {
  it('grants while the record and rule stand', async () => {
    const t = await token(await credential());
    expect(t.status).toBe(200);
    expect(await accessOf(t.token!)).toEqual([{ type: 'repository', name: 'team-a/app', actions: ['pull', 'push'] }]);
  });

  it('refuses a live credential once its record is disabled, and serves it again once re-enabled', async () => {
    const password = await credential();
    expect((await putRecord(name, defaultRecord(iss, { rules: [rule], disabled: true }))).status).toBe(200);
    expect(await token(password)).toMatchObject({ status: 401, code: 'ERR_ISSUER_DISABLED' });
    expect((await putRecord(name, defaultRecord(iss, { rules: [rule] }))).status).toBe(200);
    expect((await token(password)).status).toBe(200);
  });

  it('refuses a live credential once its record is deleted', async () => {
    const password = await credential();
    expect((await admin('', { method: 'DELETE' })).status).toBe(204);
    expect(await token(password)).toMatchObject({ status: 401, code: 'ERR_REVOKED' });
  });

  it('narrows a live credential to what the narrowed rule grants now', async () => {
    const password = await credential();
    await putRecord(name, defaultRecord(iss, { rules: [{ ...rule, actions: ['pull'] }] }));
    const t = await token(password);
    expect(t.status).toBe(200);
    expect(await accessOf(t.token!)).toEqual([{ type: 'repository', name: 'team-a/app', actions: ['pull'] }]);
  });

  it.each([
    ['the rule is removed', { ...rule, name: 'another-rule' }],
    ['the rule no longer covers the namespace', { ...rule, namespaces: ['team-b'] }],
    ['the rule now pins another uid', { ...rule, serviceAccountUids: ['someone-else'] }],
  ])('refuses a live credential when %s', async (_t, changed) => {
    const password = await credential();
    await putRecord(name, defaultRecord(iss, { rules: [changed] }));
    expect(await token(password)).toMatchObject({ status: 401, code: 'ERR_REVOKED' });
  });
});

describe('revocations through the admin API', () => {
  it('revokes by service-account uid: live credentials and new exchanges alike, until removed', async () => {
    const password = await credential();
    const { status, body: entry } = await revoke({ kind: 'serviceAccountUid', uid: UID, reason: 'account deleted' });
    expect(status).toBe(201);
    expect(entry).toMatchObject({ kind: 'serviceAccountUid', uid: UID, reason: 'account deleted' });
    // Default expiry: every token (max lifetime 24 h) and credential (max 12 h) existing now has expired by then.
    expect(entry.expiresAt - entry.createdAt).toBe(86400 + 43200);
    expect(await token(password)).toMatchObject({ status: 401, code: 'ERR_REVOKED' });
    const res = await postCredentials(credentialRequest(await saToken(iss)));
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: string }).error).toBe('ERR_REVOKED');
    // Another account (new uid) is unaffected.
    expect((await token(await credential({ uid: 'new-uid' }))).status).toBe(200);

    expect((await admin(`/revocations/${entry.id}`, { method: 'DELETE' })).status).toBe(204);
    expect((await token(password)).status).toBe(200);
  });

  it('revokes by namespace and service account name', async () => {
    const password = await credential();
    expect((await revoke({ kind: 'serviceAccount', namespace: 'team-a', name: 'builder' })).status).toBe(201);
    expect(await token(password)).toMatchObject({ status: 401, code: 'ERR_REVOKED' });
    expect((await postCredentials(credentialRequest(await saToken(iss, { uid: 'any-uid' })))).status).toBe(401);
  });

  it("revokes one credential by its id, leaving the account's other credentials alone", async () => {
    const first = await credential();
    const second = await credential();
    expect((await revoke({ kind: 'credential', jti: decodeJwt(first).jti })).status).toBe(201);
    expect(await token(first)).toMatchObject({ status: 401, code: 'ERR_REVOKED' });
    expect((await token(second)).status).toBe(200);
    expect((await postCredentials(credentialRequest(await saToken(iss)))).status).toBe(200);
  });

  it('voids every credential issued before a cut-off, not those issued after', async () => {
    const ring = await loadKeyRing(env.EDGE_SIGNING_KEYS);
    const old = await mintCredential(ring, {
      edgeIssuer: env.EDGE_ISSUER!,
      workload: { cluster: iss.issuer, record: name, namespace: 'team-a', serviceAccount: { name: 'builder', uid: UID }, expiresAt: 0 },
      registry: REGISTRY,
      service: REGISTRY,
      rule: rule.name,
      grants: [{ repositories: ['team-a/*'], actions: ['pull'] }],
      ttl: 3600,
      now: now() - 30,
    });
    expect((await token(old.password)).status).toBe(200);
    expect((await revoke({ kind: 'issuedBefore', before: now() - 10 })).status).toBe(201);
    expect(await token(old.password)).toMatchObject({ status: 401, code: 'ERR_REVOKED' });
    expect((await token(await credential())).status).toBe(200);
  });

  it('voids everything issued so far by default', async () => {
    const password = await credential();
    const { body } = await revoke({ kind: 'issuedBefore' });
    expect(body.before).toBeGreaterThan(decodeJwt(password).iat!);
    expect(await token(password)).toMatchObject({ status: 401, code: 'ERR_REVOKED' });
  });

  it('lists live revocations, one entry per target (a repeat is merged into it)', async () => {
    await revoke({ kind: 'serviceAccountUid', uid: '00000000-0000-4000-8000-000000000001' });
    await revoke({ kind: 'serviceAccountUid', uid: '00000000-0000-4000-8000-000000000001', ttl: 200000 });
    await revoke({ kind: 'credential', jti: 'j-1' });
    const res = await admin('/revocations');
    const { items } = (await res.json()) as { items: { kind: string; expiresAt: number; createdAt: number }[] };
    expect(items.map((i) => i.kind)).toEqual(['serviceAccountUid', 'credential']);
    expect(items[0]!.expiresAt - items[0]!.createdAt).toBe(200000);
  });

  it('never weakens a revocation by repeating it: the later cut-off and the later expiry stay', async () => {
    const password = await credential();
    const first = (await revoke({ kind: 'issuedBefore' })).body as { before: number; expiresAt: number };
    // a second cut-off an hour earlier (which alone would not void this credential), kept for longer
    const { status, body } = await revoke({ kind: 'issuedBefore', before: first.before - 3600, ttl: 86400 });
    expect(status).toBe(201);
    expect(body).toMatchObject({ before: first.before });
    expect(body.expiresAt).toBeGreaterThan(first.expiresAt);
    expect(await token(password)).toMatchObject({ status: 401, code: 'ERR_REVOKED' });
    // and a shorter ttl does not shorten an account revocation
    const long = (await revoke({ kind: 'serviceAccountUid', uid: '00000000-0000-4000-8000-000000000002', ttl: 1_000_000 })).body as { expiresAt: number };
    const again = (await revoke({ kind: 'serviceAccountUid', uid: '00000000-0000-4000-8000-000000000002' })).body as { expiresAt: number };
    expect(again.expiresAt).toBe(long.expiresAt);
    const { items } = (await (await admin('/revocations')).json()) as { items: { kind: string }[] };
    expect(items.map((i) => i.kind)).toEqual(['issuedBefore', 'serviceAccountUid']);
  });

  it('refuses an account revocation that would expire before the tokens it voids (ttl under maxTokenLifetime + 12 h)', async () => {
    const { status, body } = await revoke({ kind: 'serviceAccountUid', uid: '00000000-0000-4000-8000-000000000003', ttl: 43200 });
    expect(status).toBe(400);
    expect(body.error).toBe('ERR_BAD_REQUEST');
    expect(String(body.message)).toContain(String(86400 + 43200));
  });

  it('shows the revocation in explain', async () => {
    const { body: entry } = await revoke({ kind: 'serviceAccountUid', uid: UID });
    const res = await edgeFetch('/admin/v1/explain', {
      method: 'POST',
      headers: { ...ADMIN(), 'content-type': 'application/json' },
      body: JSON.stringify({ token: await saToken(iss), image: `${REGISTRY}/team-a/app` }),
    });
    const body = (await res.json()) as Record<string, any>;
    expect(body).toMatchObject({ decision: 'deny', code: 'ERR_REVOKED', identity: { namespace: 'team-a' } });
    expect(body.revocation).toContain(entry.id);
  });

  it.each([
    ['an unknown kind', { kind: 'everything' }],
    ['a uid revocation without a uid', { kind: 'serviceAccountUid' }],
    ['a ttl shorter than the longest credential', { kind: 'credential', jti: 'x', ttl: 3600 }],
    ['a cut-off in the future', { kind: 'issuedBefore', before: 4_000_000_000 }],
    ['an unknown field', { kind: 'credential', jti: 'x', extra: 1 }],
  ])('rejects %s with 400', async (_t, body) => {
    const { status, body: json } = await revoke(body);
    expect(status).toBe(400);
    expect(json.error).toBe('ERR_BAD_REQUEST');
  });

  it.each([
    ['an uppercase namespace', { kind: 'serviceAccount', namespace: 'Team-A', name: 'builder' }, 'namespace'],
    ['a name with a trailing space', { kind: 'serviceAccount', namespace: 'team-a', name: 'builder ' }, 'name'],
    ['a name with a zero-width space', { kind: 'serviceAccount', namespace: 'team-a', name: 'buil\u200bder' }, 'name'],
    ['an uppercase uid', { kind: 'serviceAccountUid', uid: 'AAAAAAAA-2222-3333-4444-555555555555' }, 'uid'],
    ['a padded uid', { kind: 'serviceAccountUid', uid: ` ${UID}` }, 'uid'],
  ])('refuses a revocation that could never match (%s) with 400 ERR_BAD_REQUEST naming the field', async (_t, body, field) => {
    const { status, body: json } = await revoke(body);
    expect(status).toBe(400);
    expect(json.error).toBe('ERR_BAD_REQUEST');
    expect(json.issues.join('\n')).toContain(`${field}:`);
    expect(((await (await admin('/revocations')).json()) as { items: unknown[] }).items).toEqual([]);
  });

  it('answers 404 for an unknown revocation id or record', async () => {
    expect((await admin('/revocations/rv-nothing', { method: 'DELETE' })).status).toBe(404);
    const res = await edgeFetch('/admin/v1/issuers/no-such-record/revocations', { headers: ADMIN() });
    expect(res.status).toBe(404);
  });
});
