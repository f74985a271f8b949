/** Request bodies: bounded before they are read, JSON parsed into `unknown` for zod. */
import { readAtMost, utf8 } from '../bytes';
import { BadRequest, BodyTooLarge } from '../errors';

/** A kubelet request is under 8 KiB (a token of ~1-2 KiB, an image, annotations). */
export const MAX_BODY_BYTES = 64 * 1024;

export async function readBody(req: Request, limit = MAX_BODY_BYTES): Promise<string> {
  const header = req.headers.get('content-length');
  const declared = header === null ? NaN : Number(header);
  if (declared > limit) throw new BodyTooLarge({ detail: `content-length ${declared}` });
  if (!req.body) return '';
  // Fast path: a declared length within the limit (the runtime enforces it) reads in one go.
  if (Number.isSafeInteger(declared)) return decodeUtf8(new Uint8Array(await req.arrayBuffer()));
  // No length (chunked): count as we read, and stop at the limit.
  const all = await readAtMost(req.body, limit);
  if (!all) throw new BodyTooLarge({ detail: `body over ${limit} bytes` });
  return decodeUtf8(all);
}

function decodeUtf8(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new BadRequest({ detail: 'body is not UTF-8' });
  }
}

/**
 * A JSON body, parsed. With a declared length within the limit (the runtime enforces it) the
 * runtime decodes it, at about half the CPU of reading the bytes and decoding them here
 * (bench/FINDINGS.md §8). It replaces bytes that are not UTF-8 with U+FFFD, so U+FFFD is
 * refused: every body the strict decoder refuses, and the raw character itself, which no kubelet
 * request, trust record or revocation holds (its JSON escape still reads). The token
 * endpoint's form keeps readBody: the runtime's text() costs three times as much for a form
 * content type.
 */
export async function readJsonBody(req: Request, limit = MAX_BODY_BYTES): Promise<unknown> {
  const declared = Number(req.headers.get('content-length') ?? NaN);
  const byRuntime = Number.isSafeInteger(declared) && declared >= 0 && declared <= limit && req.body !== null;
  const text = byRuntime ? await req.text() : await readBody(req, limit);
  if (text.includes('\uFFFD')) throw new BadRequest({ detail: 'body is not UTF-8 (or holds U+FFFD)' });
  try {
    return JSON.parse(text);
  } catch {
    throw new BadRequest({ detail: 'body is not valid JSON' });
  }
}
