/**
 * The admin API's records as a team uses them from CI: ETags and If-Match (a stale write is
 * 412, never a silent overwrite), history with who changed what, and read-only access.
 */
import { env } from 'cloudflare:workers';
import { runInDurableObject } from 'cloudflare:test';
import { beforeEach, describe, expect, it } from 'vitest';
import { WRITER_NAME } from '../../../src/routes/admin-writer';
import { expectEdgeError } from '../../support/expect-edge';
import { ADMIN, defaultRecord, edgeFetch, makeIssuer, type TestIssuer } from '../../support/worker/issuer';

const READ = () => ({ authorization: `Bearer ${env.ADMIN_READ_TOKEN}` });
const JSON_BODY = { 'content-type': 'application/json' };

let iss: TestIssuer;
let name: string;
let n = 0;
beforeEach(async () => {
  iss = await makeIssuer();
  name = `rec-${++n}`;
});

const put = (record: unknown, headers: Record<string, string> = {}, auth = ADMIN()) =>
  edgeFetch(`/admin/v1/issuers/${name}`, { method: 'PUT', headers: { ...auth, ...JSON_BODY, ...headers }, body: JSON.stringify(record) });
const get = (auth = ADMIN()) => edgeFetch(`/admin/v1/issuers/${name}`, { headers: auth });
const del = (headers: Record<string, string> = {}, auth = ADMIN()) =>
  edgeFetch(`/admin/v1/issuers/${name}`, { method: 'DELETE', headers: { ...auth, ...headers } });

describe('ETags and conditional writes', () => {
  it('answers a record with a strong ETag that changes with the content and only with it', async () => {
    const created = await put(defaultRecord(iss));
    expect(created.status).toBe(201);
    const etag = created.headers.get('etag');
    expect(etag).toMatch(/^"[0-9a-f]{32}"$/);
    expect((await get()).headers.get('etag')).toBe(etag);
    expect((await put(defaultRecord(iss))).headers.get('etag')).toBe(etag); // same content
    expect((await put(defaultRecord(iss, { audiences: ['other'] }))).headers.get('etag')).not.toBe(etag);
  });

  it('refuses a write whose If-Match no longer holds: the second of two concurrent writers gets 412', async () => {
    const etag = (await put(defaultRecord(iss))).headers.get('etag')!;
    const first = await put(defaultRecord(iss, { audiences: ['first'] }), { 'if-match': etag });
    expect(first.status).toBe(200);
    await expectEdgeError(await put(defaultRecord(iss, { audiences: ['second'] }), { 'if-match': etag }), 412, 'ERR_PRECONDITION_FAILED');
    expect(((await (await get()).json()) as { audiences: string[] }).audiences).toEqual(['first']);
  });

  it('creates only what does not exist with If-None-Match: *', async () => {
    expect((await put(defaultRecord(iss), { 'if-none-match': '*' })).status).toBe(201);
    await expectEdgeError(await put(defaultRecord(iss), { 'if-none-match': '*' }), 412, 'ERR_PRECONDITION_FAILED');
  });

  it('refuses If-Match on a record that does not exist', async () => {
    await expectEdgeError(await put(defaultRecord(iss), { 'if-match': '"0123456789abcdef0123456789abcdef"' }), 412, 'ERR_PRECONDITION_FAILED');
  });

  it('deletes only the version it names', async () => {
    const etag = (await put(defaultRecord(iss))).headers.get('etag')!;
    await put(defaultRecord(iss, { audiences: ['changed'] }));
    await expectEdgeError(await del({ 'if-match': etag }), 412, 'ERR_PRECONDITION_FAILED');
    const current = (await get()).headers.get('etag')!;
    expect((await del({ 'if-match': current })).status).toBe(204);
  });

  it('still accepts unconditional writes (no header), as before', async () => {
    await put(defaultRecord(iss));
    expect((await put(defaultRecord(iss, { audiences: ['x'] }))).status).toBe(200);
  });
});

describe('history', () => {
  it('keeps every version with who made it, and survives a delete', async () => {
    await put(defaultRecord(iss));
    await put(defaultRecord(iss, { audiences: ['v2'] }));
    await del();
    const res = await edgeFetch(`/admin/v1/issuers/${name}/history`, { headers: READ() });
    expect(res.status).toBe(200);
    const { items } = (await res.json()) as { items: { version: number; action: string; by: string; record?: { audiences: string[] } }[] };
    expect(items.map((i) => [i.version, i.action, i.by])).toEqual([
      [3, 'delete', 'token:admin'],
      [2, 'replace', 'token:admin'],
      [1, 'create', 'token:admin'],
    ]);
    expect(items[1]!.record!.audiences).toEqual(['v2']);
    expect(items[0]!.record).toBeUndefined();
  });

  it('keeps the last 20 versions', async () => {
    for (let i = 0; i < 22; i++) await put(defaultRecord(iss, { audiences: [`v${i}`] }));
    const { items } = (await (await edgeFetch(`/admin/v1/issuers/${name}/history`, { headers: ADMIN() })).json()) as { items: { version: number }[] };
    expect(items).toHaveLength(20);
    expect(items[0]!.version).toBe(22);
    expect(items[19]!.version).toBe(3);
  });

  it('answers 404 for a record that never existed', async () => {
    await expectEdgeError(await edgeFetch(`/admin/v1/issuers/${name}/history`, { headers: ADMIN() }), 404, 'ERR_NOT_FOUND');
  });
});

describe('read-only access (ADMIN_READ_TOKEN)', () => {
  it('reads records, history, revocations and explain', async () => {
    await put(defaultRecord(iss));
    expect((await get(READ())).status).toBe(200);
    expect((await edgeFetch('/admin/v1/issuers', { headers: READ() })).status).toBe(200);
    expect((await edgeFetch(`/admin/v1/issuers/${name}/revocations`, { headers: READ() })).status).toBe(200);
    const explain = await edgeFetch('/admin/v1/explain', {
      method: 'POST',
      headers: { ...READ(), ...JSON_BODY },
      body: JSON.stringify({ token: 'x.y.z', image: 'registry.test:5000/a/b' }),
    });
    expect(explain.status).toBe(200);
  });

  it.each([
    ['replace a record', () => put(defaultRecord(iss, { audiences: ['nope'] }), {}, READ())],
    ['delete a record', () => del({}, READ())],
    [
      'revoke',
      () =>
        edgeFetch(`/admin/v1/issuers/${name}/revocations`, {
          method: 'POST',
          headers: { ...READ(), ...JSON_BODY },
          body: JSON.stringify({ kind: 'issuedBefore' }),
        }),
    ],
  ])('may not %s: 403 ERR_FORBIDDEN', async (_t, write) => {
    await put(defaultRecord(iss));
    await expectEdgeError(await write(), 403, 'ERR_FORBIDDEN');
    expect(((await (await get()).json()) as { audiences: string[] }).audiences).toEqual(['edge-credential-provider']);
  });

  it('is not the write token, nor any other string', async () => {
    await expectEdgeError(await edgeFetch('/admin/v1/issuers', { headers: { authorization: `Bearer ${env.ADMIN_READ_TOKEN}x` } }), 401, 'ERR_UNAUTHORIZED');
    await expectEdgeError(await edgeFetch('/admin/v1/issuers', { headers: { 'cf-access-jwt-assertion': 'a.b.c' } }), 401, 'ERR_UNAUTHORIZED');
  });
});

describe('a KV failure in the middle of a change', () => {
  /** The real KV, except that `op` on keys starting with `prefix` throws. */
  function failing(op: 'put' | 'delete', prefix: string): KVNamespace {
    const real = env.TRUST;
    return new Proxy(real, {
      get(target, prop) {
        const value = Reflect.get(target, prop, target) as unknown;
        if (typeof value !== 'function') return value;
        if (prop !== op) return value.bind(target);
        return (key: string, ...rest: unknown[]) => {
          if (key.startsWith(prefix)) return Promise.reject(new Error('KV down'));
          return (value as (...a: unknown[]) => unknown).call(target, key, ...rest);
        };
      },
    });
  }

  /** The change, with the admin writer (which makes it) writing to `kv`. */
  async function send(method: 'PUT' | 'DELETE', record: unknown, headers: Record<string, string>, kv: KVNamespace) {
    const writer = env.ADMIN_WRITER!.get(env.ADMIN_WRITER!.idFromName(WRITER_NAME));
    await runInDurableObject(writer, (w) => {
      w.kv = kv;
    });
    try {
      return method === 'PUT' ? await put(record, headers) : await del(headers);
    } finally {
      await runInDurableObject(writer, (w) => {
        w.kv = env.TRUST;
      });
    }
  }

  const remote = () => defaultRecord(iss, { keys: { type: 'jwks_uri', uri: `${iss.issuer}/openid/v1/jwks` } });
  const history = async () =>
    ((await (await edgeFetch(`/admin/v1/issuers/${name}/history`, { headers: ADMIN() })).json()) as { items: { version: number; action: string }[] }).items;

  it('changes nothing when the cached keys cannot be dropped (PUT): 503, and a retry with the same If-Match holds', async () => {
    const etag = (await put(remote())).headers.get('etag')!;
    await expectEdgeError(
      await send('PUT', { ...remote(), audiences: ['changed'] }, { 'if-match': etag }, failing('delete', 'jwks/')),
      503,
      'ERR_STORE_UNAVAILABLE',
    );
    expect(((await (await get()).json()) as { audiences: string[] }).audiences).toEqual(defaultRecord(iss).audiences);
    expect((await put({ ...remote(), audiences: ['changed'] }, { 'if-match': etag })).status).toBe(200);
    expect((await history()).map((i) => i.action)).toEqual(['replace', 'create']);
  });

  it('changes nothing when the cached keys cannot be dropped (DELETE)', async () => {
    const etag = (await put(remote())).headers.get('etag')!;
    await expectEdgeError(await send('DELETE', undefined, { 'if-match': etag }, failing('delete', 'jwks/')), 503, 'ERR_STORE_UNAVAILABLE');
    expect((await get()).status).toBe(200);
    expect((await del({ 'if-match': etag })).status).toBe(204);
  });

  it('answers the change that took effect when only its history entry could not be written', async () => {
    const created = await send('PUT', remote(), {}, failing('put', 'history/'));
    expect(created.status).toBe(201);
    const etag = created.headers.get('etag')!;
    expect((await get()).headers.get('etag')).toBe(etag); // in effect, and the ETag answered is the stored one
    expect((await put({ ...remote(), audiences: ['next'] }, { 'if-match': etag })).status).toBe(200);
    expect((await history()).map((i) => [i.version, i.action])).toEqual([[1, 'replace']]); // the create was not recorded
    expect((await send('DELETE', undefined, {}, failing('put', 'history/'))).status).toBe(204);
    expect((await get()).status).toBe(404);
  });

  it("refuses a PUT for an issuer another record holds (409) before it drops that issuer's cached keys", async () => {
    expect((await put(remote())).status).toBe(201);
    const cached = `jwks/v1/${encodeURIComponent(`${iss.issuer}/openid/v1/jwks`)}`;
    await env.TRUST.put(cached, JSON.stringify({ uat: Date.now(), jwks: iss.jwks }));
    const other = name;
    name = `${other}-b`;
    await expectEdgeError(await put(remote()), 409, 'ERR_ISSUER_CONFLICT');
    expect(await env.TRUST.get(cached)).not.toBeNull();
    name = other;
  });

  it("keeps appending to a history whose old entries today's schema would refuse", async () => {
    const old = { ...defaultRecord(iss), name, retiredField: true }; // a field a later schema dropped
    await env.TRUST.put(`history/v1/${name}`, JSON.stringify({ items: [{ version: 1, action: 'create', at: 1, by: 'token:admin', etag: 'e', record: old }] }));
    expect((await put(defaultRecord(iss))).status).toBe(201);
    const items = (await (await edgeFetch(`/admin/v1/issuers/${name}/history`, { headers: ADMIN() })).json()) as {
      items: { version: number; record?: { retiredField?: boolean } }[];
    };
    expect(items.items.map((i) => i.version)).toEqual([2, 1]);
    expect(items.items[1]!.record!.retiredField).toBe(true);
  });
});
