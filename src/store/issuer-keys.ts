/**
 * Issuer key material cached in KV, so that a new isolate does not refetch it: the JWKS of a
 * URL (jose's `jwksCache` export) and the jwks_uri that OIDC discovery found for an issuer.
 * Both are caches of what the issuer publishes, never the source of truth: identity/jwks.ts
 * treats a failed or unparsable read as a miss and fetches. Layout in docs/storage-schema.md.
 */
import type { KeyStore } from '../identity/jwks';
import { type Checked, keys, MAX_KV_KEY_BYTES, readJson, remove, writeJson } from './kv';

export type StoredJwks = Checked<'StoredJwksSchema'>;
export type StoredDiscovery = Checked<'StoredDiscoverySchema'>;

/** A URL too long for a KV key can have nothing stored under it: skip the call, not fail. */
function fits(key: string): boolean {
  return key.length <= MAX_KV_KEY_BYTES;
}

export async function readStoredJwks(kv: KVNamespace, url: string): Promise<StoredJwks | undefined> {
  const key = keys.jwks(url);
  return fits(key) ? readJson(kv, key, 'StoredJwksSchema') : undefined;
}

/**
 * `value` is jose's export as it stands (its JWK type has `kty` optional); the read parses it.
 * `ttlSeconds`: how long KV keeps it (clamped to KV's 60 s minimum in kv.ts).
 */
export async function writeStoredJwks(
  kv: KVNamespace,
  url: string,
  value: { uat: number; jwks: { keys: readonly object[] } },
  ttlSeconds: number,
): Promise<void> {
  const key = keys.jwks(url);
  if (fits(key)) await writeJson(kv, key, 'StoredJwksSchema', value as StoredJwks, ttlSeconds);
}

export async function readStoredDiscovery(kv: KVNamespace, issuer: string): Promise<StoredDiscovery | undefined> {
  const key = keys.discovery(issuer);
  return fits(key) ? readJson(kv, key, 'StoredDiscoverySchema') : undefined;
}

/** `ttlSeconds`: how long KV keeps it (clamped to KV's 60 s minimum in kv.ts). */
export async function writeStoredDiscovery(kv: KVNamespace, issuer: string, value: StoredDiscovery, ttlSeconds: number): Promise<void> {
  const key = keys.discovery(issuer);
  if (fits(key)) await writeJson(kv, key, 'StoredDiscoverySchema', value, ttlSeconds);
}

/** Deletes an issuer's discovery result and the JWKS stored for each of `jwksUrls`. */
export async function removeStoredKeys(kv: KVNamespace, issuer: string, jwksUrls: Iterable<string>): Promise<void> {
  const stale = [keys.discovery(issuer), ...[...jwksUrls].map((u) => keys.jwks(u))].filter(fits);
  await Promise.all(stale.map((key) => remove(kv, key)));
}

/** The KV-backed store identity/jwks.ts keeps fetched keys in. */
export function issuerKeyStore(kv: KVNamespace): KeyStore {
  return {
    readJwks: (url) => readStoredJwks(kv, url),
    writeJwks: (url, value, ttl) => writeStoredJwks(kv, url, value, ttl),
    readDiscovery: (issuer) => readStoredDiscovery(kv, issuer),
    writeDiscovery: (issuer, value, ttl) => writeStoredDiscovery(kv, issuer, value, ttl),
    remove: (issuer, urls) => removeStoredKeys(kv, issuer, urls),
  };
}
