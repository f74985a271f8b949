/** Request bodies: bounded before they are read, JSON parsed into `unknown` for zod. */
import { readAtMost } from '../bytes';
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

/** Strict UTF-8 (throws on bad bytes), one per isolate. */
export const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

function decodeUtf8(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new BadRequest({ detail: 'body is not UTF-8' });
  }
}

export async function readJsonBody(req: Request, limit = MAX_BODY_BYTES): Promise<unknown> {
  const text = await readBody(req, limit);
  try {
    return JSON.parse(text);
  } catch {
    throw new BadRequest({ detail: 'body is not valid JSON' });
  }
}
