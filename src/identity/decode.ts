/**
 * A compact JWT's header and payload read without verifying anything, as jose's `decodeJwt` and
 * `decodeProtectedHeader` read them (the same strict base64url and UTF-8, a JSON object or a
 * refusal), and the RFC 7638 thumbprint of a public JWK, as its `calculateJwkThumbprint`
 * computes it. jose's general versions (JWE and JSON serialisations, CryptoKey input, every key
 * type) cost 2.7 KB of the bundle for what the edge reads of them; test/unit/identity/decode.test.ts
 * runs both over one table.
 */
import { base64url, type JWK, type JWTPayload, type ProtectedHeaderParameters } from 'jose';
import { JWTInvalid } from 'jose/errors';
import { utf8 } from '../bytes';
import { base64url as encodeBase64url } from '../signing/jws';
import { isObject } from '../shape';

/** A JSON object (not an array, not null): what a JWT's header and payload must be. */

/** One base64url segment as a JSON object; JWTInvalid (code ERR_JWT_INVALID, as jose's) otherwise. */
function segment(encoded: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(base64url.decode(encoded)));
  } catch {
    throw new JWTInvalid('Invalid JWT');
  }
  if (!isObject(value)) throw new JWTInvalid('Invalid JWT');
  return value;
}

/** The payload of a compact JWS (three segments), unverified. */
export function decodeJwt(token: string): JWTPayload {
  const parts = token.split('.');
  if (parts.length !== 3) throw new JWTInvalid('Invalid JWT');
  return segment(parts[1]!);
}

/** The protected header of a compact JWS or JWE (three or five segments), unverified. */
export function decodeProtectedHeader(token: string): ProtectedHeaderParameters {
  const parts = token.split('.');
  if (parts.length !== 3 && parts.length !== 5) throw new JWTInvalid('Invalid JWT');
  return segment(parts[0]!);
}

/** The members RFC 7638 hashes, in its (lexicographic) order, per key type. */
const THUMBPRINT_MEMBERS: Record<string, string[]> = { RSA: ['e', 'kty', 'n'], EC: ['crv', 'kty', 'x', 'y'], OKP: ['crv', 'kty', 'x'] };

/** The SHA-256 thumbprint (base64url) of an RSA, EC or OKP JWK; undefined for another type or a missing member. */
export async function jwkThumbprint(jwk: JWK): Promise<string | undefined> {
  const fields = jwk as Record<string, unknown>;
  const members = Object.hasOwn(THUMBPRINT_MEMBERS, String(fields.kty)) ? THUMBPRINT_MEMBERS[String(fields.kty)]! : [];
  if (!members.length || members.some((m) => typeof fields[m] !== 'string' || !fields[m])) return undefined;
  const json = JSON.stringify(Object.fromEntries(members.map((m) => [m, fields[m]])));
  return encodeBase64url(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(json))));
}
