import { describe, expect, it } from 'vitest';
import { MAX_BODY_BYTES, readBody, readJsonBody } from '../../../src/routes/body';

function chunked(parts: Uint8Array[]): Request {
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const p of parts) controller.enqueue(p);
      controller.close();
    },
  });
  return new Request('https://edge.test/', { method: 'POST', body: stream, duplex: 'half' } as RequestInit);
}

describe('readBody', () => {
  it('reads a body with a declared length', async () => {
    expect(await readBody(new Request('https://edge.test/', { method: 'POST', body: '{"a":1}' }))).toBe('{"a":1}');
  });

  it('reads a chunked body without a declared length', async () => {
    const enc = new TextEncoder();
    expect(await readBody(chunked([enc.encode('{"a":'), enc.encode('1}')]))).toBe('{"a":1}');
  });

  it('stops a chunked body at the limit with ERR_BODY_TOO_LARGE', async () => {
    const part = new Uint8Array(16 * 1024).fill(0x61);
    await expect(readBody(chunked([part, part, part, part, part]))).rejects.toMatchObject({ code: 'ERR_BODY_TOO_LARGE', status: 413 });
    expect(MAX_BODY_BYTES).toBe(64 * 1024);
  });

  it('refuses a declared length over the limit before reading', async () => {
    const req = new Request('https://edge.test/', { method: 'POST', body: 'x'.repeat(MAX_BODY_BYTES + 1) });
    await expect(readBody(req)).rejects.toMatchObject({ code: 'ERR_BODY_TOO_LARGE' });
  });

  it('refuses bytes that are not UTF-8', async () => {
    await expect(readBody(chunked([new Uint8Array([0xff, 0xfe])]))).rejects.toMatchObject({ code: 'ERR_BAD_REQUEST' });
  });
});

describe('readJsonBody', () => {
  const declared = (body: Uint8Array | string) =>
    new Request('https://edge.test/', {
      method: 'POST',
      headers: { 'content-length': String(typeof body === 'string' ? new TextEncoder().encode(body).length : body.length) },
      body,
    });

  it.each([
    ['ASCII', '{"a":"b"}', { a: 'b' }],
    ['UTF-8 beyond ASCII', '{"a":"é€😀"}', { a: 'é€😀' }],
    ['the JSON escape of U+FFFD', '{"a":"\\ufffd"}', { a: '\ufffd' }],
  ])('reads %s with a declared length', async (_what, body, parsed) => {
    expect(await readJsonBody(declared(body))).toEqual(parsed);
  });

  it.each([
    ['a lone 0xff', [0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]],
    ['a truncated 4-byte sequence', [0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xf0, 0x9f, 0x98, 0x22, 0x7d]],
    ['an overlong encoding', [0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc0, 0xaf, 0x22, 0x7d]],
    ['a raw U+FFFD', [...new TextEncoder().encode('{"a":"\ufffd"}')]],
  ])('refuses %s with ERR_BAD_REQUEST, declared length or chunked', async (_what, bytes) => {
    await expect(readJsonBody(declared(new Uint8Array(bytes)))).rejects.toMatchObject({ code: 'ERR_BAD_REQUEST' });
    await expect(readJsonBody(chunked([new Uint8Array(bytes)]))).rejects.toMatchObject({ code: 'ERR_BAD_REQUEST' });
  });

  it('refuses a declared length over the limit', async () => {
    await expect(readJsonBody(declared(`"${'x'.repeat(MAX_BODY_BYTES)}"`))).rejects.toMatchObject({ code: 'ERR_BODY_TOO_LARGE' });
  });
});
