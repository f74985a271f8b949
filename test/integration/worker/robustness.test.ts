// Nothing a client sends causes a 500, and no error body carries a stack trace.
import { describe, expect, it } from 'vitest';
import { ADMIN, edgeFetch } from '../../support/worker/issuer';

const deep = '['.repeat(5000) + ']'.repeat(5000);
const bodies: Array<[string, BodyInit]> = [
  ['empty', ''],
  ['null', 'null'],
  ['a number', '42'],
  ['a string', '"x"'],
  ['an array', '[]'],
  ['deeply nested JSON', deep],
  ['invalid UTF-8', new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d])],
  ['wrong types', JSON.stringify({ apiVersion: 1, kind: [], image: {}, serviceAccountToken: 5, serviceAccountAnnotations: 'x' })],
  ['a prototype-polluting object', '{"__proto__":{"admin":true},"constructor":{"prototype":{}}}'],
  [
    'a request with null annotations',
    JSON.stringify({
      apiVersion: 'credentialprovider.kubelet.k8s.io/v1',
      kind: 'CredentialProviderRequest',
      image: 'a/b',
      serviceAccountToken: 'a.b.c',
      serviceAccountAnnotations: null,
    }),
  ],
  [
    'a token of dots',
    JSON.stringify({ apiVersion: 'credentialprovider.kubelet.k8s.io/v1', kind: 'CredentialProviderRequest', image: 'a/b', serviceAccountToken: '....' }),
  ],
  [
    'a token with a non-JSON header',
    JSON.stringify({
      apiVersion: 'credentialprovider.kubelet.k8s.io/v1',
      kind: 'CredentialProviderRequest',
      image: 'a/b',
      serviceAccountToken: `${btoa('nope')}.${btoa('{"iss":"x"}')}.c`,
    }),
  ],
];
const targets: Array<[string, string, Record<string, string>]> = [
  ['POST', '/v1/credentials', {}],
  ['PUT', '/admin/v1/issuers/fuzz', ADMIN()],
  ['POST', '/admin/v1/explain', ADMIN()],
];

describe('robustness', () => {
  for (const [method, path, headers] of targets) {
    it.each(bodies)(`${method} ${path} answers 4xx without a stack trace for %s`, async (_t, body) => {
      const res = await edgeFetch(path, { method, headers: { 'content-type': 'application/json', ...headers }, body });
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      const text = await res.text();
      expect(JSON.parse(text)).toHaveProperty('error');
      expect(text).not.toMatch(/at .*\.(ts|js):\d+/);
    });
  }

  it.each([
    ['GET', '/v1/credentials'],
    ['DELETE', '/healthz'],
    ['GET', '/admin/v1/issuers/Not_A_Name'],
    ['GET', '/no/such/path'],
  ])('%s %s answers 4xx', async (method, path) => {
    const res = await edgeFetch(path, { method, headers: ADMIN() });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
  });
});
