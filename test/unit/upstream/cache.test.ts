/**
 * The vendor-credential cache in workerd: single flight without shared promises, expiry
 * margins, and the encrypted Cache API copy (a real caches.default).
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { UpstreamDenied } from '../../../src/errors';
import { cacheKey, expiryMargin, forgetUpstreamCredentials, singleFlight, WAIT_LIMIT_MS, type VendorCredential } from '../../../src/upstream/cache';

const SECRET = 'test-secret-material';
let keyN = 0;
const freshKey = () => cacheKey({ test: ++keyN, at: Date.now() });

function deps(secret = SECRET, waits: Promise<unknown>[] = []) {
  return { clock: Date.now, cache: caches.default, secret, waitUntil: (p: Promise<unknown>) => void waits.push(p) };
}

function counting(value: Partial<VendorCredential> = {}, delayMs = 50) {
  const calls = { n: 0 };
  const fetcher = async (): Promise<VendorCredential> => {
    calls.n++;
    await new Promise((r) => setTimeout(r, delayMs));
    return { username: 'u', password: `p-${calls.n}`, expiresAt: Math.floor(Date.now() / 1000) + 3600, ...value };
  };
  return { calls, fetcher };
}

beforeEach(() => forgetUpstreamCredentials());

describe('expiryMargin', () => {
  it.each([
    [600, 60],
    [3600, 300],
    [43200, 300],
    [100, 60],
  ])('a credential living %i s is dropped %i s early', (life, margin) => {
    expect(expiryMargin(life)).toBe(margin);
  });
});

describe('singleFlight', () => {
  it('calls the vendor once for a burst of identical requests, and all get the credential', async () => {
    const key = await freshKey();
    const { calls, fetcher } = counting();
    const results = await Promise.all(Array.from({ length: 50 }, () => singleFlight(key, fetcher, deps())));
    expect(calls.n).toBe(1);
    expect(new Set(results.map((r) => r.password))).toEqual(new Set(['p-1']));
  });

  it('calls the vendor again when the first call was abandoned (never settled) for longer than a waiter waits', async () => {
    const key = await freshKey();
    // The first request's context is gone: its vendor call never settles, so its `finally` never runs.
    void singleFlight(key, () => new Promise<VendorCredential>(() => {}), { ...deps(), cache: undefined });
    const { calls, fetcher } = counting();
    let skew = WAIT_LIMIT_MS + 1;
    const later = { ...deps(), cache: undefined, clock: () => Date.now() + skew };
    expect((await singleFlight(key, fetcher, later)).password).toBe('p-1');
    expect(calls.n).toBe(1);
    // Within the limit, a request still waits for a call in flight instead of making its own.
    const other = await freshKey();
    void singleFlight(other, () => new Promise<VendorCredential>(() => {}), { ...deps(), cache: undefined });
    skew = 0;
    const waiting = singleFlight(other, fetcher, { ...later, clock: () => Date.now() + skew });
    await new Promise((r) => setTimeout(r, 50));
    expect(calls.n).toBe(1);
    skew = WAIT_LIMIT_MS + 1; // the waiter's own deadline passes: 503, and it never called the vendor
    await expect(waiting).rejects.toMatchObject({ code: 'ERR_UPSTREAM_UNAVAILABLE' });
    expect(calls.n).toBe(1);
  });

  it('serves later requests from the isolate without calling again', async () => {
    const key = await freshKey();
    const { calls, fetcher } = counting();
    await singleFlight(key, fetcher, deps());
    await singleFlight(key, fetcher, deps());
    expect(calls.n).toBe(1);
  });

  it('shares a refusal with the requests that waited for it', async () => {
    const key = await freshKey();
    let n = 0;
    const refuse = async (): Promise<VendorCredential> => {
      n++;
      await new Promise((r) => setTimeout(r, 30));
      throw new UpstreamDenied({ detail: 'test' });
    };
    const outcomes = await Promise.allSettled(Array.from({ length: 10 }, () => singleFlight(key, refuse, deps())));
    expect(n).toBe(1);
    expect(outcomes.every((o) => o.status === 'rejected' && (o.reason as UpstreamDenied).code === 'ERR_UPSTREAM_DENIED')).toBe(true);
  });

  it('still answers every waiter when the credential is too short-lived to share (they fetch their own)', async () => {
    const key = await freshKey();
    const { calls, fetcher } = counting({ expiresAt: Math.floor(Date.now() / 1000) + 30 });
    const outcomes = await Promise.allSettled(Array.from({ length: 10 }, () => singleFlight(key, fetcher, deps())));
    expect(outcomes.every((o) => o.status === 'fulfilled')).toBe(true);
    expect(calls.n).toBeGreaterThanOrEqual(1);
  });

  it('refetches a credential too close to its expiry', async () => {
    const key = await freshKey();
    const { calls, fetcher } = counting({ expiresAt: Math.floor(Date.now() / 1000) + 30 });
    await singleFlight(key, fetcher, deps());
    await singleFlight(key, fetcher, deps());
    expect(calls.n).toBe(2);
  });

  it('keeps an encrypted copy in the Cache API that a fresh isolate can use, and only with the same secret', async () => {
    const key = await freshKey();
    const waits: Promise<unknown>[] = [];
    const first = counting();
    await singleFlight(key, first.fetcher, deps(SECRET, waits));
    await Promise.all(waits);

    const stored = await caches.default.match(`https://upstream-cache.edge-credential-provider.invalid/${key}`);
    const body = await stored!.text();
    expect(body).not.toContain('p-1'); // encrypted at rest

    forgetUpstreamCredentials(); // as a new isolate would start
    const second = counting();
    expect((await singleFlight(key, second.fetcher, deps())).password).toBe('p-1');
    expect(second.calls.n).toBe(0);

    forgetUpstreamCredentials();
    const third = counting({ password: 'refetched' });
    expect((await singleFlight(key, third.fetcher, deps('another secret'))).password).toBe('refetched');
    expect(third.calls.n).toBe(1); // not decryptable: refetched
  });
});
