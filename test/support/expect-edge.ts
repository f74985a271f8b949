/** The one way tests assert an edge error: status, stable code, a message, and no token echoed. */
import { expect } from 'vitest';

export async function expectEdgeError(res: Response, status: number, code: string): Promise<Record<string, unknown>> {
  expect(res.status).toBe(status);
  const body = (await res.json()) as Record<string, unknown>;
  expect(body.error).toBe(code);
  expect(typeof body.message).toBe('string');
  expect(JSON.stringify(body)).not.toMatch(/eyJ[\w-]+\.eyJ/); // no JWT echoed back
  return body;
}
