// Key material for the edge, made with node:crypto alone (no openssl needed).
// The key ring format is documented in src/signing/keys.ts.
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** libtrust key id (docker/distribution 2.x `kid`): see src/signing/libtrust.ts. */
export function libtrustKeyId(spkiDer) {
  const digest = createHash('sha256').update(spkiDer).digest().subarray(0, 30);
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of digest) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out.match(/.{4}/g).join(':');
}

/** A fresh ES256 signing key: { kid, privateJwk }. */
export function generateSigningKey() {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const kid = libtrustKeyId(publicKey.export({ type: 'spki', format: 'der' }));
  const { kty, crv, x, y, d } = privateKey.export({ format: 'jwk' });
  return { kid, privateJwk: { kty, crv, x, y, d } };
}

/** A key ring with one fresh, active key. */
export function generateKeyRing() {
  const key = generateSigningKey();
  return { active: key.kid, keys: [key] };
}

/** 32 random bytes, base64url: the admin bearer token. */
export function generateAdminToken() {
  return randomBytes(32).toString('base64url');
}
