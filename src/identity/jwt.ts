/**
 * JWTs from elsewhere (clusters' service-account tokens, Cloudflare Access tokens), verified in
 * two parts: jose's `compactVerify` for the JWS (structure, `crit`, the alg allow-list, the
 * key, the signature), then the registered claims (RFC 7519 §4.1), checked here on the payload
 * the caller parsed once, as jose's `jwtVerify` checks them. `jwtVerify` would parse the payload
 * a second time on the exchange's hot path, and bundles a general claims validator (typ,
 * maxTokenAge, duration strings) nothing here uses. Pure: `now` is passed in.
 */
import { compactVerify, type CompactVerifyGetKey, type JWTPayload } from 'jose';
import { JWTInvalid } from 'jose/errors';

/** What a token's registered claims must satisfy. */
export interface ClaimExpectations {
  issuer: string;
  /** `aud` (a string or a list) must hold one of these. */
  audiences: readonly string[];
  /** Claims that must be present. */
  required: readonly ('exp' | 'iat' | 'sub')[];
  /** Seconds of clock skew allowed on `exp` and `nbf`. */
  skew: number;
}

/** Which check failed: jwtVerify's order, one name per outcome the callers map to an error. */
export type ClaimProblem =
  | 'exp missing'
  | 'iat missing'
  | 'sub missing'
  | 'iss'
  | 'aud missing'
  | 'aud'
  | 'iat invalid'
  | 'nbf invalid'
  | 'nbf'
  | 'exp invalid'
  | 'expired';

/** The first registered claim that fails, or undefined. `now`: seconds since the epoch. */
export function claimProblem(claims: JWTPayload, expect: ClaimExpectations, now: number): ClaimProblem | undefined {
  for (const name of expect.required) if (claims[name] === undefined) return `${name} missing`;
  if (claims.iss !== expect.issuer) return 'iss';
  const { aud, iat, nbf, exp } = claims;
  const audiences = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud : [];
  if (!audiences.some((a) => expect.audiences.includes(a))) return aud === undefined ? 'aud missing' : 'aud';
  if (iat !== undefined && typeof iat !== 'number') return 'iat invalid';
  if (nbf !== undefined) {
    if (typeof nbf !== 'number') return 'nbf invalid';
    if (nbf > now + expect.skew) return 'nbf';
  }
  if (exp !== undefined) {
    if (typeof exp !== 'number') return 'exp invalid';
    if (exp <= now - expect.skew) return 'expired';
  }
  return undefined;
}

/**
 * The JWS checks of `jwtVerify`: jose's `compactVerify` (it refuses an alg outside `algorithms`
 * before it asks getKey for a key), and a payload that is base64url-encoded, as a JWT's always
 * is. Throws jose's errors.
 */
export async function verifyJwtSignature(token: string, getKey: CompactVerifyGetKey, algorithms: string[]): Promise<void> {
  const { protectedHeader } = await compactVerify(token, getKey, { algorithms });
  if (protectedHeader.b64 === false) throw new JWTInvalid('a JWT payload is always base64url-encoded');
}
