/**
 * Bytes, needed in several places: lowercase hex (fingerprints, ETags, cache keys, SigV4), base64
 * decoding (Basic credentials, certificates, cached values), strict UTF-8, and a stream read
 * with a byte limit (request bodies; with readResponseAtMost, issuer key documents and vendor
 * answers) that cancels the stream once past it, so a peer that sends without end stops and
 * the isolate stops growing.
 */

export function hex(bytes: ArrayBuffer | Uint8Array): string {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let out = '';
  for (const b of view) out += b.toString(16).padStart(2, '0');
  return out;
}

/**
 * The bytes of standard base64 (throws on anything else). A plain loop: Uint8Array.from(string,
 * mapFn) walks the string's iterator with a callback per character, ~40 µs for 1 KiB.
 */
export function fromBase64(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/**
 * The whole stream, or undefined when it holds more than `limit` bytes (the stream is then
 * cancelled). A stream that fails while read rejects, as the stream did; a null body is empty.
 */
export async function readAtMost(body: ReadableStream<Uint8Array> | null, limit: number): Promise<Uint8Array | undefined> {
  if (!body) return new Uint8Array(0);
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => undefined);
      return undefined;
    }
    chunks.push(value);
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    all.set(chunk, at);
    at += chunk.byteLength;
  }
  return all;
}

/**
 * A response's body, at most `limit` bytes: refused up front when its Content-Length says more,
 * and counted as it is read either way (the runtime decompresses, so the header bounds the
 * bytes on the wire, not what we would hold). The body is cancelled whenever it is not read to
 * the end. Never throws: each caller turns a problem into its own error.
 */
export async function readResponseAtMost(res: Response, limit: number): Promise<{ bytes: Uint8Array } | { problem: 'too large' | 'cut off' }> {
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (declared > limit) {
    await res.body?.cancel().catch(() => undefined);
    return { problem: 'too large' };
  }
  try {
    const bytes = await readAtMost(res.body, limit);
    return bytes ? { bytes } : { problem: 'too large' };
  } catch {
    await res.body?.cancel().catch(() => undefined);
    return { problem: 'cut off' };
  }
}

/** Strict UTF-8: throws on bytes that are not (request bodies, Basic credentials, key documents). One per isolate. */
export const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
