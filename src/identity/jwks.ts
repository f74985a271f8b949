/**
 * The issuer's public keys, from the trust record's key source:
 *   inline     the record's own JWKS (clusters whose issuer is not reachable from the internet)
 *   jwks_uri   an explicit JWKS URL
 *   discovery  <issuer>/.well-known/openid-configuration, then its jwks_uri
 *
 * Remote sets are jose RemoteJWKSets, one per URL per isolate, seeded from KV through jose's
 * `jwksCache` seam and written back to KV right after a fresh fetch, so a new isolate does not
 * refetch. An unknown `kid` triggers a refetch at most once per cooldown (jose's). Fetches of
 * one URL are shared (the `customFetch` seam below): jose does not share them on Workers, and a
 * cold burst must not stampede the cluster's issuer. Documents are read with a byte limit.
 * An admin PUT or DELETE of a record drops what is cached for its keys (forgetIssuerKeys).
 * Any failure to get keys is ERR_JWKS_UNAVAILABLE (503): fail closed, never skip a check.
 */
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  customFetch,
  jwksCache,
  type ExportedJWKSCache,
  type FetchImplementation,
  type JSONWebKeySet,
  type JWTVerifyGetKey,
  type RemoteJWKSet,
} from 'jose';
import * as joseErrors from 'jose/errors';
import { readResponseAtMost, utf8 } from '../bytes';
import { JwksUnavailable, UnknownKey } from '../errors';
import { isHttpsOrLoopback } from '../net';
import { isObject } from '../shape';

/** After a successful fetch, an unknown kid refetches only after this long, ms (JWKS_COOLDOWN_SECONDS). */
export const DEFAULT_JWKS_COOLDOWN_MS = 30_000;
/** Keys older than this are refetched before use, ms. Cluster keys rotate rarely. */
export const JWKS_MAX_AGE_MS = 10 * 60_000;
/** A discovered jwks_uri is used for this long, ms, then discovery runs again. Default: as the keys. */
export const DISCOVERY_MAX_AGE_MS = JWKS_MAX_AGE_MS;
/** One JWKS or discovery fetch may take this long, ms (the body included). */
export const JWKS_TIMEOUT_MS = 3_000;
/** KV keeps a JWKS or discovery result this long, seconds: no longer than it may be used. */
const KV_TTL_SECONDS = JWKS_MAX_AGE_MS / 1000;
/** A JWKS or discovery document is a few KiB; refuse anything far larger. */
const MAX_DOCUMENT_BYTES = 256 * 1024;
/** A settled fetch answers later fetches of its URL for this long, ms (see sharedFetch); never beyond the cooldown. */
const SETTLED_REUSE_MS = 5_000;

/**
 * Where fetched keys are kept between isolates: KV, through store/issuer-keys.ts (which owns
 * the layout). Reads parse with their schema; a failed read is a miss, never a failure.
 */
export interface KeyStore {
  readJwks(url: string): Promise<{ uat: number; jwks: { keys: object[] } } | undefined>;
  /** `ttlSeconds`: how long the store keeps it. */
  writeJwks(url: string, value: { uat: number; jwks: { keys: readonly object[] } }, ttlSeconds: number): Promise<void>;
  readDiscovery(issuer: string): Promise<{ jwks_uri: string; uat: number } | undefined>;
  writeDiscovery(issuer: string, value: { jwks_uri: string; uat: number }, ttlSeconds: number): Promise<void>;
  /** Deletes an issuer's discovery result and the JWKS stored for each of `jwksUrls`. */
  remove(issuer: string, jwksUrls: Iterable<string>): Promise<void>;
}

/** What keys come from: a trust record is one. */
export interface KeySourceRecord {
  issuer: string;
  keys: { type: 'inline'; jwks: { keys: object[] } } | { type: 'jwks_uri'; uri: string } | { type: 'discovery' };
}

export interface KeyDeps {
  store: KeyStore;
  /** Cooldown for unknown-kid refetches, ms. */
  cooldownMs?: number;
  fetch: typeof fetch;
  /** Runs work after the response (ctx.waitUntil): the KV write-back after a fresh fetch. */
  waitUntil: (p: Promise<unknown>) => void;
}

export interface IssuerKeys {
  /** Resolves a token's key; after a fresh fetch it schedules the write-back to the store itself. */
  getKey: JWTVerifyGetKey;
}

// ---- isolate state ---------------------------------------------------------------------

/**
 * Bumped whenever forgetIssuerKeys drops entries. Work that started before (a KV read, a
 * fetch) and ends after must not store its result, or it would bring the dropped keys back.
 */
let generation = 0;

// ---- shared, bounded fetch ---------------------------------------------------------------

interface Fetched {
  status: number;
  body: string;
}

/** In-flight fetches per URL. Existing behaviour: concurrent lookups wait on the first one's. */
const inflight = new Map<string, Promise<Fetched>>();
/** Settled 200 answers per URL, for SETTLED_REUSE_MS: plain values, safe to share across requests. */
const settled = new Map<string, { at: number; fetched: Fetched }>();

/**
 * Why a settled answer is kept for a moment: on Workers jose's RemoteJWKSet does not share its
 * pending fetch, so every lookup that finds no fresh keys calls this fetch. The in-flight entry
 * goes as soon as the fetch settles, but jose stores the keys only after each waiting request's
 * continuation has run (in its own request context) and parsed the body: milliseconds, tens of
 * them under a cold burst on a slow machine. A lookup arriving in that gap found no keys and no
 * fetch in flight, and fetched again. Keeping the settled status and body closes the gap
 * without sharing an in-flight promise any further: workerd forbids I/O on behalf of another
 * request, and a settled string is not I/O. The window never exceeds the cooldown, so an
 * unknown kid after the cooldown still reaches the issuer. Only 200 answers are kept: an issuer
 * that failed is asked again by the next lookup.
 */
function sharedFetch(fetchImpl: typeof fetch, reuseMs: number): FetchImplementation {
  return async (url, options) => {
    const recent = settled.get(url);
    let fetched: Fetched;
    if (recent && Date.now() - recent.at < reuseMs) {
      fetched = recent.fetched;
    } else {
      let pending = inflight.get(url);
      if (!pending) {
        const started = generation;
        pending = fetchBounded(fetchImpl, url, options)
          .then((result) => {
            if (result.status === 200 && started === generation) remember(url, result);
            return result;
          })
          .finally(() => inflight.delete(url));
        inflight.set(url, pending);
      }
      fetched = await pending;
    }
    return new Response(fetched.body, { status: fetched.status, headers: { 'content-type': 'application/json' } });
  };
}

function remember(url: string, fetched: Fetched): void {
  const now = Date.now();
  for (const [u, s] of settled) if (now - s.at >= SETTLED_REUSE_MS) settled.delete(u);
  settled.set(url, { at: now, fetched });
}

async function fetchBounded(fetchImpl: typeof fetch, url: string, options: Parameters<FetchImplementation>[1]): Promise<Fetched> {
  const res = await fetchImpl(url, { headers: options.headers, redirect: 'manual', signal: options.signal });
  // Only a 200's body is ever used (jose and discovery both reject anything else).
  if (res.status !== 200) {
    await res.body?.cancel().catch(() => undefined);
    return { status: res.status, body: '' };
  }
  const read = await readResponseAtMost(res, MAX_DOCUMENT_BYTES);
  // Cancelled past the limit: the issuer stops sending and the isolate stops growing. The
  // fetch's signal (jose's timeout) also ends a body that trickles.
  if ('problem' in read)
    throw new JwksUnavailable({ detail: `key document ${read.problem === 'cut off' ? 'was cut off' : `over ${MAX_DOCUMENT_BYTES} bytes`}` });
  try {
    return { status: 200, body: utf8.decode(read.bytes) };
  } catch {
    throw new JwksUnavailable({ detail: 'key document is not UTF-8' });
  }
}

function reuseWindowMs(deps: KeyDeps): number {
  return Math.min(SETTLED_REUSE_MS, deps.cooldownMs ?? DEFAULT_JWKS_COOLDOWN_MS);
}

// ---- inline ----------------------------------------------------------------------------

const inlineSets = new WeakMap<JSONWebKeySet, JWTVerifyGetKey>();

/**
 * Inline keys never refresh themselves: a kid they lack is most often a cluster that rotated
 * its signing key since the record's keys were last synced, and the refusal's detail (the
 * exchange's log line, explain) says so.
 */
function inlineKeys(jwks: JSONWebKeySet): JWTVerifyGetKey {
  let set = inlineSets.get(jwks);
  if (!set) {
    const local = createLocalJWKSet(jwks);
    set = async (header, token) => {
      try {
        return await local(header, token);
      } catch (err) {
        if (!(err instanceof joseErrors.JWKSNoMatchingKey)) throw err;
        const kid = typeof header.kid === 'string' ? JSON.stringify(header.kid.slice(0, 64)) : 'none';
        throw new UnknownKey({
          detail: `kid ${kid} is not among the record's ${jwks.keys.length} inline keys: if the cluster rotated its signing key, sync them (keySync and npm run keys-sync, or PUT the record)`,
        });
      }
    };
    inlineSets.set(jwks, set);
  }
  return set;
}

// ---- remote ----------------------------------------------------------------------------

interface RemoteEntry {
  set: RemoteJWKSet;
  cache: ExportedJWKSCache | Record<string, never>;
  persistedUat: number | undefined;
}

// Only settled values are shared between requests: a promise of KV I/O started by one request
// must not be awaited by another (workerd: "Cannot perform I/O on behalf of a different request").
// Concurrent cold requests each read KV, the first to finish stores the entry, and their JWKS
// fetches still collapse into one in sharedFetch.
const remoteSets = new Map<string, RemoteEntry>();

async function remoteEntry(url: string, deps: KeyDeps): Promise<RemoteEntry> {
  const existing = remoteSets.get(url);
  if (existing) return existing;
  const started = generation;
  // A KV failure here only costs a fetch: the cache is an optimisation, the fetch is the truth.
  const stored = await deps.store.readJwks(url).catch(() => undefined);
  const raced = remoteSets.get(url);
  if (raced) return raced;
  const seed = stored && started === generation ? stored : undefined;
  const cache = (seed ? { uat: seed.uat, jwks: seed.jwks } : {}) as ExportedJWKSCache | Record<string, never>;
  const set = createRemoteJWKSet(new URL(url), {
    cooldownDuration: deps.cooldownMs ?? DEFAULT_JWKS_COOLDOWN_MS,
    cacheMaxAge: JWKS_MAX_AGE_MS,
    timeoutDuration: JWKS_TIMEOUT_MS,
    [jwksCache]: cache,
    [customFetch]: sharedFetch(deps.fetch, reuseWindowMs(deps)),
  });
  const entry = { set, cache, persistedUat: seed?.uat };
  if (started === generation) remoteSets.set(url, entry);
  return entry;
}

/** Schedules the KV write of keys jose has just fetched into `entry` (once per fetch). */
function writeBack(entry: RemoteEntry, url: string, deps: KeyDeps): void {
  const { uat, jwks } = entry.cache as Partial<ExportedJWKSCache>;
  if (!uat || !jwks || uat === entry.persistedUat || remoteSets.get(url) !== entry) return;
  entry.persistedUat = uat;
  deps.waitUntil(deps.store.writeJwks(url, { uat, jwks }, KV_TTL_SECONDS).catch(() => undefined));
}

function remoteKeys(entry: RemoteEntry, url: string, deps: KeyDeps): JWTVerifyGetKey {
  return async (header, token) => {
    try {
      return await entry.set(header, token);
    } catch (err) {
      if (err instanceof joseErrors.JWKSNoMatchingKey || err instanceof joseErrors.JWKSMultipleMatchingKeys) throw err;
      if (err instanceof JwksUnavailable) throw err;
      const reason = err instanceof joseErrors.JOSEError ? err.code : 'fetch failed';
      throw new JwksUnavailable({ detail: `JWKS ${new URL(url).host}: ${reason}` });
    } finally {
      writeBack(entry, url, deps);
    }
  };
}

// ---- discovery -------------------------------------------------------------------------

/** Settled discovery results only (see remoteSets for why); `uat` in ms since the epoch. */
const discovered = new Map<string, { jwksUri: string; uat: number }>();

const isFresh = (uat: number) => Date.now() - uat < DISCOVERY_MAX_AGE_MS;
const discoveryUrl = (issuer: string) => `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;

async function discoverJwksUri(issuer: string, deps: KeyDeps): Promise<string> {
  const known = discovered.get(issuer);
  if (known && isFresh(known.uat)) return known.jwksUri;
  const started = generation;
  const stored = await deps.store.readDiscovery(issuer).catch(() => undefined);
  // Another request may have finished discovery while this one read KV.
  const raced = discovered.get(issuer);
  if (raced && isFresh(raced.uat)) return raced.jwksUri;
  if (stored && isFresh(stored.uat) && isHttpsOrLoopback(stored.jwks_uri) && started === generation) {
    discovered.set(issuer, { jwksUri: stored.jwks_uri, uat: stored.uat });
    return stored.jwks_uri;
  }
  let doc: unknown;
  try {
    const fetchDoc = sharedFetch(deps.fetch, reuseWindowMs(deps));
    const res = await fetchDoc(discoveryUrl(issuer), {
      headers: new Headers({ accept: 'application/json' }),
      method: 'GET',
      redirect: 'manual',
      signal: AbortSignal.timeout(JWKS_TIMEOUT_MS),
    });
    if (res.status !== 200) throw new JwksUnavailable({ detail: `discovery answered ${res.status}` });
    doc = JSON.parse(await res.text());
  } catch (err) {
    throw err instanceof JwksUnavailable ? err : new JwksUnavailable({ detail: 'discovery fetch failed' });
  }
  const { issuer: claimed, jwks_uri: jwksUri } = isObject(doc) ? doc : {};
  // OIDC Discovery 1.0 §4.3: the document's issuer must be exactly the issuer asked about.
  if (claimed !== issuer || typeof jwksUri !== 'string') throw new JwksUnavailable({ detail: 'discovery document invalid or for another issuer' });
  if (!isHttpsOrLoopback(jwksUri)) throw new JwksUnavailable({ detail: 'discovery jwks_uri is not https' });
  const current = discovered.get(issuer);
  if (started === generation && !(current && isFresh(current.uat))) {
    const uat = Date.now();
    discovered.set(issuer, { jwksUri, uat });
    deps.waitUntil(deps.store.writeDiscovery(issuer, { jwks_uri: jwksUri, uat }, KV_TTL_SECONDS).catch(() => undefined));
  }
  return jwksUri;
}

// ---- entry points ----------------------------------------------------------------------

export async function issuerKeys(record: KeySourceRecord, deps: KeyDeps): Promise<IssuerKeys> {
  const source = record.keys;
  if (source.type === 'inline') return { getKey: inlineKeys(source.jwks as JSONWebKeySet) };
  const url = source.type === 'jwks_uri' ? source.uri : await discoverJwksUri(record.issuer, deps);
  return { getKey: remoteKeys(await remoteEntry(url, deps), url, deps) };
}

/**
 * Drops what is cached for these records' keys, in KV and in this isolate: the discovery
 * result and the JWKS of every URL they used. The admin API calls it when a record is replaced
 * or deleted, so a moved jwks_uri or a retired key counts at once here; other isolates follow
 * when their copies age out (DISCOVERY_MAX_AGE_MS, JWKS_MAX_AGE_MS). A KV failure is thrown;
 * the admin API calls this before it writes, so the change has not happened and a retry (with
 * the same If-Match) holds. The isolate entries go regardless. Without `store`, only this
 * isolate's (the admin route's isolate, once the writer in another has made the change).
 */
export async function forgetIssuerKeys(store: KeyStore | undefined, records: Array<KeySourceRecord | undefined>): Promise<void> {
  const byIssuer = new Map<string, Set<string>>();
  for (const r of records) {
    if (!r || r.keys.type === 'inline') continue;
    const urls = byIssuer.get(r.issuer) ?? new Set<string>();
    byIssuer.set(r.issuer, urls);
    if (r.keys.type === 'jwks_uri') urls.add(r.keys.uri);
    const known = discovered.get(r.issuer);
    if (known) urls.add(known.jwksUri);
  }
  try {
    for (const [issuer, urls] of store ? byIssuer : []) {
      // Stored by another isolate, perhaps: its jwks_uri is one more URL to drop.
      const stored = await store?.readDiscovery(issuer).catch(() => undefined);
      if (stored) urls.add(stored.jwks_uri);
      await store?.remove(issuer, urls);
    }
  } finally {
    for (const [issuer, urls] of byIssuer) {
      discovered.delete(issuer);
      settled.delete(discoveryUrl(issuer));
      for (const url of urls) {
        remoteSets.delete(url);
        settled.delete(url);
      }
    }
    generation++;
  }
}
