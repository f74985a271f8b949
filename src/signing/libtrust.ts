/**
 * The libtrust key id that docker/distribution 2.x expects in a token's `kid` header:
 * SHA-256 of the DER SubjectPublicKeyInfo, first 240 bits, base32 without padding,
 * in 12 groups of 4 characters joined by ':'. distribution 2.8 rejects RFC 7638
 * thumbprints, so every key this edge signs with is named this way.
 */
const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function base32(bytes: Uint8Array): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(buffer << (5 - bits)) & 31];
  return out;
}

/** `spki` is the DER encoding of the public key's SubjectPublicKeyInfo. */
export async function libtrustKeyId(spki: BufferSource): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', spki));
  const encoded = base32(digest.subarray(0, 30)); // 240 bits = 48 base32 characters
  return encoded.match(/.{4}/g)!.join(':');
}
