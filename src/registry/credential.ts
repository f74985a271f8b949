/**
 * The credential the edge hands the kubelet: Docker basic auth whose password is a
 * compact JWS signed by the edge's active key. It carries who the workload is (cluster
 * issuer, namespace, service account name and uid, pod) and what it may do (the
 * registry, repository patterns and actions of the rule that matched). The registry
 * token endpoint verifies it and intersects requested scopes with its grants.
 *
 * It must never pass for a registry bearer token signed by the same key: registries check
 * `iss` and `aud` (not `typ`), so its `aud` is this edge's token endpoint (CREDENTIAL_AUDIENCE),
 * never the registry's service, which it carries as `ecp.service` instead. Its `typ` header
 * keeps registry tokens from passing for credentials in turn.
 */
import { CredentialExpired, CredentialInvalid } from '../errors';
import type { Workload } from '../identity/workload';
import type { Action, Grant } from '../policy/grant';
import type { HeldCredential } from '../policy/evaluate';
import { JwsRefused, signEs256, verifyOwnEs256 } from '../signing/jws';
import { type CredentialKeys, SIGNING_ALG } from '../signing/keys';
import { isObject } from '../shape';

export const CREDENTIAL_TYP = 'ecp-credential+jwt';
/** The credential's audience: the edge's own token endpoint, so no registry accepts it as a bearer token. */
export const CREDENTIAL_AUDIENCE = 'urn:edge-credential-provider:token-endpoint';
/**
 * Seconds a credential's `nbf` may be ahead of this location's clock. Credentials are minted
 * and used at whichever Cloudflare location serves each request; with no allowance, one minted
 * where the clock reads a second later and used at once would be refused, and the pull with it.
 * `exp` has none: the kubelet stops using a credential well before it.
 */
export const CREDENTIAL_NBF_SKEW = 60;

interface NameUid {
  name: string;
  uid: string;
}

/** The wire format (claims) of a credential. `ecp.serviceaccount` keeps the Kubernetes claim's spelling. */
interface CredentialClaims {
  iss: string;
  sub: string;
  aud: string;
  exp: number;
  /** Every credential the edge mints has one; optional as in RFC 7519. */
  nbf?: number;
  iat: number;
  jti: string;
  ecp: {
    /** The cluster's issuer. */
    cluster: string;
    namespace: string;
    serviceaccount: NameUid;
    pod?: NameUid;
    /** Registry host[:port] the grants apply to. */
    registry: string;
    /** The registry's token-auth `service` name; /token only serves this service. */
    service: string;
    /** Name of the trust rule that granted this credential: /token re-checks it. */
    rule: string;
    grants: Grant[];
  };
}

const isString = (v: unknown): v is string => typeof v === 'string';
const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isNameUid = (v: unknown): v is NameUid => isObject(v) && isString(v.name) && isString(v.uid);
const isList = <T>(v: unknown, item: (x: unknown) => x is T): v is T[] => Array.isArray(v) && v.length > 0 && v.every(item);
const isGrant = (v: unknown): v is Grant =>
  isObject(v) && isList(v.repositories, (r): r is string => isString(r) && r.length > 0) && isList(v.actions, (a): a is Action => a === 'pull' || a === 'push');

/**
 * Whether a verified credential's claims have the shape the edge mints. By hand: the registry's
 * first token request on a fresh isolate checks it, where a schema's first run would cost more
 * than the request (bench/FINDINGS.md, 11).
 */
export function isCredentialClaims(p: unknown): p is CredentialClaims {
  if (!isObject(p) || !isString(p.iss) || !isString(p.sub) || !isString(p.aud) || !isNumber(p.exp) || !isNumber(p.iat) || !isString(p.jti)) return false;
  if (p.nbf !== undefined && !isNumber(p.nbf)) return false;
  const e = p.ecp;
  return (
    isObject(e) &&
    isString(e.cluster) &&
    isString(e.namespace) &&
    isNameUid(e.serviceaccount) &&
    (e.pod === undefined || isNameUid(e.pod)) &&
    isString(e.registry) &&
    isString(e.service) &&
    isString(e.rule) &&
    isList(e.grants, isGrant)
  );
}

export interface MintInput {
  edgeIssuer: string;
  workload: Workload;
  registry: string;
  /** The registry's token-auth `service` name (`ecp.service`). */
  service: string;
  rule: string;
  grants: Grant[];
  /** Lifetime in seconds. */
  ttl: number;
  /** Current time, in seconds since the epoch. */
  now: number;
}

export interface MintedCredential {
  username: string;
  password: string;
  /** The credential's id (`jti`): logged by the exchange, revocable through the admin API. */
  id: string;
  expiresAt: number;
}

/** Names the workload; never contains ':' (Basic auth splits on the first one). */
export function credentialUsername(w: Pick<Workload, 'namespace' | 'serviceAccount'>): string {
  return `${w.namespace}/${w.serviceAccount.name}`;
}

export async function mintCredential(ring: CredentialKeys, input: MintInput): Promise<MintedCredential> {
  const { workload: w, now } = input;
  const exp = now + input.ttl;
  const jti = crypto.randomUUID();
  const ecp: CredentialClaims['ecp'] = {
    cluster: w.cluster,
    namespace: w.namespace,
    serviceaccount: w.serviceAccount,
    ...(w.pod ? { pod: w.pod } : {}),
    registry: input.registry,
    service: input.service,
    rule: input.rule,
    grants: input.grants,
  };
  const password = await signEs256(ring.active.privateKey, { alg: SIGNING_ALG, kid: ring.active.kid, typ: CREDENTIAL_TYP }, {
    ecp,
    iss: input.edgeIssuer,
    sub: `system:serviceaccount:${w.namespace}:${w.serviceAccount.name}`,
    aud: CREDENTIAL_AUDIENCE,
    iat: now,
    nbf: now,
    exp,
    jti,
  } satisfies CredentialClaims);
  return { username: credentialUsername(w), password, id: jti, expiresAt: exp };
}

/** A verified credential: what the registry token endpoint re-checks and grants from. */
export interface VerifiedCredential extends HeldCredential {
  /** Seconds since the epoch. */
  expiresAt: number;
}

export interface VerifyCredentialOptions {
  edgeIssuer: string;
  /** The `service` the client asked a token for; must equal the credential's `ecp.service`. */
  service: string;
  /** Current time, in seconds since the epoch. */
  now: number;
}

/**
 * Verifies a password as one of this edge's credentials. Throws CredentialInvalid/Expired.
 * The signature (ES256, a kid of our ring, our header: signing/jws.ts `verifyOwnEs256`) comes
 * first; then the claims: their shape, `typ`, `iss`, `aud`, `exp` (no clock tolerance) and
 * `nbf` (CREDENTIAL_NBF_SKEW), and the service asked for.
 */
export async function verifyCredential(ring: CredentialKeys, password: string, opts: VerifyCredentialOptions): Promise<VerifiedCredential> {
  let verified: Awaited<ReturnType<typeof verifyOwnEs256>>;
  try {
    verified = await verifyOwnEs256(password, (header) => ring.byKid.get(header.kid)?.publicKey);
  } catch (err) {
    if (err instanceof JwsRefused)
      throw new CredentialInvalid({ detail: `credential rejected: ${err.reason === 'key' ? 'kid is not one of ours' : err.reason}` });
    throw err;
  }
  if (verified.header.typ !== CREDENTIAL_TYP) throw new CredentialInvalid({ detail: 'credential rejected: typ' });
  const claims = verified.payload;
  if (!isCredentialClaims(claims)) throw new CredentialInvalid({ detail: 'credential claims have the wrong shape' });
  const { iss, aud, exp, nbf, ecp, jti, iat } = claims;
  if (iss !== opts.edgeIssuer) throw new CredentialInvalid({ detail: 'credential rejected: iss' });
  if (aud !== CREDENTIAL_AUDIENCE) throw new CredentialInvalid({ detail: 'credential rejected: aud' });
  if (exp <= opts.now) throw new CredentialExpired({ detail: 'credential expired' });
  // Minted by another location whose clock is a second ahead, and used at once: not refused.
  if (nbf !== undefined && nbf > opts.now + CREDENTIAL_NBF_SKEW) throw new CredentialInvalid({ detail: 'credential rejected: nbf' });
  if (ecp.service !== opts.service) throw new CredentialInvalid({ detail: 'credential is for another service' });
  return {
    cluster: ecp.cluster,
    namespace: ecp.namespace,
    serviceAccount: ecp.serviceaccount,
    registry: ecp.registry,
    service: ecp.service,
    rule: ecp.rule,
    grants: ecp.grants,
    jti,
    issuedAt: iat,
    expiresAt: exp,
  };
}
