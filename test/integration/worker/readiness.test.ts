/**
 * GET /readyz, for an uptime monitor: the settings parse, KV answers (one read of a fixed key),
 * the signing keys load. It says ok or not and nothing else; why goes to the error log, which
 * AUDIT_LOG=off (as in this test pool) does not silence. GET /healthz stays a parse
 * of the settings, no I/O.
 */
import { env } from 'cloudflare:workers';
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { app } from '../../../src/app';

async function get(path: string, overrides: Record<string, unknown> = {}) {
  const ctx = createExecutionContext();
  const res = await app.fetch(new Request(`https://edge.test${path}`), { ...env, ...overrides }, ctx);
  await waitOnExecutionContext(ctx);
  return { res, text: await res.text() };
}

/** A KV namespace that records the keys read, or fails every read. */
function kv(opts: { down?: boolean } = {}) {
  const reads: string[] = [];
  const namespace = {
    get: async (key: string) => {
      reads.push(key);
      if (opts.down) throw new Error('KV down: internal detail');
      return null;
    },
  } as unknown as KVNamespace;
  return { reads, namespace };
}

afterEach(() => vi.restoreAllMocks());

describe('GET /readyz', () => {
  it('is ok (200, no-store) when KV answers and the keys load, after one read of its fixed key', async () => {
    const store = kv();
    const { res, text } = await get('/readyz', { TRUST: store.namespace });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(JSON.parse(text)).toEqual({ ok: true });
    expect(store.reads).toEqual(['ready/v1']);
  });

  it('is ok against the real local KV, where the key does not exist', async () => {
    const { res } = await get('/readyz');
    expect(res.status).toBe(200);
  });

  it.each([
    ['KV fails', { TRUST: kv({ down: true }).namespace }, 'ERR_STORE_UNAVAILABLE'],
    ['the key ring is missing', { EDGE_SIGNING_KEYS: undefined }, 'ERR_NOT_CONFIGURED'],
    ['the key ring does not parse', { EDGE_SIGNING_KEYS: '{"active":"secret-value' }, 'ERR_NOT_CONFIGURED'],
  ])('is 503 {"ok":false} and nothing else when %s; the reason goes to the error log, whatever AUDIT_LOG says', async (_, overrides, code) => {
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
    const { res, text } = await get('/readyz', { TRUST: kv().namespace, ...overrides });
    expect(res.status).toBe(503);
    expect(JSON.parse(text)).toEqual({ ok: false });
    expect(env.AUDIT_LOG).toBe('off');
    const lines = errors.mock.calls.map((c) => JSON.parse(String(c[0])));
    expect(lines).toContainEqual(expect.objectContaining({ severity_text: 'ERROR', event: 'error', path: '/readyz', code }));
    expect(JSON.stringify(lines)).not.toContain('secret-value');
  });

  it('is the generic 503 ERR_NOT_CONFIGURED for an invalid setting, naming none', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => {});
    const { res, text } = await get('/readyz', { JWKS_COOLDOWN_SECONDS: 'soon' });
    expect(res.status).toBe(503);
    expect(JSON.parse(text)).toEqual({ error: 'ERR_NOT_CONFIGURED', message: 'the edge is not configured' });
  });
});

describe('GET /healthz', () => {
  it('stays cheap: no KV read, no key load', async () => {
    const store = kv({ down: true });
    const { res } = await get('/healthz', { TRUST: store.namespace, EDGE_SIGNING_KEYS: undefined });
    expect(res.status).toBe(200);
    expect(store.reads).toEqual([]);
  });
});
