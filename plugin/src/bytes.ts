/** Reads an async stream of chunks into one buffer, refusing to hold more than `max` bytes. */
export async function readBounded(source: AsyncIterable<Uint8Array | string>, max: number, tooLarge: () => Error): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  const encoder = new TextEncoder();
  // Leaving the loop early (throw) closes the stream: nothing more is read.
  for await (const chunk of source) {
    const bytes = typeof chunk === 'string' ? encoder.encode(chunk) : chunk;
    total += bytes.byteLength;
    if (total > max) throw tooLarge();
    chunks.push(bytes);
  }
  const all = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.byteLength;
  }
  return all;
}
