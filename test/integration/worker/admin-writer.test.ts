/**
 * The admin writer (src/store/writer.ts): every change to a record or its revocations goes
 * through one Durable Object, which compares If-Match with the version it holds (not with a
 * KV read that may be a minute old in another location), one change at a time. Stale KV is
 * simulated by writing an old version into KV behind the writer's back.
 */
import { env } from 'cloudflare:workers';
import { createExecutionContext, evictDurableObject, waitOnExecutionContext } from 'cloudflare:test';
import { beforeEach, describe, expect, it } from 'vitest';
import { app } from '../../../src/app';
import { TrustRecordSchema } from '../../../src/policy/schema';
import { WRITER_NAME } from '../../../src/routes/admin-writer';
import { forgetTrust, putRecord } from '../../../src/store/trust';
import { expectEdgeError } from '../../support/expect-edge';
import { ADMIN, defaultRecord, edgeFetch, makeIssuer, type TestIssuer } from '../../support/worker/issuer';

const JSON_BODY = { 'content-type': 'application/json' };

let iss: TestIssuer;
let name: string;
let n = 0;
beforeEach(async () => {
  iss = await makeIssuer();
  name = `writer-${++n}`;
});

const put = (record: unknown, headers: Record<string, string> = {}) =>
  edgeFetch(`/admin/v1/issuers/${name}`, { method: 'PUT', headers: { ...ADMIN(), ...JSON_BODY, ...headers }, body: JSON.stringify(record) });
const get = () => edgeFetch(`/admin/v1/issuers/${name}`, { headers: ADMIN() });
const audiences = async () => ((await (await get()).json()) as { audiences: string[] }).audiences;

/** The real KV, except that a write lands 50 ms late (as it reaches other locations late). */
function slowKv(): KVNamespace {
  return new Proxy(env.TRUST, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as (...a: unknown[]) => Promise<unknown>;
      if (typeof value !== 'function') return value;
      if (prop !== 'put') return value.bind(target);
      return async (...args: unknown[]) => {
        await new Promise((r) => setTimeout(r, 50));
        return value.apply(target, args);
      };
    },
  });
}

/** A request to this record through the app with `bindings` (the test's env, changed). */
async function send(init: RequestInit, bindings: Record<string, unknown>) {
  const ctx = createExecutionContext();
  const res = await app.fetch(
    new Request(`https://edge.test/admin/v1/issuers/${name}`, { ...init, headers: { ...ADMIN(), ...JSON_BODY, ...init.headers } }),
    bindings,
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return res;
}

/** What a location whose KV is a minute behind reads: `record` written to KV directly. */
async function staleKv(record: Record<string, unknown>) {
  await putRecord(env.TRUST, TrustRecordSchema.parse({ name, ...record }), undefined);
  forgetTrust();
}

describe('If-Match through the writer', () => {
  it('lets exactly one of several concurrent writers with the same If-Match win', async () => {
    const etag = (await put(defaultRecord(iss))).headers.get('etag')!;
    // Each writer as if in its own location: what it writes to KV is seen only 50 ms later.
    const writers = ['a', 'b', 'c', 'd', 'e'].map((a) =>
      send({ method: 'PUT', headers: { 'if-match': etag }, body: JSON.stringify(defaultRecord(iss, { audiences: [a] })) }, { ...env, TRUST: slowKv() }),
    );
    const statuses = (await Promise.all(writers)).map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 412)).toHaveLength(4);
    const winner = ['a', 'b', 'c', 'd', 'e'][statuses.indexOf(200)];
    expect(await audiences()).toEqual([winner]);
  });

  it('compares with the version the writer holds, not with a stale KV read', async () => {
    const v1 = (await put(defaultRecord(iss))).headers.get('etag')!;
    const v2 = (await put(defaultRecord(iss, { audiences: ['v2'] }), { 'if-match': v1 })).headers.get('etag')!;
    await staleKv(defaultRecord(iss)); // KV here still says v1
    expect((await get()).headers.get('etag')).toBe(v1);
    await expectEdgeError(await put(defaultRecord(iss, { audiences: ['late'] }), { 'if-match': v1 }), 412, 'ERR_PRECONDITION_FAILED');
    expect((await put(defaultRecord(iss, { audiences: ['v3'] }), { 'if-match': v2 })).status).toBe(200);
    expect(await audiences()).toEqual(['v3']);
  });

  it('refuses a weak ETag: If-Match compares strongly (RFC 9110), so W/"..." never matches', async () => {
    const etag = (await put(defaultRecord(iss))).headers.get('etag')!;
    await expectEdgeError(await put(defaultRecord(iss, { audiences: ['weak'] }), { 'if-match': `W/${etag}` }), 412, 'ERR_PRECONDITION_FAILED');
    await expectEdgeError(
      await edgeFetch(`/admin/v1/issuers/${name}`, { method: 'DELETE', headers: { ...ADMIN(), 'if-match': `W/${etag}` } }),
      412,
      'ERR_PRECONDITION_FAILED',
    );
    expect((await get()).headers.get('etag')).toBe(etag);
  });

  it("keeps the writer's version when its object is evicted and started again", async () => {
    const v1 = (await put(defaultRecord(iss))).headers.get('etag')!;
    const v2 = (await put(defaultRecord(iss, { audiences: ['v2'] }))).headers.get('etag')!;
    await evictDurableObject(env.ADMIN_WRITER!.get(env.ADMIN_WRITER!.idFromName(WRITER_NAME)));
    await staleKv(defaultRecord(iss));
    await expectEdgeError(await put(defaultRecord(iss, { audiences: ['late'] }), { 'if-match': v1 }), 412, 'ERR_PRECONDITION_FAILED');
    expect((await put(defaultRecord(iss, { audiences: ['v3'] }), { 'if-match': v2 })).status).toBe(200);
  });

  it('does not bring back a deleted record that a stale KV read still shows', async () => {
    const etag = (await put(defaultRecord(iss))).headers.get('etag')!;
    expect((await edgeFetch(`/admin/v1/issuers/${name}`, { method: 'DELETE', headers: ADMIN() })).status).toBe(204);
    await staleKv(defaultRecord(iss));
    await expectEdgeError(await put(defaultRecord(iss, { audiences: ['back'] }), { 'if-match': etag }), 412, 'ERR_PRECONDITION_FAILED');
    expect((await put(defaultRecord(iss), { 'if-none-match': '*' })).status).toBe(201);
  });

  it('takes over a record written before the writer existed, at the version KV holds', async () => {
    await staleKv(defaultRecord(iss)); // as the edge before the writer left it
    const etag = (await get()).headers.get('etag')!;
    expect((await put(defaultRecord(iss, { audiences: ['next'] }), { 'if-match': etag })).status).toBe(200);
    await expectEdgeError(await put(defaultRecord(iss, { audiences: ['again'] }), { 'if-match': etag }), 412, 'ERR_PRECONDITION_FAILED');
  });

  it('refuses a second record for an issuer that a stale KV read shows free (409)', async () => {
    expect((await put(defaultRecord(iss))).status).toBe(201);
    await env.TRUST.delete(`trust/v1/issuer/${encodeURIComponent(iss.issuer)}`); // KV here has not seen it yet
    name = `${name}-b`;
    await expectEdgeError(await put(defaultRecord(iss)), 409, 'ERR_ISSUER_CONFLICT');
  });
});

describe('revocations through the writer', () => {
  it('loses none of several revocations made at the same moment', async () => {
    expect((await put(defaultRecord(iss))).status).toBe(201);
    const uids = [1, 2, 3, 4, 5].map((i) => `${i}${i}${i}${i}${i}${i}${i}${i}-2222-3333-4444-555555555555`);
    const posted = await Promise.all(
      uids.map((uid) =>
        edgeFetch(`/admin/v1/issuers/${name}/revocations`, {
          method: 'POST',
          headers: { ...ADMIN(), ...JSON_BODY },
          body: JSON.stringify({ kind: 'serviceAccountUid', uid }),
        }),
      ),
    );
    expect(posted.map((r) => r.status)).toEqual([201, 201, 201, 201, 201]);
    const { items } = (await (await edgeFetch(`/admin/v1/issuers/${name}/revocations`, { headers: ADMIN() })).json()) as { items: { uid: string }[] };
    expect(items.map((r) => r.uid).sort()).toEqual(uids);
  });
});

describe('without the writer', () => {
  it('answers a change 503 ERR_NOT_CONFIGURED (the binding is missing), and reads still work', async () => {
    const { ADMIN_WRITER: _, ...bare } = env;
    await expectEdgeError(await send({ method: 'PUT', body: JSON.stringify(defaultRecord(iss)) }, bare), 503, 'ERR_NOT_CONFIGURED');
    await expectEdgeError(await send({}, bare), 404, 'ERR_NOT_FOUND');
  });
});
