/**
 * Service-account token verification: pure. Token + the issuer's trust record + a key
 * resolver + `now` in; the verified workload identity out, or an EdgeError that says
 * exactly which check failed. No env, no fetch, no clock read.
 *
 * Checks, in order: structure, algorithm (the record's asymmetric allow-list; never
 * `none` or HS*), signature (keys only from the record's key source; `jku`, `x5u` and
 * embedded `jwk` headers are ignored): jose's compactVerify. Then `iss`, `aud`,
 * `exp`/`nbf`/`iat` with 60 s skew (as jose's jwtVerify checks them), total lifetime, and
 * the Kubernetes claims (`sub` agrees with `kubernetes.io`): here, on claims parsed once.
 */
import type { CompactVerifyGetKey, JWTPayload, JWTVerifyGetKey } from 'jose';
import { decodeJwt, decodeProtectedHeader } from './decode';
import { claimProblem, verifyJwtSignature, type ClaimProblem } from './jwt';
import * as joseErrors from 'jose/errors';
import {
  AlgorithmNotAllowed,
  AudienceMismatch,
  BadSignature,
  ClaimsInvalid,
  EdgeError,
  TokenExpired,
  TokenLifetimeTooLong,
  TokenMalformed,
  TokenNotYetValid,
  UnknownIssuer,
  UnknownKey,
} from '../errors';
import type { Workload } from './workload';
import { isObject } from '../shape';

/** Clock skew tolerated between the cluster and the edge, seconds. */
export const CLOCK_SKEW = 60;
/** A service-account token is a few KiB; anything far larger is not one. */
const MAX_TOKEN_LENGTH = 16 * 1024;

/** What a cluster's trust record expects of its tokens (a TrustRecord is one). */
export interface TokenExpectations {
  /** The record's name: the workload's `record`. */
  name: string;
  issuer: string;
  audiences: string[];
  /** Asymmetric JWS algorithms only; the record's schema guarantees it. */
  algorithms: string[];
  /** Longest accepted exp - iat, seconds. */
  maxTokenLifetime: number;
}

interface Ref {
  name: string;
  uid: string;
}
interface KubernetesClaim {
  namespace: string;
  serviceaccount: Ref;
  pod?: Ref;
  node?: Ref;
}

const text = (v: unknown, max: number): v is string => typeof v === 'string' && v.length >= 1 && v.length <= max;
/** `{ name, uid }` of a service account, pod or node: a name of at most 253 characters, a uid of at most 64. */
const ref = (v: unknown): Ref | undefined => (isObject(v) && text(v.name, 253) && text(v.uid, 64) ? { name: v.name, uid: v.uid } : undefined);

/**
 * The token's `kubernetes.io` claim, its known fields only, or undefined if malformed. By hand:
 * it is checked on a fresh isolate's first request, where a schema's first run costs more
 * than the check (bench/FINDINGS.md, 11).
 */
export function kubernetesClaim(v: unknown): KubernetesClaim | undefined {
  if (!isObject(v) || !text(v.namespace, 63)) return undefined;
  const serviceaccount = ref(v.serviceaccount);
  const pod = v.pod === undefined ? undefined : ref(v.pod);
  const node = v.node === undefined ? undefined : ref(v.node);
  if (!serviceaccount || (v.pod !== undefined && !pod) || (v.node !== undefined && !node)) return undefined;
  return { namespace: v.namespace, serviceaccount, ...(pod ? { pod } : {}), ...(node ? { node } : {}) };
}

const SUB_RE = /^system:serviceaccount:([^:]+):([^:]+)$/;
const REQUIRED_CLAIMS = ['exp', 'iat', 'sub'] as const;

/**
 * A token as read before anything of it is verified: its issuer, to find the trust record, and
 * its claims, parsed once. verifyServiceAccountToken checks these claims only after the
 * signature over this same token holds (the payload segment they were decoded from is the one
 * signed), so the exchange decodes the payload once, not twice.
 */
export interface UnverifiedToken {
  readonly token: string;
  readonly issuer: string;
  readonly claims: JWTPayload;
}

/** Reads `iss` and the claims without verifying anything. Throws TokenMalformed. */
export function readToken(token: string): UnverifiedToken {
  if (token.length > MAX_TOKEN_LENGTH) throw new TokenMalformed({ detail: 'token too long' });
  let claims: JWTPayload;
  try {
    claims = decodeJwt(token);
  } catch {
    throw new TokenMalformed({ detail: 'not a compact JWT' });
  }
  const { iss } = claims;
  if (typeof iss !== 'string' || iss.length === 0) throw new TokenMalformed({ detail: 'no iss claim' });
  // A lone surrogate (JSON's "\ud800") cannot be encoded into a KV key or a URL: no issuer has one.
  if (!iss.isWellFormed()) throw new TokenMalformed({ detail: 'iss is not well-formed Unicode' });
  const read = Object.freeze({ token, issuer: iss, claims: Object.freeze(claims) });
  readHere.add(read);
  return read;
}

/** What readToken made: only those are trusted to hold the claims of their own token. */
const readHere = new WeakSet<UnverifiedToken>();

/** For a refusal's detail only: the header's alg, printable and short. */
function algOf(token: string): string {
  try {
    const { alg } = decodeProtectedHeader(token);
    return typeof alg === 'string' ? alg.replace(/[^\x21-\x7e]/g, '?').slice(0, 16) : 'missing';
  } catch {
    return 'unreadable';
  }
}

/** jose's refusals of the JWS (the claims are checked by identity/jwt.ts claimProblem). */
function mapJoseError(err: unknown, token: string): EdgeError {
  if (err instanceof EdgeError) return err;
  if (err instanceof joseErrors.JOSEAlgNotAllowed) return new AlgorithmNotAllowed({ detail: `alg ${algOf(token)}` });
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return new BadSignature();
  if (err instanceof joseErrors.JWKSNoMatchingKey) return new UnknownKey();
  if (err instanceof joseErrors.JOSEError) return new TokenMalformed({ detail: err.code });
  return new TokenMalformed({ detail: 'unverifiable token' });
}

/** A claim problem as the exchange reports it. */
function claimError(problem: ClaimProblem): EdgeError {
  switch (problem) {
    case 'iss':
      return new UnknownIssuer({ detail: 'iss mismatch after lookup' });
    case 'aud':
    case 'aud missing':
      return new AudienceMismatch({ detail: problem });
    case 'nbf':
      return new TokenNotYetValid({ detail: 'nbf in the future' });
    case 'expired':
      return new TokenExpired();
    default:
      return new TokenMalformed({ detail: `claim ${problem}` });
  }
}

/**
 * Verifies a service-account token against its issuer's record. jose checks the JWS: its
 * structure, `crit`, the alg against the record's list (before it asks getKey for a key) and
 * the signature. The claims are checked here, on the payload `readToken` parsed (jose's
 * jwtVerify would decode and parse it a second time).
 */
export async function verifyServiceAccountToken(
  token: string | UnverifiedToken,
  record: TokenExpectations,
  getKey: JWTVerifyGetKey,
  /** Seconds since the epoch. */
  now: number,
): Promise<Workload> {
  const read = typeof token === 'string' || !readHere.has(token) ? readToken(typeof token === 'string' ? token : token.token) : token;
  try {
    await verifyJwtSignature(read.token, getKey as CompactVerifyGetKey, record.algorithms);
  } catch (err) {
    throw mapJoseError(err, read.token);
  }
  const payload = read.claims;
  const problem = claimProblem(payload, { issuer: record.issuer, audiences: record.audiences, required: REQUIRED_CLAIMS, skew: CLOCK_SKEW }, now);
  if (problem) throw claimError(problem);
  // Present and numbers (claimProblem); the edge's own two checks on top of jwtVerify's:
  const { exp, iat, nbf } = payload as { exp: number; iat: number; nbf?: number };
  if (iat > now + CLOCK_SKEW) throw new TokenNotYetValid({ detail: 'iat in the future' });
  if (exp - Math.min(iat, nbf ?? iat) > record.maxTokenLifetime) throw new TokenLifetimeTooLong({ detail: `lifetime ${exp - iat}s` });

  const claim = kubernetesClaim(payload['kubernetes.io']);
  if (!claim) throw new ClaimsInvalid({ detail: 'kubernetes.io claim missing or malformed' });
  const sub = SUB_RE.exec(String(payload.sub));
  if (!sub) throw new ClaimsInvalid({ detail: 'sub is not system:serviceaccount:<ns>:<name>' });
  if (sub[1] !== claim.namespace || sub[2] !== claim.serviceaccount.name) throw new ClaimsInvalid({ detail: 'sub disagrees with kubernetes.io' });

  return {
    cluster: record.issuer,
    record: record.name,
    namespace: claim.namespace,
    serviceAccount: claim.serviceaccount,
    ...(claim.pod ? { pod: claim.pod } : {}),
    ...(claim.node ? { node: claim.node } : {}),
    expiresAt: exp,
  };
}
