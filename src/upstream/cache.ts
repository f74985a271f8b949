/**
 * Vendor credentials, cached and fetched once: per (upstream, workload identity), in the
 * isolate and in the Cache API of the location, until their expiry minus a margin.
 *
 * - Cache API entries are encrypted with AES-GCM under a key derived (HKDF-SHA-256) from the
 *   EDGE_SIGNING_KEYS secret, the cache key bound in as additional data: a credential at
 *   rest is useless without the Worker's secret, and cannot be moved to another entry.
 * - Single flight without sharing promises between requests. workerd forbids one request
 *   from awaiting I/O another started ("Cannot perform I/O on behalf of a different
 *   request"), so concurrent identical requests do not await the first one's promise: the
 *   first marks the key in flight, the others poll (a timer of their own) until it has
 *   stored a settled value, a credential or a refusal, and take that. This holds per
 *   isolate: several cold isolates of one location may each call once, after which the
 *   Cache API serves the location.
 * - The key covers every claim a vendor could put a condition on (sub, aud, record,
 *   cluster, namespace, service account name and uid) plus the upstream's settings, so a
 *   credential is never handed to a workload the vendor might have refused. With a fan-in
 *   subject ("rule", "record") the token holds none of the workload's claims, so the
 *   workloads the vendor cannot tell apart share one (federate.ts builds the key).
 */
import { fromBase64, hex } from '../bytes';
import { EdgeError, UpstreamUnavailable } from '../errors';
import { derivedKey } from '../derive';

export interface VendorCredential {
  username: string;
  password: string;
  /** Seconds since the epoch. */
  expiresAt: number;
}

/** A cached credential is used until this long before it expires: 10% of its life, 60 s to 5 min. */
export function expiryMargin(lifetime: number): number {
  return Math.min(300, Math.max(60, Math.floor(lifetime / 10)));
}

/** How often a waiting request looks for the first request's result, ms. */
const POLL_MS = 10;
/** A waiter gives up after this long and answers 503 (the plugin retries), ms. */
export const WAIT_LIMIT_MS = 9_000;
/** A refusal is shared with the requests that waited for it, and with those arriving this soon after, ms. */
const REFUSAL_SHARE_MS = 1_000;
/** Bound on the isolate's entries: identities come from verified tokens, but a cluster can have many. */
const MAX_ENTRIES = 4096;

interface Settled {
  /** Settled at, ms. */
  at: number;
  value?: VendorCredential;
  error?: EdgeError;
}

const fresh = new Map<string, { value: VendorCredential; usableUntil: number }>();
/**
 * Vendor calls under way, by key. `since`: when the call started, ms. A call still unsettled
 * after WAIT_LIMIT_MS is taken as abandoned (its request was cancelled before its `finally`
 * ran; a live call ends within the vendor timeout), and the next request makes its own.
 */
const inflight = new Map<string, { since: number; settled?: Settled }>();

/** Whether a request should wait for `running` rather than call the vendor itself. */
function worthWaiting(running: { since: number; settled?: Settled }, now: number): boolean {
  return running.settled ? now - running.settled.at < REFUSAL_SHARE_MS : now - running.since < WAIT_LIMIT_MS;
}

export interface CacheDeps {
  /** ms since the epoch. */
  clock: () => number;
  /** The location's cache (caches.default), if any. */
  cache?: Cache;
  /** Secret material the encryption key is derived from. */
  secret: string;
  waitUntil: (p: Promise<unknown>) => void;
}

/** The cache key: a SHA-256 of everything that decides the credential, hex. */
export async function cacheKey(parts: unknown): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(JSON.stringify(parts)));
  return hex(digest);
}

const usable = (v: VendorCredential, nowMs: number) => {
  const life = v.expiresAt - nowMs / 1000;
  return life > expiryMargin(life);
};

/** The credential for `key`: from the isolate, a request already fetching it, the Cache API, or `fetcher`. */
export async function singleFlight(key: string, fetcher: () => Promise<VendorCredential>, deps: CacheDeps): Promise<VendorCredential> {
  const hit = fresh.get(key);
  if (hit && hit.usableUntil > deps.clock()) return hit.value;

  const running = inflight.get(key);
  if (running && worthWaiting(running, deps.clock())) {
    const shared = await wait(key, deps);
    if (shared) return shared;
    // The first request settled without a usable credential (one that expires within the margin): fetch it ourselves.
  }

  if (inflight.size >= MAX_ENTRIES) for (const [k, e] of inflight) if (e.settled) inflight.delete(k);
  inflight.set(key, { since: deps.clock() });
  const entry = inflight.get(key)!;
  try {
    const value = (await readCache(key, deps)) ?? (await fetchAndStore(key, fetcher, deps));
    remember(key, value, deps);
    entry.settled = { at: deps.clock(), value };
    return value;
  } catch (err) {
    // The first request answers as its waiters do: an unexpected failure is a 503, never a 500.
    const error = err instanceof EdgeError ? err : new UpstreamUnavailable({ detail: 'upstream call failed' });
    entry.settled = { at: deps.clock(), error };
    throw error;
  } finally {
    // Success: later requests find the value in `fresh`. Refusal: kept REFUSAL_SHARE_MS for waiters.
    if (entry.settled?.value) inflight.delete(key);
  }
}

/** The first request's credential or refusal; undefined if it settled without a usable credential. */
async function wait(key: string, deps: CacheDeps): Promise<VendorCredential | undefined> {
  const deadline = deps.clock() + WAIT_LIMIT_MS;
  while (deps.clock() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    const hit = fresh.get(key);
    if (hit && hit.usableUntil > deps.clock()) return hit.value;
    const settled = inflight.get(key)?.settled;
    if (settled?.error) throw settled.error;
    if (!inflight.has(key)) return undefined;
  }
  throw new UpstreamUnavailable({ detail: 'waited too long for a concurrent vendor call', retryAfter: 1 });
}

function remember(key: string, value: VendorCredential, deps: CacheDeps): void {
  const life = value.expiresAt - deps.clock() / 1000;
  if (fresh.size >= MAX_ENTRIES) fresh.clear();
  fresh.set(key, { value, usableUntil: (value.expiresAt - expiryMargin(life)) * 1000 });
}

async function fetchAndStore(key: string, fetcher: () => Promise<VendorCredential>, deps: CacheDeps): Promise<VendorCredential> {
  const value = await fetcher();
  const life = value.expiresAt - deps.clock() / 1000;
  const ttl = Math.floor(life - expiryMargin(life));
  if (deps.cache && ttl > 0) deps.waitUntil(writeCache(key, value, ttl, deps).catch(() => undefined));
  return value;
}

// ---- Cache API, encrypted ---------------------------------------------------------------

const CACHE_ORIGIN = 'https://upstream-cache.edge-credential-provider.invalid';
/** AES-GCM, derived from the Worker secret (derive.ts). */
const encryptionKey = (secret: string) => derivedKey(secret, 'upstream cache v1', { name: 'AES-GCM', length: 256 }, ['encrypt', 'decrypt']);

const b64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));

async function writeCache(key: string, value: VendorCredential, ttl: number, deps: CacheDeps): Promise<void> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const plain = new TextEncoder().encode(JSON.stringify(value));
  const sealed = new Uint8Array(
    await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: new TextEncoder().encode(key) }, await encryptionKey(deps.secret), plain),
  );
  await deps.cache!.put(`${CACHE_ORIGIN}/${key}`, new Response(`${b64(iv)}.${b64(sealed)}`, { headers: { 'Cache-Control': `max-age=${ttl}` } }));
}

/** A usable credential from the Cache API, or undefined (missing, expired, or not decryptable: then it is refetched). */
async function readCache(key: string, deps: CacheDeps): Promise<VendorCredential | undefined> {
  if (!deps.cache) return undefined;
  try {
    const res = await deps.cache.match(`${CACHE_ORIGIN}/${key}`);
    if (!res) return undefined;
    const [iv, sealed] = (await res.text()).split('.');
    const plain = await crypto.subtle.decrypt(
      { name: 'AES-GCM', iv: fromBase64(iv!), additionalData: new TextEncoder().encode(key) },
      await encryptionKey(deps.secret),
      fromBase64(sealed!),
    );
    const value = JSON.parse(new TextDecoder().decode(plain)) as VendorCredential;
    if (typeof value.password !== 'string' || typeof value.username !== 'string' || typeof value.expiresAt !== 'number') return undefined;
    return usable(value, deps.clock()) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** For tests: forget this isolate's credentials. */
export function forgetUpstreamCredentials(): void {
  fresh.clear();
  inflight.clear();
}
