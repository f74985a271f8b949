/**
 * PUT /v1/keys in workerd (routes/keys.ts through the admin writer): a cluster's key-sync
 * account pushes its JWKS with its own projected token. A rotation done the Kubernetes way
 * flows through and pulls follow it; a dropped key, another account, another cluster and
 * malformed or oversized sets are refused with stable codes; history and confirmations say who.
 */
import { env } from 'cloudflare:workers';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import { beforeEach, describe, expect, it } from 'vitest';
import { writeKeyConfirmation } from '../../../src/store/key-sync';
import { expectEdgeError } from '../../support/expect-edge';
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
  type TokenOptions,
} from '../../support/worker/issuer';

const SYNC_AUDIENCE = 'edge-key-sync';
const keySync = { audience: SYNC_AUDIENCE, serviceAccount: { namespace: 'kube-system', name: 'edge-key-sync' } };

let iss: TestIssuer;
let name: string;
let next: { privateKey: CryptoKey; jwk: JWK };
let counter = 0;

beforeEach(async () => {
  iss = await makeIssuer();
  name = `keys-${++counter}`;
  const pair = await generateKeyPair('RS256', { extractable: true });
  next = { privateKey: pair.privateKey, jwk: { ...(await exportJWK(pair.publicKey)), kid: `next-${counter}`, alg: 'RS256', use: 'sig' } };
  expect((await putRecord(name, defaultRecord(iss, { keySync }))).status).toBe(201);
});

/** A token of the key-sync account (signed by the cluster's RSA key unless `signingKey`/`kid` say otherwise). */
const syncToken = (t: TokenOptions = {}) => saToken(iss, { namespace: 'kube-system', serviceAccount: 'edge-key-sync', audience: SYNC_AUDIENCE, ...t });
const signedByNext = (t: TokenOptions = {}) => syncToken({ ...t, signingKey: next.privateKey, kid: next.jwk.kid! });

function pushKeys(token: string | undefined, body: unknown) {
  return edgeFetch('/v1/keys', {
    method: 'PUT',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}
const admin = (path = '', init: RequestInit = {}) => edgeFetch(`/admin/v1/issuers/${name}${path}`, { ...init, headers: { ...ADMIN(), ...init.headers } });
const pull = async (t: TokenOptions = {}) => postCredentials(credentialRequest(await saToken(iss, t)));

describe('PUT /v1/keys', () => {
  it('follows a rotation done the Kubernetes way: add, switch signing, drop; pulls keep working', async () => {
    // 1. The API server lists the new key beside the old ones; the push is signed by the old one.
    let res = await pushKeys(await syncToken(), { jwks: { keys: [...iss.jwks.keys, next.jwk] } });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ record: name, changed: true, keys: [iss.rsa.jwk.kid, iss.ec.jwk.kid, next.jwk.kid], version: 2 });
    expect((await pull()).status).toBe(200);
    expect((await pull({ signingKey: next.privateKey, kid: next.jwk.kid! })).status).toBe(200);

    // 2. It signs with the new key and drops the old ones: the push is signed by the new key.
    res = await pushKeys(await signedByNext(), { jwks: { keys: [next.jwk] } });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ changed: true, keys: [next.jwk.kid], version: 3 });
    expect((await pull({ signingKey: next.privateKey, kid: next.jwk.kid! })).status).toBe(200);
    await expectEdgeError(await pull(), 401, 'ERR_UNKNOWN_KEY');

    // 3. A stolen old key cannot bring itself back.
    await expectEdgeError(await pushKeys(await syncToken(), { jwks: { keys: iss.jwks.keys } }), 401, 'ERR_UNKNOWN_KEY');

    const history = (await (await admin('/history')).json()) as { items: { version: number; by: string; action: string }[] };
    expect(history.items.slice(0, 3).map((h) => [h.version, h.action, h.by])).toEqual([
      [3, 'replace', 'keysync:kube-system/edge-key-sync'],
      [2, 'replace', 'keysync:kube-system/edge-key-sync'],
      [1, 'create', 'token:admin'],
    ]);
    // The ETag a GET answers is the one the writer compares: an admin change after a push holds.
    const etag = (await admin()).headers.get('etag')!;
    const record = defaultRecord(iss, { keySync, keys: { type: 'inline', jwks: { keys: [next.jwk] } }, cacheKeyType: 'Registry' });
    const res4 = await admin('', { method: 'PUT', headers: { 'content-type': 'application/json', 'if-match': etag }, body: JSON.stringify(record) });
    expect(res4.status).toBe(200);
  });

  it('confirms an unchanged set without a new record version', async () => {
    const res = await pushKeys(await syncToken(), { jwks: iss.jwks });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { changed: boolean; version?: number; confirmedAt: number };
    expect(body).toMatchObject({ changed: false });
    expect(body.version).toBeUndefined();
    const history = (await (await admin('/history')).json()) as { items: unknown[] };
    expect(history.items).toHaveLength(1);
    const status = (await (await admin('/keys')).json()) as Record<string, unknown>;
    expect(status).toMatchObject({ type: 'inline', confirmed: { at: body.confirmedAt, by: 'keysync:kube-system/edge-key-sync' }, staleAfter: 604800 });
    expect(status.warning).toBeUndefined();
  });

  it('refuses a set that drops the key that signed the push', async () => {
    await expectEdgeError(await pushKeys(await syncToken(), { jwks: { keys: [iss.ec.jwk, next.jwk] } }), 409, 'ERR_KEY_CONTINUITY');
  });

  it('refuses another service account, a pull token, and a token of another cluster', async () => {
    const set = { jwks: { keys: [...iss.jwks.keys, next.jwk] } };
    await expectEdgeError(await pushKeys(await syncToken({ serviceAccount: 'default' }), set), 403, 'ERR_KEY_SYNC_FORBIDDEN');
    await expectEdgeError(await pushKeys(await syncToken({ namespace: 'team-a' }), set), 403, 'ERR_KEY_SYNC_FORBIDDEN');
    await expectEdgeError(await pushKeys(await saToken(iss, { namespace: 'kube-system', serviceAccount: 'edge-key-sync' }), set), 401, 'ERR_AUDIENCE_MISMATCH');
    // Another cluster's key, claiming this cluster's issuer (its kid, then one of ours).
    const other = await makeIssuer();
    const forged = (kid: string) =>
      other.token({ issuer: iss.issuer, namespace: 'kube-system', serviceAccount: 'edge-key-sync', audience: SYNC_AUDIENCE, kid });
    await expectEdgeError(await pushKeys(await forged(other.rsa.jwk.kid!), { jwks: { keys: [other.rsa.jwk] } }), 401, 'ERR_UNKNOWN_KEY');
    await expectEdgeError(await pushKeys(await forged(iss.rsa.jwk.kid!), { jwks: { keys: [iss.rsa.jwk] } }), 401, 'ERR_BAD_SIGNATURE');
    // Another cluster with its own record: its token changes its record, never this one.
    expect((await putRecord(`${name}-other`, defaultRecord(other))).status).toBe(201);
    const push = await other.token({ namespace: 'kube-system', serviceAccount: 'edge-key-sync', audience: SYNC_AUDIENCE });
    await expectEdgeError(await pushKeys(push, { jwks: other.jwks }), 403, 'ERR_KEY_SYNC_DISABLED');
    expect(((await (await admin()).json()) as { keys: unknown }).keys).toEqual({ type: 'inline', jwks: iss.jwks });
  });

  it.each([
    ['no bearer token', async () => pushKeys(undefined, { jwks: iss.jwks }), 401, 'ERR_TOKEN_MISSING'],
    ['a bearer that is not a JWT', async () => pushKeys('not-a-jwt', { jwks: iss.jwks }), 401, 'ERR_TOKEN_MALFORMED'],
    ['an unknown issuer', async () => pushKeys(await syncToken({ issuer: 'https://nobody.k8s.test' }), { jwks: iss.jwks }), 401, 'ERR_UNKNOWN_ISSUER'],
    ['a private key member', async () => pushKeys(await syncToken(), { jwks: { keys: [{ ...iss.rsa.jwk, d: 'AQAB' }] } }), 400, 'ERR_INVALID_JWKS'],
    ['a body that is not JSON', async () => pushKeys(await syncToken(), '{"jwks":'), 400, 'ERR_BAD_REQUEST'],
    [
      'a body over 32 KiB',
      async () => pushKeys(await syncToken(), { jwks: { keys: [{ ...iss.rsa.jwk, x5c: ['A'.repeat(33 * 1024)] }] } }),
      413,
      'ERR_BODY_TOO_LARGE',
    ],
  ])('refuses %s', async (_, send, status, code) => {
    const body = await expectEdgeError(await send(), status, code);
    if (code === 'ERR_INVALID_JWKS') expect(body.issues).toEqual(['jwks.keys.0: private member "d"']);
  });

  it('refuses a record without keySync, and an expired token', async () => {
    expect((await putRecord(name, defaultRecord(iss))).status).toBe(200);
    await expectEdgeError(await pushKeys(await syncToken(), { jwks: iss.jwks }), 403, 'ERR_KEY_SYNC_DISABLED');
    expect((await putRecord(name, defaultRecord(iss, { keySync }))).status).toBe(200);
    await expectEdgeError(await pushKeys(await syncToken({ now: now() - 7200 }), { jwks: iss.jwks }), 401, 'ERR_TOKEN_EXPIRED');
  });
});

describe('stale inline keys', () => {
  it('are confirmed by a PUT that creates or changes them, not by one that keeps them', async () => {
    const first = (await (await admin('/keys')).json()) as { confirmed: { at: number; by: string } };
    expect(first.confirmed.by).toBe('token:admin');
    await writeKeyConfirmation(env.TRUST, name, { at: 1000, by: 'token:admin' });
    expect((await putRecord(name, defaultRecord(iss, { keySync, cacheKeyType: 'Registry' }))).status).toBe(200);
    expect(((await (await admin('/keys')).json()) as { confirmed: { at: number } }).confirmed.at).toBe(1000);
    expect((await putRecord(name, defaultRecord(iss, { keySync, keys: { type: 'inline', jwks: { keys: [iss.rsa.jwk] } } }))).status).toBe(200);
    expect(((await (await admin('/keys')).json()) as { confirmed: { at: number } }).confirmed.at).toBeGreaterThan(1000);
  });

  it('make explain and the keys status warn, and an unknown kid says to sync', async () => {
    await writeKeyConfirmation(env.TRUST, name, { at: now() - 8 * 86400, by: 'token:admin' });
    const status = (await (await admin('/keys')).json()) as { warning?: string };
    expect(status.warning).toMatch(/inline keys last confirmed 19\d h ago by token:admin/);
    const explain = await edgeFetch('/admin/v1/explain', {
      method: 'POST',
      headers: { ...ADMIN(), 'content-type': 'application/json' },
      body: JSON.stringify({ token: await saToken(iss, { signingKey: next.privateKey, kid: 'rotated' }), image: 'registry.test:5000/team-a/app' }),
    });
    const body = (await explain.json()) as { code: string; detail: string; warnings: string[] };
    expect(body.code).toBe('ERR_UNKNOWN_KEY');
    expect(body.detail).toMatch(/kid "rotated" is not among the record's 2 inline keys.*sync them/);
    expect(body.warnings).toEqual([status.warning]);
  });
});
