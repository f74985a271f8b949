/**
 * Compact JWS (ES256, RS256) signing straight on WebCrypto, for the tokens the edge itself
 * issues (credentials, registry tokens, workload tokens for vendors). Header and claims are built by our own code, never taken
 * from a client, so jose's SignJWT builder (a structuredClone of the claims, a WeakMap entry
 * per token, per-setter validation) buys nothing on the hot path.
 *
 * Verification of tokens from elsewhere (service-account tokens, Access tokens) stays on jose.
 * The one token the edge verifies that it signed itself, its credential (on every registry
 * token request), is checked by `verifyOwnEs256` below: one alg, keys of our own ring, a
 * header of the exact shape we write; jose's generality (JWE, crit, b64, every alg) is what
 * the warm path paid for there.
 */
import { fromBase64, utf8 } from '../bytes';

const encoder = new TextEncoder();

type Base64Capable = Uint8Array & { toBase64?: (o: { alphabet: 'base64url'; omitPadding: boolean }) => string };

export function base64url(bytes: Uint8Array): string {
  const b = bytes as Base64Capable;
  if (typeof b.toBase64 === 'function') return b.toBase64({ alphabet: 'base64url', omitPadding: true });
  let binary = '';
  for (let i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]!);
  return btoa(binary).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
}

/** Encoded headers: a handful per key ring, the same on every call. */
const headers = new Map<string, string>();
const MAX_CACHED_HEADERS = 64;

const ALGORITHMS = {
  ES256: { name: 'ECDSA', hash: 'SHA-256' },
  RS256: { name: 'RSASSA-PKCS1-v1_5' },
} as const;

/** `base64url(header).base64url(claims).base64url(signature)`, signed with `key` by `alg`. */
export async function signJws(alg: keyof typeof ALGORITHMS, key: CryptoKey, header: Record<string, unknown>, claims: Record<string, unknown>): Promise<string> {
  const json = JSON.stringify({ ...header, alg });
  let encodedHeader = headers.get(json);
  if (encodedHeader === undefined) {
    encodedHeader = base64url(encoder.encode(json));
    if (headers.size < MAX_CACHED_HEADERS) headers.set(json, encodedHeader);
  }
  const input = `${encodedHeader}.${base64url(encoder.encode(JSON.stringify(claims)))}`;
  const signature = await crypto.subtle.sign(ALGORITHMS[alg], key, encoder.encode(input));
  return `${input}.${base64url(new Uint8Array(signature))}`;
}

/** ES256: what credentials and registry tokens are signed with. */
export function signEs256(key: CryptoKey, header: Record<string, unknown>, claims: Record<string, unknown>): Promise<string> {
  return signJws('ES256', key, header, claims);
}

type Base64Decoding = typeof Uint8Array & { fromBase64?: (s: string, o: { alphabet: 'base64url' }) => Uint8Array };
const nativeFromBase64 = (Uint8Array as Base64Decoding).fromBase64;

/**
 * Bytes of unpadded base64url; the caller has checked the alphabet. Throws on a bad length.
 * Loose about the unused bits of the last character, as jose is: what is signed is the
 * encoded text, so two spellings of one signature change nothing.
 */
function fromBase64url(text: string): Uint8Array {
  if (nativeFromBase64) return nativeFromBase64(text, { alphabet: 'base64url' });
  return fromBase64(text.replace(/-/g, '+').replace(/_/g, '/'));
}

/** Three non-empty base64url segments, nothing else (no padding, no whitespace). */
const COMPACT = /^([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)$/;

/** Why `verifyOwnEs256` refused a token; never includes the token. */
export class JwsRefused extends Error {
  constructor(readonly reason: 'malformed' | 'header' | 'key' | 'signature' | 'payload') {
    super(`JWS refused: ${reason}`);
  }
}

/** A protected header the edge writes: alg, kid, typ, strings all, nothing else. */
export interface OwnHeader {
  alg: 'ES256';
  kid: string;
  typ: string;
}

/**
 * Headers that verified, by their encoded form: a handful per key ring, the same on every
 * call. Only a header whose signature held is kept, so nobody else's headers can fill it.
 */
const verifiedHeaders = new Map<string, OwnHeader>();

function parseOwnHeader(encoded: string): OwnHeader {
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(fromBase64url(encoded)));
  } catch {
    throw new JwsRefused('header');
  }
  const { alg, kid, typ, ...rest } = (value ?? {}) as Record<string, unknown>;
  if (
    typeof value !== 'object' ||
    Array.isArray(value) ||
    alg !== 'ES256' ||
    typeof kid !== 'string' ||
    typeof typ !== 'string' ||
    Object.keys(rest).length > 0
  ) {
    throw new JwsRefused('header');
  }
  return Object.freeze({ alg, kid, typ });
}

/**
 * The header and payload of a compact ES256 JWS signed by one of our own keys, or JwsRefused.
 * `keyFor` picks the public key from the header (undefined: not ours; it must be a P-256
 * ECDSA key). The payload must be a JSON object; its claims are the caller's to check
 * (signature first: nothing of an unverified payload is parsed).
 */
export async function verifyOwnEs256(
  token: string,
  keyFor: (header: OwnHeader) => CryptoKey | undefined,
): Promise<{ header: OwnHeader; payload: Record<string, unknown> }> {
  const parts = COMPACT.exec(token);
  if (!parts) throw new JwsRefused('malformed');
  const encodedHeader = parts[1]!;
  const header = verifiedHeaders.get(encodedHeader) ?? parseOwnHeader(encodedHeader);
  const key = keyFor(header);
  if (!key) throw new JwsRefused('key');
  let signature: Uint8Array;
  try {
    signature = fromBase64url(parts[3]!);
  } catch {
    throw new JwsRefused('malformed');
  }
  const input = encoder.encode(token.slice(0, encodedHeader.length + 1 + parts[2]!.length));
  // WebCrypto throws (not false) for a key of another kind: a refusal all the same, never a 500.
  const valid = signature.length === 64 && (await crypto.subtle.verify(ALGORITHMS.ES256, key, signature, input).catch(() => false));
  if (!valid) throw new JwsRefused('signature');
  if (verifiedHeaders.size < MAX_CACHED_HEADERS) verifiedHeaders.set(encodedHeader, header);
  let payload: unknown;
  try {
    payload = JSON.parse(utf8.decode(fromBase64url(parts[2]!)));
  } catch {
    throw new JwsRefused('payload');
  }
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) throw new JwsRefused('payload');
  return { header, payload: payload as Record<string, unknown> };
}
