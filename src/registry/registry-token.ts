/**
 * The registry bearer token (distribution docs/spec/auth/jwt.md), signed by the edge's
 * active key, in the one shape that distribution 2.8 and 3.x both accept:
 *
 *   header  { alg: ES256, typ: JWT, kid: <libtrust key id>, x5c: [<key's certificate>] }
 *   claims  { iss, sub, aud: "<service>", exp, nbf, iat, jti, access: [{type, name, actions}] }
 *
 * - `kid` is the libtrust id: 2.x looks keys of its rootcertbundle up by it (an RFC 7638
 *   thumbprint is not found there).
 * - `x5c` (when the key ring has a certificate) is checked first by both versions against
 *   the rootcertbundle. 3.x configured with `jwks` alone rejects a token carrying `x5c`
 *   it cannot chain, so such a deployment must also set rootcertbundle (docs/registry.md).
 * - `aud` is a string: 2.8 decodes it into a Go string and rejects an array.
 * Pure: the caller passes the key ring and `now`.
 */
import { signEs256 } from '../signing/jws';
import { type CredentialKeys, SIGNING_ALG } from '../signing/keys';
import type { Access } from './scope';

/**
 * Lifetime of a registry token in seconds, 300 (Docker Hub's choice). Each registry request
 * is checked on arrival, so a long layer upload does not need a longer token; clients fetch
 * a new one when the registry answers 401.
 */
export const REGISTRY_TOKEN_TTL = 300;

export interface RegistryTokenInput {
  /** `iss`; the registry's `auth.token.issuer`. */
  issuer: string;
  /** `aud`; the registry's `auth.token.service`. */
  service: string;
  /** `sub`: who the registry logs as the user. */
  subject: string;
  access: Access[];
  /** Current time, seconds since the epoch. */
  now: number;
  /** Seconds since the epoch after which the token must not be valid: the credential's `exp`. */
  notAfter: number;
}

export interface RegistryToken {
  token: string;
  /** Seconds since the epoch. */
  issuedAt: number;
  /** Seconds since the epoch. */
  expiresAt: number;
  /** `expiresAt - issuedAt`: what the response's `expires_in` says. */
  expiresIn: number;
}

/**
 * When a token expires: REGISTRY_TOKEN_TTL from now, but never after the credential it was
 * exchanged for. With less than 60 s left on the credential the token still lives only
 * until the credential's `exp`, and `expires_in` says so truthfully, even below the spec's
 * 60 s: refusing would break credentials minted at the 60 s minimum lifetime, which the
 * kubelet reuses for 30 s; clients that assume 60 s (Docker, containers/image clamp to it)
 * stay within distribution's 60 s leeway on `exp`. Never called with notAfter <= now
 * (verifyCredential refuses an expired credential first).
 */
export function tokenExpiry(now: number, notAfter: number): number {
  return Math.min(now + REGISTRY_TOKEN_TTL, notAfter);
}

export async function signRegistryToken(ring: CredentialKeys, input: RegistryTokenInput): Promise<RegistryToken> {
  const { active } = ring;
  const expiresAt = tokenExpiry(input.now, input.notAfter);
  const token = await signEs256(
    active.privateKey,
    { alg: SIGNING_ALG, typ: 'JWT', kid: active.kid, ...(active.certificate ? { x5c: [active.certificate] } : {}) },
    {
      access: input.access,
      iss: input.issuer,
      sub: input.subject,
      aud: input.service, // a string, never an array: distribution 2.8 rejects arrays
      iat: input.now,
      nbf: input.now,
      exp: expiresAt,
      jti: crypto.randomUUID(),
    },
  );
  return { token, issuedAt: input.now, expiresAt, expiresIn: expiresAt - input.now };
}
