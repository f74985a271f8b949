// Key material for the edge, made with node:crypto alone (no openssl needed).
// The key ring format is documented in src/signing/keys.ts; `npm run keys` (scripts/keys.mjs)
// is the command line over these functions.
import { X509Certificate, createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { createSelfSignedCertificate, DEFAULT_CERT_DAYS } from './x509.mjs';

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

/** The certificate's subject: names the edge and the key, so a registry operator can tell keys apart. */
const commonNameFor = (kid) => `edge-credential-provider ${kid.slice(0, 19)}`;

/** A self-signed certificate (PEM) for a key ring entry's private JWK. */
export function certificateFor(privateJwk, { days = DEFAULT_CERT_DAYS, now = new Date() } = {}) {
  const privateKey = createPrivateKey({ key: privateJwk, format: 'jwk' });
  const kid = libtrustKeyId(createPublicKey(privateKey).export({ type: 'spki', format: 'der' }));
  return createSelfSignedCertificate({ privateKey, commonName: commonNameFor(kid), days, now });
}

/**
 * A fresh ES256 signing key: { kid, privateJwk, certificate }. The certificate is what a
 * registry's rootcertbundle trusts; `days` is its validity (default 3650).
 */
export function generateSigningKey({ days = DEFAULT_CERT_DAYS } = {}) {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const kid = libtrustKeyId(publicKey.export({ type: 'spki', format: 'der' }));
  const { kty, crv, x, y, d } = privateKey.export({ format: 'jwk' });
  const certificate = createSelfSignedCertificate({ privateKey, commonName: commonNameFor(kid), days });
  return { kid, privateJwk: { kty, crv, x, y, d }, certificate };
}

/**
 * A fresh RS256 key (RSA-2048): { kid, privateJwk }. Signs workload tokens for the vendors
 * that accept RSA only (Entra ID, Quay); never seen by registries, so no certificate.
 */
export function generateRsaKey() {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const kid = libtrustKeyId(publicKey.export({ type: 'spki', format: 'der' }));
  const { kty, n, e, d, p, q, dp, dq, qi } = privateKey.export({ format: 'jwk' });
  return { kid, privateJwk: { kty, n, e, d, p, q, dp, dq, qi } };
}

/**
 * A fresh ES256 workload-token key: { kid, privateJwk }. Signs workload tokens only and is
 * published in the OIDC JWKS, never in the registry bundle, so no certificate.
 */
export function generateWorkloadKey() {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const kid = libtrustKeyId(publicKey.export({ type: 'spki', format: 'der' }));
  const { kty, crv, x, y, d } = privateKey.export({ format: 'jwk' });
  return { kid, privateJwk: { kty, crv, x, y, d } };
}

/**
 * A key ring with one fresh, active key of each kind: the credential and registry-token key
 * (ES256, with certificate) and the workload-token keys (ES256 and RS256), kept apart; and
 * `seal`, 32 random bytes the edge derives the seal of its KV values from (src/store/seal.ts),
 * which rotations keep, so that rotating a key does not unseal what the edge stored.
 */
export function generateKeyRing(opts) {
  const key = generateSigningKey(opts);
  const workload = generateWorkloadKey();
  const rsa = generateRsaKey();
  return {
    active: key.kid,
    keys: [key],
    workload: { active: workload.kid, keys: [workload] },
    rsa: { active: rsa.kid, keys: [rsa] },
    seal: generateSeal(),
  };
}

/** The ring's seal seed: 32 random bytes, base64url (43 characters). */
export const generateSeal = () => randomBytes(32).toString('base64url');
const SEAL = /^[A-Za-z0-9_-]{43,}$/;

/** 32 random bytes, base64url: the admin bearer token. */
export function generateAdminToken() {
  return randomBytes(32).toString('base64url');
}

// ---- key ring maintenance (scripts/keys.mjs) ----

/**
 * Checks a key ring as the Worker will (src/signing/keys.ts) and more: each kid is the key's
 * libtrust id, the active kid is present, and each certificate holds that very key and is
 * currently valid. Returns a list of problems, empty when the ring is sound.
 */
export function checkKeyRing(ring, now = new Date()) {
  const problems = [];
  if (!ring || typeof ring !== 'object' || !Array.isArray(ring.keys) || ring.keys.length === 0) return ['not a key ring: { active, keys: [...] }'];
  for (const [i, key] of ring.keys.entries()) {
    let spki;
    try {
      spki = createPublicKey({ key: key.privateJwk, format: 'jwk' }).export({ type: 'spki', format: 'der' });
    } catch {
      problems.push(`keys[${i}]: privateJwk is not an EC key`);
      continue;
    }
    if (key.privateJwk?.crv !== 'P-256' || !key.privateJwk?.d) problems.push(`keys[${i}]: privateJwk must be a private EC P-256 key`);
    const kid = libtrustKeyId(spki);
    if (key.kid !== kid) problems.push(`keys[${i}]: kid ${key.kid} is not the key's libtrust id ${kid}`);
    if (key.certificate !== undefined) {
      try {
        const cert = new X509Certificate(key.certificate);
        if (!cert.publicKey.export({ type: 'spki', format: 'der' }).equals(spki)) problems.push(`keys[${i}]: certificate is for another key`);
        if (new Date(cert.validTo) < now) problems.push(`keys[${i}]: certificate expired ${cert.validTo}`);
      } catch {
        problems.push(`keys[${i}]: certificate is not a PEM X.509 certificate`);
      }
    }
  }
  if (!ring.keys.some((k) => k.kid === ring.active)) problems.push(`active kid ${ring.active} is not in keys`);
  if (ring.rsa !== undefined) problems.push(...checkRsaKeys(ring.rsa));
  if (ring.workload !== undefined) problems.push(...checkWorkloadKeys(ring.workload, ring.keys));
  if (ring.seal !== undefined && !(typeof ring.seal === 'string' && SEAL.test(ring.seal))) problems.push('seal: must be at least 32 bytes, base64url');
  return problems;
}

/** Workload ES256 keys: sound EC keys, none of them also a credential key (the roles stay apart). */
function checkWorkloadKeys(workload, credentialKeys) {
  if (!workload || !Array.isArray(workload.keys) || workload.keys.length === 0) return ['workload: not a key list: { active, keys: [...] }'];
  const problems = [];
  for (const [i, key] of workload.keys.entries()) {
    let spki;
    try {
      spki = createPublicKey({ key: key.privateJwk, format: 'jwk' }).export({ type: 'spki', format: 'der' });
    } catch {
      problems.push(`workload.keys[${i}]: privateJwk is not an EC key`);
      continue;
    }
    if (key.privateJwk?.kty !== 'EC' || key.privateJwk?.crv !== 'P-256' || !key.privateJwk?.d)
      problems.push(`workload.keys[${i}]: privateJwk must be a private EC P-256 key`);
    const kid = libtrustKeyId(spki);
    if (key.kid !== kid) problems.push(`workload.keys[${i}]: kid ${key.kid} is not the key's libtrust id ${kid}`);
    if (credentialKeys.some((k) => k.kid === kid))
      problems.push(`workload.keys[${i}]: ${kid} is also a credential key; a workload key must be a key of its own`);
  }
  if (!workload.keys.some((k) => k.kid === workload.active)) problems.push(`workload active kid ${workload.active} is not in workload.keys`);
  return problems;
}

function checkRsaKeys(rsa) {
  if (!rsa || !Array.isArray(rsa.keys) || rsa.keys.length === 0) return ['rsa: not a key list: { active, keys: [...] }'];
  const problems = [];
  for (const [i, key] of rsa.keys.entries()) {
    let publicKey;
    try {
      publicKey = createPublicKey({ key: key.privateJwk, format: 'jwk' });
    } catch {
      problems.push(`rsa.keys[${i}]: privateJwk is not an RSA key`);
      continue;
    }
    if (key.privateJwk?.kty !== 'RSA' || !key.privateJwk?.d) problems.push(`rsa.keys[${i}]: privateJwk must be a private RSA key`);
    else if (publicKey.asymmetricKeyDetails?.modulusLength < 2048) problems.push(`rsa.keys[${i}]: RSA keys must have at least 2048 bits`);
    const kid = libtrustKeyId(publicKey.export({ type: 'spki', format: 'der' }));
    if (key.kid !== kid) problems.push(`rsa.keys[${i}]: kid ${key.kid} is not the key's libtrust id ${kid}`);
  }
  if (!rsa.keys.some((k) => k.kid === rsa.active)) problems.push(`rsa active kid ${rsa.active} is not in rsa.keys`);
  return problems;
}

/**
 * Adds a new key and makes it active; the previous keys stay as retiring. The credential key
 * (ES256) by default; `{ rsa: true }` rotates the RS256 workload keys and `{ workload: true }`
 * the ES256 workload keys instead (each adds the first one to an older ring).
 */
export function rotateKeyRing(given, opts = {}) {
  // A ring made before seals gets one now (its values are read the slow way until rewritten, once).
  const ring = given.seal === undefined ? { ...given, seal: generateSeal() } : given;
  if (opts.workload) {
    const key = generateWorkloadKey();
    return { ring: { ...ring, workload: { active: key.kid, keys: [key, ...(ring.workload?.keys ?? [])] } }, added: key.kid };
  }
  if (opts.rsa) {
    const key = generateRsaKey();
    return { ring: { ...ring, rsa: { active: key.kid, keys: [key, ...(ring.rsa?.keys ?? [])] } }, added: key.kid };
  }
  const key = generateSigningKey(opts);
  return { ring: { ...ring, active: key.kid, keys: [key, ...ring.keys] }, added: key.kid };
}

/** Removes a retiring key of either kind. An active key cannot be retired (rotate first). */
export function retireKey(ring, kid) {
  if (kid === ring.active || kid === ring.rsa?.active || kid === ring.workload?.active)
    throw new Error(`${kid} is the active key: rotate first, then retire it`);
  if (ring.workload?.keys.some((k) => k.kid === kid)) return { ...ring, workload: { ...ring.workload, keys: ring.workload.keys.filter((k) => k.kid !== kid) } };
  if (ring.rsa?.keys.some((k) => k.kid === kid)) return { ...ring, rsa: { ...ring.rsa, keys: ring.rsa.keys.filter((k) => k.kid !== kid) } };
  if (!ring.keys.some((k) => k.kid === kid)) throw new Error(`no key ${kid} in the key ring`);
  return { ...ring, keys: ring.keys.filter((k) => k.kid !== kid) };
}

/** Gives every key without a certificate a self-signed one (rings made before certificates existed). */
export function certifyKeyRing(ring, opts) {
  const added = [];
  const keys = ring.keys.map((k) => {
    if (k.certificate) return k;
    added.push(k.kid);
    return { ...k, certificate: certificateFor(k.privateJwk, opts) };
  });
  return { ring: { ...ring, keys }, added };
}

/** The PEM bundle for a registry's `auth.token.rootcertbundle`: active key first. */
export function certificateBundle(ring) {
  const ordered = [...ring.keys].sort((a, b) => (a.kid === ring.active ? -1 : b.kid === ring.active ? 1 : 0));
  return ordered
    .filter((k) => k.certificate)
    .map((k) => k.certificate.trim() + '\n')
    .join('');
}
