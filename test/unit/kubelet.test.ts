import { describe, expect, it } from 'vitest';
import { cacheSeconds, goDuration, parseCredentialProviderRequest } from '../../src/kubelet';

describe('goDuration', () => {
  it.each([
    [0, '0s'],
    [30, '30s'],
    [60, '1m0s'],
    [3300, '55m0s'],
    [3600, '1h0m0s'],
    [43170, '11h59m30s'],
  ])('formats %i s as %s, like Go time.Duration', (s, expected) => {
    expect(goDuration(s)).toBe(expected);
  });
});

describe('cacheSeconds', () => {
  it.each([
    [60, 30],
    [600, 540],
    [3600, 3300],
    [43200, 42900],
  ])('keeps a %i s credential cached %i s, expiring before the credential', (ttl, expected) => {
    expect(cacheSeconds(ttl)).toBe(expected);
    expect(cacheSeconds(ttl)).toBeLessThan(ttl);
  });
});

describe('parseCredentialProviderRequest', () => {
  const base = { apiVersion: 'credentialprovider.kubelet.k8s.io/v1', kind: 'CredentialProviderRequest', image: 'r.test/a:1' };

  it.each([
    [
      'the fields the kubelet sends',
      { ...base, serviceAccountToken: 't', serviceAccountAnnotations: { a: 'b' } },
      { ...base, serviceAccountToken: 't', serviceAccountAnnotations: { a: 'b' } },
    ],
    ['no token and no annotations', base, base],
    ['an unknown field, dropped', { ...base, extra: 1 }, base],
    ['an image of 4,096 characters', { ...base, image: 'i'.repeat(4096) }, { ...base, image: 'i'.repeat(4096) }],
    ['a token of 16 KiB', { ...base, serviceAccountToken: 't'.repeat(16 * 1024) }, { ...base, serviceAccountToken: 't'.repeat(16 * 1024) }],
    [
      'an annotation key of 317 characters',
      { ...base, serviceAccountAnnotations: { ['k'.repeat(317)]: 'v' } },
      { ...base, serviceAccountAnnotations: { ['k'.repeat(317)]: 'v' } },
    ],
  ])('accepts %s', (_, body, expected) => {
    expect(parseCredentialProviderRequest(body)).toEqual(expected);
  });

  it.each([
    ['null', null],
    ['an array', [base]],
    ['a string', 'request'],
    ['no apiVersion', { kind: base.kind, image: base.image }],
    ['a numeric kind', { ...base, kind: 1 }],
    ['no image', { apiVersion: base.apiVersion, kind: base.kind }],
    ['an image over 4,096 characters', { ...base, image: 'i'.repeat(4097) }],
    ['a token over 16 KiB', { ...base, serviceAccountToken: 't'.repeat(16 * 1024 + 1) }],
    ['a null token', { ...base, serviceAccountToken: null }],
    ['annotations that are a list', { ...base, serviceAccountAnnotations: ['a'] }],
    ['annotations that are null', { ...base, serviceAccountAnnotations: null }],
    ['an annotation value that is a number', { ...base, serviceAccountAnnotations: { a: 1 } }],
    ['an annotation key over 317 characters', { ...base, serviceAccountAnnotations: { ['k'.repeat(318)]: 'v' } }],
    ['an annotation value over 64 KiB', { ...base, serviceAccountAnnotations: { a: 'v'.repeat(64 * 1024 + 1) } }],
  ])('refuses %s', (_, body) => {
    expect(parseCredentialProviderRequest(body)).toBeUndefined();
  });

  it('keeps a __proto__ annotation as data, not as the prototype', () => {
    const req = parseCredentialProviderRequest(
      JSON.parse(`{"apiVersion":"v","kind":"k","image":"i","serviceAccountAnnotations":{"__proto__":{"polluted":"x"}}}`),
    );
    expect(req).toBeUndefined(); // its value is an object, not text
    const ok = parseCredentialProviderRequest(JSON.parse(`{"apiVersion":"v","kind":"k","image":"i","serviceAccountAnnotations":{"__proto__":"x"}}`));
    expect(Object.getPrototypeOf(ok!.serviceAccountAnnotations)).toBe(Object.prototype);
    expect(Object.keys(ok!.serviceAccountAnnotations!)).toEqual(['__proto__']);
    expect(Object.getOwnPropertyDescriptor(ok!.serviceAccountAnnotations, '__proto__')?.value).toBe('x');
  });
});
