/**
 * Service-account token verification: pure. Token + the issuer's trust record + a key
 * resolver + `now` in; the verified workload identity out, or an EdgeError that says
 * exactly which check failed. No env, no fetch, no clock read.
 *
 * Checks, in order: structure, algorithm (the record's asymmetric allow-list; never
 * `none` or HS*), signature (keys only from the record's key source; `jku`, `x5u` and
 * embedded `jwk` headers are ignored), `iss`, `aud`, `exp`/`nbf`/`iat` with 60 s skew,
 * total lifetime, and the Kubernetes claims (`sub` agrees with `kubernetes.io`).
 */
import { decodeJwt, decodeProtectedHeader, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import * as joseErrors from 'jose/errors';
import * as z from '../zod';
import { deferred } from '../zod';
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

const ref = deferred(() => z.object({ name: z.string().check(z.minLength(1), z.maxLength(253)), uid: z.string().check(z.minLength(1), z.maxLength(64)) }));
const KubernetesClaimSchema = deferred(() =>
  z.object({
    namespace: z.string().check(z.minLength(1), z.maxLength(63)),
    serviceaccount: ref,
    pod: z.optional(ref),
    node: z.optional(ref),
  }),
);
const SUB_RE = /^system:serviceaccount:([^:]+):([^:]+)$/;

/** Reads `iss` without verifying anything, to find the trust record. */
export function peekIssuer(token: string): string {
  if (token.length > MAX_TOKEN_LENGTH) throw new TokenMalformed({ detail: 'token too long' });
  let payload: JWTPayload;
  try {
    payload = decodeJwt(token);
  } catch {
    throw new TokenMalformed({ detail: 'not a compact JWT' });
  }
  if (typeof payload.iss !== 'string' || payload.iss.length === 0) throw new TokenMalformed({ detail: 'no iss claim' });
  // A lone surrogate (JSON's "\ud800") cannot be encoded into a KV key or a URL: no issuer has one.
  if (!payload.iss.isWellFormed()) throw new TokenMalformed({ detail: 'iss is not well-formed Unicode' });
  return payload.iss;
}

/** For a refusal's detail only: the header's alg, printable and short. */
function algOf(token: string): string {
  try {
    const alg = decodeProtectedHeader(token).alg;
    return typeof alg === 'string' ? alg.replace(/[^\x21-\x7e]/g, '?').slice(0, 16) : 'missing';
  } catch {
    return 'unreadable';
  }
}

function mapJoseError(err: unknown, token: string): EdgeError {
  if (err instanceof EdgeError) return err;
  if (err instanceof joseErrors.JWTExpired) return new TokenExpired();
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    switch (err.claim) {
      case 'aud':
        return new AudienceMismatch({ detail: err.reason });
      case 'iss':
        return new UnknownIssuer({ detail: 'iss mismatch after lookup' });
      case 'nbf':
        return new TokenNotYetValid({ detail: 'nbf in the future' });
      case 'iat':
        return err.reason === 'check_failed' ? new TokenNotYetValid({ detail: 'iat in the future' }) : new TokenMalformed({ detail: 'bad iat' });
      default:
        return new TokenMalformed({ detail: `claim ${err.claim}: ${err.reason}` });
    }
  }
  if (err instanceof joseErrors.JOSEAlgNotAllowed) return new AlgorithmNotAllowed({ detail: `alg ${algOf(token)}` });
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return new BadSignature();
  if (err instanceof joseErrors.JWKSNoMatchingKey) return new UnknownKey();
  if (err instanceof joseErrors.JOSEError) return new TokenMalformed({ detail: err.code });
  return new TokenMalformed({ detail: 'unverifiable token' });
}

export async function verifyServiceAccountToken(
  token: string,
  record: TokenExpectations,
  getKey: JWTVerifyGetKey,
  /** Seconds since the epoch. */
  now: number,
): Promise<Workload> {
  if (token.length > MAX_TOKEN_LENGTH) throw new TokenMalformed({ detail: 'token too long' });
  let payload: JWTPayload;
  try {
    // jose refuses an alg outside the record's list before it asks getKey for a key.
    ({ payload } = await jwtVerify(token, getKey, {
      algorithms: record.algorithms,
      issuer: record.issuer,
      audience: record.audiences,
      currentDate: new Date(now * 1000),
      clockTolerance: CLOCK_SKEW,
      requiredClaims: ['exp', 'iat', 'sub'],
    }));
  } catch (err) {
    throw mapJoseError(err, token);
  }

  const { exp, iat, nbf } = payload as { exp: number; iat: number; nbf?: number };
  if (iat > now + CLOCK_SKEW) throw new TokenNotYetValid({ detail: 'iat in the future' });
  if (exp - Math.min(iat, nbf ?? iat) > record.maxTokenLifetime) throw new TokenLifetimeTooLong({ detail: `lifetime ${exp - iat}s` });

  const k8s = KubernetesClaimSchema.safeParse(payload['kubernetes.io']);
  if (!k8s.success) throw new ClaimsInvalid({ detail: 'kubernetes.io claim missing or malformed' });
  const sub = SUB_RE.exec(String(payload.sub));
  if (!sub) throw new ClaimsInvalid({ detail: 'sub is not system:serviceaccount:<ns>:<name>' });
  const claim = k8s.data;
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
