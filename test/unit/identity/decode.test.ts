/**
 * identity/decode.ts reads what jose reads: decodeJwt, decodeProtectedHeader and
 * calculateJwkThumbprint run over the same tokens and keys, and agree on every value and on
 * every refusal (ours are JWTInvalid, ERR_JWT_INVALID; a thumbprint jose refuses is undefined).
 */
import * as jose from 'jose';
import { describe, expect, it } from 'vitest';
import { decodeJwt, decodeProtectedHeader, jwkThumbprint } from '../../../src/identity/decode';

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64url');
const tokens: Array<[string, string]> = [
  ['a compact JWS', `${b64('{"alg":"RS256","kid":"k1"}')}.${b64('{"iss":"https://i","sub":"s","exp":5}')}.sig`],
  ['an empty signature', `${b64('{"alg":"none"}')}.${b64('{"a":1}')}.`],
  ['five segments (a JWE)', `${b64('{"alg":"RSA-OAEP","enc":"A128GCM"}')}.a.b.c.d`],
  ['two segments', `${b64('{"alg":"RS256"}')}.${b64('{}')}`],
  ['four segments', 'a.b.c.d'],
  ['one segment', 'abc'],
  ['an empty string', ''],
  ['an empty payload', `${b64('{"alg":"RS256"}')}..sig`],
  ['an empty header', `.${b64('{}')}.sig`],
  ['a payload that is an array', `${b64('{"alg":"RS256"}')}.${b64('[1]')}.sig`],
  ['a header that is null', `${b64('null')}.${b64('{}')}.sig`],
  ['a payload that is not JSON', `${b64('{"alg":"RS256"}')}.${b64('nope')}.sig`],
  ['a payload that is not UTF-8', `${b64('{"alg":"RS256"}')}.${Buffer.from([0x7b, 0xff, 0x7d]).toString('base64url')}.sig`],
  ['standard base64 characters', `${b64('{"alg":"RS256"}')}.ab+/.sig`],
  ['padding', `${b64('{"alg":"RS256"}')}.${b64('{"a":"b"}')}==.sig`],
  ['whitespace in a segment', `${b64('{"alg":"RS256"}')}. ${b64('{"a":1}')}.sig`],
  ['unicode claims', `${b64('{"alg":"ES256"}')}.${b64('{"iss":"https://é","n":"\\u00e9"}')}.sig`],
];

/** What a decoder said: the value, or that it refused (and with which code, when it has one). */
function outcome(decode: (t: string) => unknown, token: string) {
  try {
    return { value: decode(token) };
  } catch {
    return { refused: true };
  }
}

describe('decoding a JWT as jose does', () => {
  it.each(tokens)('decodeJwt: %s', (_what, token) => {
    expect(outcome(decodeJwt, token)).toEqual(outcome(jose.decodeJwt, token));
  });
  it.each(tokens)('decodeProtectedHeader: %s', (_what, token) => {
    expect(outcome(decodeProtectedHeader, token)).toEqual(outcome(jose.decodeProtectedHeader, token));
  });
  it('refuses with jose code ERR_JWT_INVALID', () => {
    expect(() => decodeJwt('a.b')).toThrow(expect.objectContaining({ code: 'ERR_JWT_INVALID' }));
  });
});

describe('JWK thumbprints as jose computes them', () => {
  it('agrees on generated RSA, EC and OKP public keys', async () => {
    for (const [alg, options] of [
      ['RS256', { modulusLength: 2048 }],
      ['PS512', { modulusLength: 3072 }],
      ['ES256'],
      ['ES384'],
      ['ES512'],
      ['EdDSA'],
    ] as const) {
      const { publicKey } = await jose.generateKeyPair(alg, { extractable: true, ...(options ?? {}) });
      const jwk = { ...(await jose.exportJWK(publicKey)), kid: 'k', use: 'sig', alg };
      expect(await jwkThumbprint(jwk)).toBe(await jose.calculateJwkThumbprint(jwk));
    }
  });
  it('matches RFC 7638 section 3.1', async () => {
    const n =
      '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw';
    expect(await jwkThumbprint({ kty: 'RSA', n, e: 'AQAB', alg: 'RS256', kid: '2011-04-29' })).toBe('NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs');
  });
  it.each<[string, Record<string, unknown>]>([
    ['a missing member', { kty: 'EC', crv: 'P-256', x: 'AA' }],
    ['an empty member', { kty: 'RSA', n: '', e: 'AQAB' }],
    ['a member of another type', { kty: 'RSA', n: 5, e: 'AQAB' }],
    ['an unknown kty', { kty: 'XYZ', x: 'AA' }],
    ['no kty', { n: 'AA', e: 'AQAB' }],
    ['a kty from Object.prototype', { kty: 'constructor' }],
  ])('is undefined where jose refuses: %s', async (_what, jwk) => {
    await expect(jose.calculateJwkThumbprint(jwk as jose.JWK)).rejects.toThrow();
    expect(await jwkThumbprint(jwk as jose.JWK)).toBeUndefined();
  });
});
