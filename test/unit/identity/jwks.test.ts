// identity/jwks.ts inside workerd with real local KV and a scripted issuer (a fake `fetch`):
// bounded documents, discovery ageing, the KV write-back without persist(), and dropping
// cached keys when a record changes. The shared fetch under a cold burst needs many requests
// in their own contexts: test/integration/edge/jwks.test.ts.
import { env } from 'cloudflare:workers';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { EdgeError } from '../../../src/errors';
import { DISCOVERY_MAX_AGE_MS, forgetIssuerKeys, issuerKeys, type KeyDeps } from '../../../src/identity/jwks';
import { TrustRecordSchema, type TrustRecord } from '../../../src/policy/schema';
import { issuerKeyStore } from '../../../src/store/issuer-keys';
import { keys } from '../../../src/store/kv';

const CHUNK = 64 * 1024;
const LIMIT = 256 * 1024;
/** Where the "endless" body does end after all, so that a reader without a limit finishes. */
const ENOUGH = 64 * 1024 * 1024;
const HEADER = { alg: 'RS256', kid: 'k1' };
const TOKEN = { payload: '', signature: '' };

let jwk: JWK;
beforeAll(async () => {
  const { publicKey } = await generateKeyPair('RS256', { extractable: true });
  jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
});

let n = 0;
const uniqueIssuer = () => `https://cluster-${++n}-${crypto.randomUUID().slice(0, 8)}.k8s.test`;

function record(issuer: string, source: { type: 'jwks_uri'; uri: string } | { type: 'discovery' }): TrustRecord {
  return TrustRecordSchema.parse({ name: 'unit', issuer, audiences: ['a'], keys: source, rules: [] });
}

/** A scripted issuer: `answer` decides each response; every call is counted. */
function scripted(answer: (url: string) => Response | Promise<Response>) {
  const calls: string[] = [];
  const background: Promise<unknown>[] = [];
  const deps: KeyDeps = {
    store: issuerKeyStore(env.TRUST),
    fetch: (async (input: RequestInfo | URL) => {
      const url = String(input instanceof Request ? input.url : input);
      calls.push(url);
      return answer(url);
    }) as typeof fetch,
    waitUntil: (p) => void background.push(p),
  };
  return { deps, calls, settle: () => Promise.all(background) };
}

const json = (body: unknown) => new Response(JSON.stringify(body), { headers: { 'content-type': 'application/json' } });

/** A body far past the limit (ENOUGH), counting what was pulled from it and whether it was cancelled. */
function endless(headers: Record<string, string> = {}) {
  const seen = { pulled: 0, cancelled: false };
  const body = new ReadableStream<Uint8Array>(
    {
      pull(c) {
        if (seen.pulled >= ENOUGH) return c.close();
        seen.pulled += CHUNK;
        c.enqueue(new Uint8Array(CHUNK).fill(0x20));
      },
      cancel() {
        seen.cancelled = true;
      },
    },
    { highWaterMark: 0 },
  );
  return { seen, response: new Response(body, { headers: { 'content-type': 'application/json', ...headers } }) };
}

async function lookup(r: TrustRecord, deps: KeyDeps) {
  const k = await issuerKeys(r, deps);
  return k.getKey(HEADER, TOKEN);
}

async function failure(p: Promise<unknown>) {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(EdgeError);
  return { code: (err as EdgeError).code, status: (err as EdgeError).status };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('key documents are bounded', () => {
  it('stops reading a body without end at the limit and cancels it', async () => {
    const stream = endless();
    const { deps } = scripted(() => stream.response);
    expect(await failure(lookup(record(uniqueIssuer(), { type: 'jwks_uri', uri: `${uniqueIssuer()}/jwks` }), deps))).toEqual({
      code: 'ERR_JWKS_UNAVAILABLE',
      status: 503,
    });
    expect(stream.seen.cancelled).toBe(true);
    expect(stream.seen.pulled).toBeLessThanOrEqual(LIMIT + CHUNK);
  });

  it('refuses a declared Content-Length over the limit without reading the body', async () => {
    const stream = endless({ 'content-length': String(2 ** 40) });
    const { deps } = scripted(() => stream.response);
    const issuer = uniqueIssuer();
    expect(await failure(lookup(record(issuer, { type: 'discovery' }), deps))).toEqual({ code: 'ERR_JWKS_UNAVAILABLE', status: 503 });
    expect(stream.seen.cancelled).toBe(true);
    expect(stream.seen.pulled).toBe(0);
  });
});

describe('discovery', () => {
  it(`runs again once its result is older than ${DISCOVERY_MAX_AGE_MS / 60_000} minutes`, async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const issuer = uniqueIssuer();
    let jwksUri = `${issuer}/keys/1`;
    const { deps, calls, settle } = scripted((url) => (url.endsWith('/openid-configuration') ? json({ issuer, jwks_uri: jwksUri }) : json({ keys: [jwk] })));
    const r = record(issuer, { type: 'discovery' });
    await lookup(r, deps);
    jwksUri = `${issuer}/keys/2`;
    vi.setSystemTime(Date.now() + DISCOVERY_MAX_AGE_MS - 1000);
    await lookup(r, deps);
    expect(calls.filter((u) => u.endsWith('/openid-configuration'))).toHaveLength(1);
    vi.setSystemTime(Date.now() + 2000);
    await lookup(r, deps);
    await settle();
    expect(calls.filter((u) => u.endsWith('/openid-configuration'))).toHaveLength(2);
    expect(calls.at(-1)).toBe(`${issuer}/keys/2`);
  });
});

describe('the KV copy', () => {
  it('writes freshly fetched keys back to KV without a call to persist()', async () => {
    const uri = `${uniqueIssuer()}/jwks`;
    const { deps, settle } = scripted(() => json({ keys: [jwk] }));
    await lookup(record(uniqueIssuer(), { type: 'jwks_uri', uri }), deps);
    await settle();
    const stored = (await env.TRUST.get(keys.jwks(uri), 'json')) as { uat: number; jwks: { keys: JWK[] } } | null;
    expect(stored?.jwks.keys.map((k) => k.kid)).toEqual(['k1']);
  });

  it('is deleted, with the isolate copies, when a record is replaced or deleted', async () => {
    const issuer = uniqueIssuer();
    const { deps, calls, settle } = scripted((url) =>
      url.endsWith('/openid-configuration') ? json({ issuer, jwks_uri: `${issuer}/keys` }) : json({ keys: [jwk] }),
    );
    const r = record(issuer, { type: 'discovery' });
    await lookup(r, deps);
    await settle();
    expect(await env.TRUST.get(keys.discovery(issuer))).not.toBeNull();
    expect(await env.TRUST.get(keys.jwks(`${issuer}/keys`))).not.toBeNull();
    await forgetIssuerKeys(issuerKeyStore(env.TRUST), [r]);
    expect(await env.TRUST.get(keys.discovery(issuer))).toBeNull();
    expect(await env.TRUST.get(keys.jwks(`${issuer}/keys`))).toBeNull();
    await lookup(r, deps);
    await settle();
    expect(calls).toEqual([`${issuer}/.well-known/openid-configuration`, `${issuer}/keys`, `${issuer}/.well-known/openid-configuration`, `${issuer}/keys`]);
  });
});
