/**
 * Compact JWS (ES256, RS256) signing straight on WebCrypto, for the tokens the edge itself
 * issues (credentials, registry tokens, workload tokens for vendors). Header and claims are built by our own code, never taken
 * from a client, so jose's SignJWT builder (a structuredClone of the claims, a WeakMap entry
 * per token, per-setter validation) buys nothing on the hot path. Verification stays on jose.
 */
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
