import { describe, expect, it } from 'vitest';
import { API_VERSIONS, checkResponse, parseRequest, quote, type CredentialProviderRequest } from '../../../plugin/src/protocol';
import { failureOf, messageOf } from './support/failure';

const V1 = 'credentialprovider.kubelet.k8s.io/v1';
const PASSWORD = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ0ZWFtLWEifQ.c2lnbmF0dXJl';
const request = (extra: Record<string, unknown> = {}) => ({ apiVersion: V1, kind: 'CredentialProviderRequest', image: 'registry.test/app:v1', ...extra });
const grant = (extra: Record<string, unknown> = {}) => ({
  apiVersion: V1,
  kind: 'CredentialProviderResponse',
  cacheKeyType: 'Image',
  cacheDuration: '55m0s',
  auth: { 'registry.test': { username: 'team-a/builder', password: PASSWORD } },
  ...extra,
});
const V1_REQUEST = request() as CredentialProviderRequest;

describe('parseRequest', () => {
  it.each(API_VERSIONS)('accepts a request of apiVersion %s', (apiVersion) => {
    expect(parseRequest(JSON.stringify(request({ apiVersion })))).toMatchObject({ apiVersion });
  });

  it.each([
    ['a service-account token and annotations', { serviceAccountToken: 'token', serviceAccountAnnotations: { 'a.example.com/b': 'c' } }],
    ['null annotations', { serviceAccountAnnotations: null }],
    ['a field a newer kubelet may add, kept for the edge to judge', { futureField: { x: 1 } }],
  ])('accepts and keeps %s', (_what, extra) => {
    const text = JSON.stringify(request(extra));
    expect(parseRequest(text)).toEqual(JSON.parse(text));
  });

  it.each([
    ['text that is not JSON', '{'],
    ['a JSON array', '[]'],
    ['JSON null', 'null'],
    ['another kind', JSON.stringify(request({ kind: 'CredentialProviderResponse' }))],
    ['an unknown apiVersion', JSON.stringify(request({ apiVersion: 'credentialprovider.kubelet.k8s.io/v2' }))],
    ['no image', JSON.stringify(request({ image: undefined }))],
    ['an empty image', JSON.stringify(request({ image: '' }))],
    ['a token that is not a string', JSON.stringify(request({ serviceAccountToken: 42 }))],
    ['annotations that are a list', JSON.stringify(request({ serviceAccountAnnotations: ['a'] }))],
    ['an annotation value that is not a string', JSON.stringify(request({ serviceAccountAnnotations: { a: 1 } }))],
  ])('refuses %s as an input failure (exit 1)', (_what, text) => {
    expect(failureOf(() => parseRequest(text))).toBe('input 1');
  });
});

describe('checkResponse', () => {
  it('returns a well-formed answer unchanged', () => {
    expect(checkResponse(grant(), V1_REQUEST)).toEqual(grant());
  });

  it.each([
    ['fields the kubelet does not define', grant({ expiresAt: '2030-01-01T00:00:00Z' }), grant()],
    [
      'extra fields in an auth entry',
      grant({ auth: { r: { username: 'u', password: PASSWORD, auth: 'dTpw' } } }),
      grant({ auth: { r: { username: 'u', password: PASSWORD } } }),
    ],
    [
      'a null cacheDuration and auth',
      grant({ cacheDuration: null, auth: null }),
      { apiVersion: V1, kind: 'CredentialProviderResponse', cacheKeyType: 'Image' },
    ],
  ])("drops %s, so the kubelet's strict decoder accepts the answer", (_what, body, expected) => {
    expect(checkResponse(body, V1_REQUEST)).toEqual(expected);
  });

  it.each([
    ['a zero cacheDuration', grant({ cacheDuration: '0s' })],
    ['an empty auth map', grant({ auth: {} })],
    ['a glob and a port in an auth key', grant({ auth: { '*.registry.test:5000/team': { username: 'u', password: 'p' } } })],
  ])('accepts %s', (_what, body) => {
    expect(checkResponse(body, V1_REQUEST)).toEqual(body);
  });

  it.each([
    ['a JSON array', []],
    ["another apiVersion than the request's", grant({ apiVersion: 'credentialprovider.kubelet.k8s.io/v1beta1' })],
    ['another kind', grant({ kind: 'CredentialProviderRequest' })],
    ['an unknown cacheKeyType', grant({ cacheKeyType: 'Pod' })],
    ['a cacheDuration that is not a Go duration', grant({ cacheDuration: '1 hour' })],
    ['a cacheDuration that is a number', grant({ cacheDuration: 3600 })],
    ['a negative cacheDuration', grant({ cacheDuration: '-1m' })],
    ['an auth field that is a list', grant({ auth: [] })],
    ['an auth key with a scheme', grant({ auth: { 'https://registry.test': { username: 'u', password: PASSWORD } } })],
    ['an auth key with a space', grant({ auth: { 'registry .test': { username: 'u', password: PASSWORD } } })],
    ['an empty auth key', grant({ auth: { '': { username: 'u', password: PASSWORD } } })],
    ['an auth entry without a password', grant({ auth: { r: { username: 'u' } } })],
    ['an auth entry whose username is not a string', grant({ auth: { r: { username: 1, password: PASSWORD } } })],
  ])('refuses %s as a protocol failure (exit 1)', (_what, body) => {
    expect(failureOf(() => checkResponse(body, V1_REQUEST))).toBe('protocol 1');
  });

  it('names the registry but not the password when an auth entry is malformed', () => {
    const message = messageOf(() => checkResponse(grant({ auth: { 'registry.test': { username: 7, password: PASSWORD } } }), V1_REQUEST));
    expect(message).toContain('registry.test');
    expect(message).not.toContain(PASSWORD);
  });
});

describe('quote', () => {
  it.each([
    [undefined, '(missing)'],
    ['v1', '"v1"'],
    [42, '"42"'],
    [{ a: 1 }, '"{\\"a\\":1}"'],
    ['line\nbreak\u0007', '"line?break?"'],
    ['x'.repeat(61), `"${'x'.repeat(60)}..."`],
  ])('quotes %j as %s: short, on one line', (value, quoted) => {
    expect(quote(value)).toBe(quoted);
  });
});
