/**
 * The edge's own signing keys, from the EDGE_SIGNING_KEYS secret (made by `npm run keys`).
 *
 *   { "active": "<kid>", "keys": [{ "kid", "privateJwk": {EC P-256 with d}, "certificate"?: PEM }] }
 *
 * One key is active (signs); the others are retiring (still published in the JWKS and
 * the registry's certificate bundle so tokens they signed verify until they expire).
 * Each `kid` must be the key's libtrust id (see libtrust.ts); a mismatch is a
 * configuration error, not something to paper over, and so is a certificate whose public key
 * is not the entry's. Keys are imported once per isolate.
 */
import { importJWK, importX509, type JWK } from 'jose';
import { z } from 'zod';
import { NotConfigured } from '../errors';
import { libtrustKeyId } from './libtrust';

const b64url = z.string().regex(/^[A-Za-z0-9_-]+$/);

const KeyRingSchema = z.object({
  active: z.string().min(1),
  keys: z
    .array(
      z.object({
        kid: z.string().min(1),
        privateJwk: z.object({ kty: z.literal('EC'), crv: z.literal('P-256'), x: b64url, y: b64url, d: b64url }),
        certificate: z.string().includes('-----BEGIN CERTIFICATE-----').optional(),
      }),
    )
    .min(1),
});

export type KeyRingSecret = z.infer<typeof KeyRingSchema>;

export interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  /** Public JWK with kid, alg, use and (when a certificate is configured) x5c. */
  publicJwk: JWK;
  /** Base64 DER of the key's X.509 certificate, for the `x5c` header. */
  certificate?: string;
}

export interface KeyRing {
  active: SigningKey;
  /** Every key, active first: the order of the JWKS and of the registry's certificate bundle. */
  keys: SigningKey[];
  byKid: Map<string, SigningKey>;
  jwks: { keys: JWK[] };
}

export const SIGNING_ALG = 'ES256';

let cached: { secret: string; ring: Promise<KeyRing> } | undefined;

export function loadKeyRing(secret: string | undefined): Promise<KeyRing> {
  if (!secret) return Promise.reject(new NotConfigured({ detail: 'EDGE_SIGNING_KEYS is not set' }));
  if (cached?.secret !== secret) {
    const ring = buildKeyRing(secret);
    cached = { secret, ring };
    // A failed load must not stick: the next request tries again.
    ring.catch(() => {
      if (cached?.ring === ring) cached = undefined;
    });
  }
  return cached.ring;
}

function pemToBase64Der(pem: string): string {
  return pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
}

async function buildKeyRing(secret: string): Promise<KeyRing> {
  let parsed: KeyRingSecret;
  try {
    parsed = KeyRingSchema.parse(JSON.parse(secret));
  } catch {
    throw new NotConfigured({ detail: 'EDGE_SIGNING_KEYS is not a valid key ring' });
  }
  const byKid = new Map<string, SigningKey>();
  for (const entry of parsed.keys) {
    const { d: _private, ...pub } = entry.privateJwk;
    const publicKey = await crypto.subtle.importKey('jwk', pub, { name: 'ECDSA', namedCurve: 'P-256' }, true, ['verify']);
    const spki = (await crypto.subtle.exportKey('spki', publicKey)) as ArrayBuffer;
    const kid = await libtrustKeyId(spki);
    if (kid !== entry.kid) throw new NotConfigured({ detail: `EDGE_SIGNING_KEYS key ${entry.kid} has libtrust id ${kid}` });
    const privateKey = (await importJWK({ ...entry.privateJwk, alg: SIGNING_ALG }, SIGNING_ALG)) as CryptoKey;
    if (entry.certificate) {
      // A certificate for another key would make registries refuse every token: refuse it here.
      const certKey = await importX509(entry.certificate, SIGNING_ALG, { extractable: true }).catch(() => undefined);
      const certKid = certKey && (await libtrustKeyId((await crypto.subtle.exportKey('spki', certKey)) as ArrayBuffer));
      if (certKid !== kid) throw new NotConfigured({ detail: `EDGE_SIGNING_KEYS key ${kid} has a certificate for another key` });
    }
    const certificate = entry.certificate ? pemToBase64Der(entry.certificate) : undefined;
    const publicJwk: JWK = { ...pub, kid, alg: SIGNING_ALG, use: 'sig', ...(certificate ? { x5c: [certificate] } : {}) };
    byKid.set(kid, { kid, privateKey, publicKey, publicJwk, ...(certificate ? { certificate } : {}) });
  }
  const active = byKid.get(parsed.active);
  if (!active) throw new NotConfigured({ detail: 'EDGE_SIGNING_KEYS active kid is not in keys' });
  // Active key first: registries and verifiers that try keys in order find it at once.
  const keys = [active, ...[...byKid.values()].filter((k) => k !== active)];
  return { active, keys, byKid, jwks: { keys: keys.map((k) => k.publicJwk) } };
}
