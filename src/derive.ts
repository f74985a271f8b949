/**
 * Keys derived from a Worker secret (EDGE_SIGNING_KEYS), one per purpose: the seal of KV values
 * (store/seal.ts, HMAC) and the encryption of the vendor-credential cache (upstream/cache.ts,
 * AES-GCM). HKDF-SHA-256, salt "edge-credential-provider", the purpose as info.
 */
const encoder = new TextEncoder();

/** A key derived (HKDF-SHA-256) from a Worker secret for one purpose; one per secret and purpose, per isolate. */
const derived = new Map<string, { secret: string; key: Promise<CryptoKey> }>();
export type Derived = Parameters<SubtleCrypto['deriveKey']>[2];
export function derivedKey(secret: string, info: string, algorithm: Derived, usages: string[]): Promise<CryptoKey> {
  let held = derived.get(info);
  if (held?.secret !== secret) {
    const key = crypto.subtle
      .importKey('raw', encoder.encode(secret), 'HKDF', false, ['deriveKey'])
      .then((ikm) =>
        crypto.subtle.deriveKey(
          { name: 'HKDF', hash: 'SHA-256', salt: encoder.encode('edge-credential-provider'), info: encoder.encode(info) },
          ikm,
          algorithm,
          false,
          usages,
        ),
      );
    held = { secret, key };
    derived.set(info, held);
  }
  return held.key;
}
