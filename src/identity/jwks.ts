/**
 * The issuer's public keys, from the trust record's key source:
 *   inline     the record's own JWKS (clusters whose issuer is not reachable from the internet)
 *   jwks_uri   an explicit JWKS URL
 *   discovery  <issuer>/.well-known/openid-configuration, then its jwks_uri
 *
 * Remote sets are jose RemoteJWKSets, one per URL per isolate, seeded from and written
 * back to KV through jose's `jwksCache` seam, so a new isolate does not refetch. An unknown
 * `kid` triggers a refetch at most once per cooldown (jose's). Concurrent fetches of the
 * same URL share one request (the `customFetch` seam below): jose does not share in-flight
 * fetches on Workers, and a cold burst must not stampede the cluster's issuer.
 * Any failure to get keys is ERR_JWKS_UNAVAILABLE (503): fail closed, never skip a check.
 */
import {
  createLocalJWKSet, createRemoteJWKSet, customFetch, errors as joseErrors, jwksCache,
  type ExportedJWKSCache, type FetchImplementation, type JSONWebKeySet, type JWTVerifyGetKey, type RemoteJWKSet,
} from 'jose';
import { z } from 'zod';
import { JwksUnavailable } from '../errors';
import { isHttpsOrLoopback } from '../net';
import type { TrustRecord } from '../policy/schema';
import { keys, readJson, writeJson } from '../store/kv';

/** After a successful fetch, an unknown kid refetches only after this long, ms (JWKS_COOLDOWN_SECONDS). */
export const DEFAULT_JWKS_COOLDOWN_MS = 30_000;
/** Keys older than this are refetched before use, ms. Cluster keys rotate rarely. */
export const JWKS_MAX_AGE_MS = 10 * 60_000;
/** One JWKS or discovery fetch may take this long, ms. */
export const JWKS_TIMEOUT_MS = 3_000;
/** Persisted JWKS and discovery results live this long in KV, seconds. */
const KV_TTL_SECONDS = 60 * 60;
/** A JWKS or discovery document is a few KiB; refuse anything far larger. */
const MAX_DOCUMENT_BYTES = 256 * 1024;

export interface KeyDeps {
  kv: KVNamespace;
  /** Cooldown for unknown-kid refetches, ms. */
  cooldownMs?: number;
  fetch: typeof fetch;
  /** Runs work after the response (ctx.waitUntil). */
  waitUntil: (p: Promise<unknown>) => void;
}

export interface IssuerKeys {
  getKey: JWTVerifyGetKey;
  /** Call after verification: writes freshly fetched keys back to KV. */
  persist: () => void;
}

// ---- shared fetch: one request per URL in flight per isolate -------------------------

const inflight = new Map<string, Promise<{ status: number; body: string }>>();

function sharedFetch(fetchImpl: typeof fetch): FetchImplementation {
  return async (url, options) => {
    let pending = inflight.get(url);
    if (!pending) {
      pending = fetchImpl(url, { headers: options.headers, redirect: 'manual', signal: options.signal })
        .then(async (res) => {
          const body = await res.text();
          if (body.length > MAX_DOCUMENT_BYTES) throw new JwksUnavailable({ detail: 'JWKS document too large' });
          return { status: res.status, body };
        })
        .finally(() => inflight.delete(url));
      inflight.set(url, pending);
    }
    const { status, body } = await pending;
    return new Response(body, { status, headers: { 'content-type': 'application/json' } });
  };
}

// ---- inline ----------------------------------------------------------------------------

const inlineSets = new WeakMap<JSONWebKeySet, JWTVerifyGetKey>();

function inlineKeys(jwks: JSONWebKeySet): JWTVerifyGetKey {
  let set = inlineSets.get(jwks);
  if (!set) inlineSets.set(jwks, (set = createLocalJWKSet(jwks)));
  return set;
}

// ---- remote ----------------------------------------------------------------------------

const CachedJwksSchema = z.object({ uat: z.number(), jwks: z.object({ keys: z.array(z.looseObject({ kty: z.string() })) }) });

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
  // A KV failure here only costs a fetch: the cache is an optimisation, the fetch is the truth.
  const stored = await readJson(deps.kv, keys.jwks(url), CachedJwksSchema).catch(() => undefined);
  const raced = remoteSets.get(url);
  if (raced) return raced;
  const cache = (stored ? { uat: stored.uat, jwks: stored.jwks } : {}) as ExportedJWKSCache | Record<string, never>;
  const set = createRemoteJWKSet(new URL(url), {
    cooldownDuration: deps.cooldownMs ?? DEFAULT_JWKS_COOLDOWN_MS,
    cacheMaxAge: JWKS_MAX_AGE_MS,
    timeoutDuration: JWKS_TIMEOUT_MS,
    [jwksCache]: cache,
    [customFetch]: sharedFetch(deps.fetch),
  });
  const entry = { set, cache, persistedUat: stored?.uat };
  remoteSets.set(url, entry);
  return entry;
}

function wrapRemote(entry: RemoteEntry, url: string, deps: KeyDeps): IssuerKeys {
  const getKey: JWTVerifyGetKey = async (header, token) => {
    try {
      return await entry.set(header, token);
    } catch (err) {
      if (err instanceof joseErrors.JWKSNoMatchingKey || err instanceof joseErrors.JWKSMultipleMatchingKeys) throw err;
      if (err instanceof JwksUnavailable) throw err;
      const reason = err instanceof joseErrors.JOSEError ? err.code : 'fetch failed';
      throw new JwksUnavailable({ detail: `JWKS ${new URL(url).host}: ${reason}` });
    }
  };
  const persist = () => {
    const { uat, jwks } = entry.cache as Partial<ExportedJWKSCache>;
    if (uat && jwks && uat !== entry.persistedUat) {
      entry.persistedUat = uat;
      deps.waitUntil(writeJson(deps.kv, keys.jwks(url), { uat, jwks }, KV_TTL_SECONDS).catch(() => undefined));
    }
  };
  return { getKey, persist };
}

// ---- discovery -------------------------------------------------------------------------

const DiscoverySchema = z.looseObject({ issuer: z.string(), jwks_uri: z.string() });
/** Settled discovery results only (see remoteSets for why). */
const discovered = new Map<string, string>();

async function discoverJwksUri(issuer: string, deps: KeyDeps): Promise<string> {
  const known = discovered.get(issuer);
  if (known) return known;
  const cached = await readJson(deps.kv, keys.discovery(issuer), z.object({ jwks_uri: z.string() })).catch(() => undefined);
  if (cached && isHttpsOrLoopback(cached.jwks_uri)) {
    discovered.set(issuer, cached.jwks_uri);
    return cached.jwks_uri;
  }
  const url = `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
  let doc: unknown;
  try {
    const res = await sharedFetch(deps.fetch)(url, { headers: new Headers({ accept: 'application/json' }), method: 'GET', redirect: 'manual', signal: AbortSignal.timeout(JWKS_TIMEOUT_MS) });
    if (res.status !== 200) throw new JwksUnavailable({ detail: `discovery answered ${res.status}` });
    doc = JSON.parse(await res.text());
  } catch (err) {
    throw err instanceof JwksUnavailable ? err : new JwksUnavailable({ detail: 'discovery fetch failed' });
  }
  const parsed = DiscoverySchema.safeParse(doc);
  // OIDC Discovery 1.0 §4.3: the document's issuer must be exactly the issuer asked about.
  if (!parsed.success || parsed.data.issuer !== issuer) throw new JwksUnavailable({ detail: 'discovery document invalid or for another issuer' });
  if (!isHttpsOrLoopback(parsed.data.jwks_uri)) throw new JwksUnavailable({ detail: 'discovery jwks_uri is not https' });
  if (!discovered.has(issuer)) {
    discovered.set(issuer, parsed.data.jwks_uri);
    deps.waitUntil(writeJson(deps.kv, keys.discovery(issuer), { jwks_uri: parsed.data.jwks_uri }, KV_TTL_SECONDS).catch(() => undefined));
  }
  return parsed.data.jwks_uri;
}

// ---- entry point -----------------------------------------------------------------------

export async function issuerKeys(record: TrustRecord, deps: KeyDeps): Promise<IssuerKeys> {
  const source = record.keys;
  if (source.type === 'inline') return { getKey: inlineKeys(source.jwks as JSONWebKeySet), persist: () => {} };
  const url = source.type === 'jwks_uri' ? source.uri : await discoverJwksUri(record.issuer, deps);
  return wrapRemote(await remoteEntry(url, deps), url, deps);
}

/** For tests: forget every isolate-level cache. */
export function forgetCachedKeys(): void {
  remoteSets.clear();
  discovered.clear();
  inflight.clear();
}
