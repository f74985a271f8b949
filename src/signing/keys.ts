/**
 * The edge's own signing keys, from the EDGE_SIGNING_KEYS secret (made by `npm run keys`).
 *
 *   { "active": "<kid>", "keys": [{ "kid", "privateJwk": {EC P-256 with d}, "certificate"?: PEM }],
 *     "workload"?: { "active": "<kid>", "keys": [{ "kid", "privateJwk": {EC P-256 with d} }] },
 *     "rsa"?: { "active": "<kid>", "keys": [{ "kid", "privateJwk": {RSA >= 2048 bits with d, p, q, ...} }] } }
 *
 * Two kinds of key that never sign each other's tokens:
 * - the top-level EC (ES256) keys sign what the edge itself and registries verify: credentials
 *   and registry tokens. Registries trust them through the certificate bundle
 *   (`/.well-known/registry-certs.pem`) or `/.well-known/registry-jwks.json`.
 * - the workload keys, `workload` (ES256) and `rsa` (RS256: Entra ID and Quay take nothing
 *   else), sign workload tokens only, and are the only keys of the OpenID Connect JWKS
 *   (`/.well-known/jwks.json`) that registry vendors trust. So a registry token or a credential
 *   never verifies at a vendor, whatever `aud` the vendor checks.
 * Rings made before `workload` existed still load: RS256 workload tokens (every vendor's
 * default) are signed as before, and a rule that asks for ES256 answers 503 until
 * `npm run keys -- rotate --workload` adds the key (docs/upstreams.md, "Migration"). Signing
 * ES256 workload tokens with a credential key instead would put that key back in the OIDC JWKS.
 * In each list one key is active (signs); the others are retiring (still published, so tokens
 * they signed verify until they expire). Each `kid` must be the key's libtrust id (see
 * libtrust.ts); a mismatch is a configuration error, not something to paper over, and so is a
 * certificate whose public key is not the entry's, or one key in two roles. Keys are imported
 * once per isolate.
 */
import type { JWK } from 'jose';
import { fromBase64 } from '../bytes';
import { NotConfigured } from '../errors';
import { libtrustKeyId } from './libtrust';
import { isObject } from '../shape';

interface RingEntry<J> {
  kid: string;
  privateJwk: J;
}
interface Ring<J, E = object> {
  active: string;
  keys: (RingEntry<J> & E)[];
}
interface EcPrivateJwk {
  kty: 'EC';
  crv: 'P-256';
  x: string;
  y: string;
  d: string;
}
interface RsaPrivateJwk {
  kty: 'RSA';
  n: string;
  e: string;
  d: string;
  p: string;
  q: string;
  dp: string;
  dq: string;
  qi: string;
}
/** EDGE_SIGNING_KEYS as `npm run keys` writes it (see above). */
export interface KeyRingSecret extends Ring<EcPrivateJwk, { certificate?: string }> {
  workload?: Ring<EcPrivateJwk>;
  rsa?: Ring<RsaPrivateJwk>;
}

/**
 * The secret's rings, checked by hand (every key read on a fresh isolate's first request, where
 * zod's first run would cost more than the request: bench/FINDINGS.md, 11). Each JWK keeps its
 * key fields only (what `importKey` must see); a field of the wrong form throws.
 */
const B64URL = /^[A-Za-z0-9_-]+$/;
function jwkFields<J>(v: unknown, fixed: Record<string, string>, fields: readonly string[]): J {
  if (!isObject(v)) throw new TypeError('a key is not an object');
  const jwk: Record<string, string> = {};
  for (const [name, value] of Object.entries(fixed)) {
    if (v[name] !== value) throw new TypeError(`a key's ${name} is not ${value}`);
    jwk[name] = value;
  }
  for (const name of fields) {
    const value = v[name];
    if (typeof value !== 'string' || !B64URL.test(value)) throw new TypeError(`a key's ${name} is not base64url`);
    jwk[name] = value;
  }
  return jwk as J;
}
const ecJwk = (v: unknown) => jwkFields<EcPrivateJwk>(v, { kty: 'EC', crv: 'P-256' }, ['x', 'y', 'd']);
function rsaJwk(v: unknown): RsaPrivateJwk {
  const jwk = jwkFields<RsaPrivateJwk>(v, { kty: 'RSA' }, ['n', 'e', 'd', 'p', 'q', 'dp', 'dq', 'qi']);
  // base64url of a 2048-bit modulus is 342 characters: refuse anything weaker.
  if (jwk.n.length < 342) throw new TypeError('RSA keys must have at least 2048 bits');
  return jwk;
}
function ring<J, E extends object = object>(v: unknown, key: (v: unknown) => J, more: (entry: Record<string, unknown>) => E = () => ({}) as E): Ring<J, E> {
  if (!isObject(v) || typeof v.active !== 'string' || !v.active || !Array.isArray(v.keys) || !v.keys.length) throw new TypeError('not a ring');
  const keys = v.keys.map((entry: unknown) => {
    if (!isObject(entry) || typeof entry.kid !== 'string' || !entry.kid) throw new TypeError('an entry without kid');
    return { kid: entry.kid, privateJwk: key(entry.privateJwk), ...more(entry) };
  });
  return { active: v.active, keys };
}
function certificateOf(entry: Record<string, unknown>): { certificate?: string } {
  const pem = entry.certificate;
  if (pem === undefined) return {};
  if (typeof pem !== 'string' || !pem.includes('-----BEGIN CERTIFICATE-----')) throw new TypeError('a certificate that is not PEM');
  return { certificate: pem };
}

/** The secret's rings, or NotConfigured. */
export function parseKeyRing(secret: string): KeyRingSecret {
  try {
    const v: unknown = JSON.parse(secret);
    if (!isObject(v)) throw new TypeError('not an object');
    return {
      ...ring(v, ecJwk, certificateOf),
      ...(v.workload !== undefined ? { workload: ring(v.workload, ecJwk) } : {}),
      ...(v.rsa !== undefined ? { rsa: ring(v.rsa, rsaJwk) } : {}),
    };
  } catch {
    throw new NotConfigured({ detail: 'EDGE_SIGNING_KEYS is not a valid key ring' });
  }
}

export interface SigningKey {
  kid: string;
  alg: 'ES256' | 'RS256';
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  /** Public JWK with kid, alg, use and (when a certificate is configured) x5c. */
  publicJwk: JWK;
  /** Base64 DER of the key's X.509 certificate, for the `x5c` header. */
  certificate?: string;
}

/** The keys of credentials and registry tokens (ES256): all that the exchange needs for an edge credential. */
export interface CredentialKeys {
  /** The active credential and registry-token key (ES256). */
  active: SigningKey;
  /** Every credential and registry-token key, active first: the order of the registry's certificate bundle. */
  keys: SigningKey[];
  /** Those keys by kid: what the edge's own credentials may be signed with. */
  byKid: Map<string, SigningKey>;
  /** The credential and registry-token keys only: `/.well-known/registry-jwks.json`, for a registry's `auth.token.jwks`. */
  registryJwks: { keys: JWK[] };
}

/** The keys of workload tokens (federation): never used for credentials. */
export interface WorkloadKeys {
  /** The active ES256 workload-token key, if the ring has one. */
  workload?: SigningKey;
  /** The active RS256 workload-token key, if the ring has RSA keys. */
  rsa?: SigningKey;
  /** The workload-token keys only (ES256 then RS256, active first): the OpenID Connect JWKS, `/.well-known/jwks.json`. */
  jwks: { keys: JWK[] };
}

export interface KeyRing extends CredentialKeys, WorkloadKeys {}

export const SIGNING_ALG = 'ES256';

/**
 * Each part of the ring is imported once per isolate, on its first use: a fresh isolate's first
 * exchange for an edge credential imports the credential keys only (the RSA keys, the slowest
 * to import, wait for the first federation or JWKS request).
 */
let cached: { secret: string; parts: Map<string, Promise<unknown>>; ring?: KeyRingSecret } | undefined;

function once<T>(secret: string | undefined, part: string, build: (ring: KeyRingSecret) => Promise<T>): Promise<T> {
  if (!secret) return Promise.reject(new NotConfigured({ detail: 'EDGE_SIGNING_KEYS is not set' }));
  if (cached?.secret !== secret) cached = { secret, parts: new Map() };
  const held = cached;
  const { parts } = held;
  let loading = parts.get(part) as Promise<T> | undefined;
  if (!loading) {
    // A key that passes the checks but that WebCrypto refuses (an RSA key with inconsistent
    // CRT parameters, a point off the curve) is a configuration error too: 503, never a 500.
    const started = Promise.resolve()
      .then(() => {
        held.ring ??= parseKeyRing(secret); // parsed once for both parts
        return build(held.ring);
      })
      .catch((err: unknown) => {
        throw err instanceof NotConfigured ? err : new NotConfigured({ detail: 'EDGE_SIGNING_KEYS holds a key WebCrypto refuses' });
      });
    parts.set(part, started);
    // A failed load must not stick: the next request tries again.
    started.catch(() => {
      if (parts.get(part) === started) parts.delete(part);
    });
    loading = started;
  }
  return loading;
}

/** The credential keys alone (an edge credential, a registry token, the registry's keys). */
export function loadCredentialKeys(secret: string | undefined): Promise<CredentialKeys> {
  return once(secret, 'credential', buildCredentialKeys);
}

/** The whole ring: the credential keys and the workload keys (federation, the OpenID Connect JWKS). */
export async function loadKeyRing(secret: string | undefined): Promise<KeyRing> {
  const [credential, workload] = await Promise.all([loadCredentialKeys(secret), once<WorkloadKeys>(secret, 'workload', buildWorkloadKeys)]);
  return { ...credential, ...workload };
}

function pemToBase64Der(pem: string): string {
  return pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
}

async function buildCredentialKeys(parsed: KeyRingSecret): Promise<CredentialKeys> {
  const ecKeys: SigningKey[] = [];
  for (const entry of parsed.keys) {
    const key = await importSigningKey(entry.kid, entry.privateJwk, 'ES256');
    const certificate = entry.certificate ? pemToBase64Der(entry.certificate) : undefined;
    // A certificate for another key would make registries refuse every token: refuse it here.
    if (certificate && !(await certifies(certificate, key.publicKey))) {
      throw new NotConfigured({ detail: `EDGE_SIGNING_KEYS key ${key.kid} has a certificate for another key` });
    }
    ecKeys.push(certificate ? { ...key, certificate, publicJwk: { ...key.publicJwk, x5c: [certificate] } } : key);
  }
  const byKid = new Map(ecKeys.map((k) => [k.kid, k]));
  const keys = activeFirst([...byKid.values()], parsed.active, 'active kid is not in keys');
  const [active] = keys as [SigningKey];
  return { active, keys, byKid, registryJwks: { keys: keys.map((k) => k.publicJwk) } };
}

async function buildWorkloadKeys(parsed: KeyRingSecret): Promise<WorkloadKeys> {
  // One key in two roles would undo the separation: a registry token would verify at a vendor.
  // Every kid is checked to be its key's libtrust id on import, so one key has one kid.
  const credentialKids = new Set(parsed.keys.map((k) => k.kid));
  const shared = parsed.workload?.keys.find((k) => credentialKids.has(k.kid));
  if (shared) throw new NotConfigured({ detail: `EDGE_SIGNING_KEYS key ${shared.kid} is both a credential key and a workload key` });
  const rsaKeys = parsed.rsa ? await buildKeys(parsed.rsa, 'RS256', 'rsa.active kid is not in rsa.keys') : [];
  const workloadKeys = parsed.workload ? await buildKeys(parsed.workload, 'ES256', 'workload.active kid is not in workload.keys') : [];
  return {
    ...(workloadKeys[0] ? { workload: workloadKeys[0] } : {}),
    ...(rsaKeys[0] ? { rsa: rsaKeys[0] } : {}),
    jwks: { keys: [...workloadKeys, ...rsaKeys].map((k) => k.publicJwk) },
  };
}

/** The workload-token keys of one kind (ES256 `workload` or RS256 `rsa`), active first. */
async function buildKeys(ring: Ring<EcPrivateJwk | RsaPrivateJwk>, alg: SigningKey['alg'], missing: string): Promise<SigningKey[]> {
  const keys: SigningKey[] = [];
  for (const entry of ring.keys) keys.push(await importSigningKey(entry.kid, entry.privateJwk, alg));
  return activeFirst(keys, ring.active, missing);
}

/**
 * Whether a certificate (base64 DER) holds this public key. A certificate carries its subject's
 * SubjectPublicKeyInfo verbatim, as one DER element of its TBSCertificate, so the key's own SPKI
 * encoding must appear in it byte for byte: no X.509 parser needed in the Worker (it would add
 * an ASN.1 decoder to every cold start). `npm run keys -- check` validates certificates fully.
 */
async function certifies(certificateDer: string, publicKey: CryptoKey): Promise<boolean> {
  let der: Uint8Array;
  try {
    der = fromBase64(certificateDer);
  } catch {
    return false;
  }
  const spki = new Uint8Array((await crypto.subtle.exportKey('spki', publicKey)) as ArrayBuffer);
  // From each place the first byte occurs (indexOf, native), compare the rest: checked on a fresh isolate's first request.
  outer: for (let i = der.indexOf(spki[0]!); i !== -1 && i + spki.length <= der.length; i = der.indexOf(spki[0]!, i + 1)) {
    for (let j = 1; j < spki.length; j++) if (der[i + j] !== spki[j]) continue outer;
    return true;
  }
  return false;
}

/** Every kid is the key's libtrust id, RSA keys included: one naming rule for the whole JWKS. */
async function checkedKid(kid: string, publicKey: CryptoKey): Promise<string> {
  const id = await libtrustKeyId((await crypto.subtle.exportKey('spki', publicKey)) as ArrayBuffer);
  if (id !== kid) throw new NotConfigured({ detail: `EDGE_SIGNING_KEYS key ${kid} has libtrust id ${id}` });
  return id;
}

const IMPORT_PARAMS = {
  ES256: { name: 'ECDSA', namedCurve: 'P-256' },
  RS256: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
} as const;

/** One key of the ring: its public half (its kid checked), its private half, its public JWK (the private JWK without d, p, q, dp, dq, qi). */
async function importSigningKey(kid: string, privateJwk: JsonWebKey, alg: SigningKey['alg']): Promise<SigningKey> {
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...publicFields } = privateJwk;
  const publicKey = await crypto.subtle.importKey('jwk', publicFields, IMPORT_PARAMS[alg], true, ['verify']);
  const checked = await checkedKid(kid, publicKey);
  const privateKey = await crypto.subtle.importKey('jwk', privateJwk, IMPORT_PARAMS[alg], false, ['sign']);
  return { kid: checked, alg, privateKey, publicKey, publicJwk: { ...(publicFields as JWK), kid: checked, alg, use: 'sig' } };
}

/** The keys with the active one first (registries and verifiers that try keys in order find it at once). */
function activeFirst(keys: SigningKey[], activeKid: string, missing: string): SigningKey[] {
  const active = keys.find((k) => k.kid === activeKid);
  if (!active) throw new NotConfigured({ detail: `EDGE_SIGNING_KEYS ${missing}` });
  return [active, ...keys.filter((k) => k !== active)];
}
