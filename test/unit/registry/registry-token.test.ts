import { env } from 'cloudflare:workers';
import { decodeProtectedHeader, exportJWK, generateKeyPair, importX509, jwtVerify, decodeJwt } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { REGISTRY_TOKEN_TTL, signRegistryToken, tokenExpiry } from '../../../src/registry/registry-token';
import { loadKeyRing, type KeyRing } from '../../../src/signing/keys';
import { libtrustKeyId } from '../../../src/signing/libtrust';

const NOW = 1_800_000_000; // a frozen clock
const input = {
  issuer: 'https://edge.test',
  service: 'registry.test:5000',
  subject: 'system:serviceaccount:team-a:builder',
  access: [{ type: 'repository' as const, name: 'team-a/app', actions: ['pull' as const, 'push' as const] }],
  now: NOW,
  notAfter: NOW + 3600,
};

let ring: KeyRing;
beforeAll(async () => {
  ring = await loadKeyRing(env.EDGE_SIGNING_KEYS);
});

const pem = (b64: string) => `-----BEGIN CERTIFICATE-----\n${b64.match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----\n`;

describe('signRegistryToken', () => {
  it('names the signing key by its libtrust id and carries its certificate in x5c', async () => {
    const { token } = await signRegistryToken(ring, input);
    const header = decodeProtectedHeader(token);
    expect(header).toEqual({ alg: 'ES256', typ: 'JWT', kid: ring.active.kid, x5c: [ring.active.certificate] });
    const spki = (await crypto.subtle.exportKey('spki', ring.active.publicKey)) as ArrayBuffer;
    expect(header.kid).toBe(await libtrustKeyId(spki));
    expect(header.kid).toMatch(/^([A-Z2-7]{4}:){11}[A-Z2-7]{4}$/);
  });

  it('is verifiable with the public key of the certificate in its own x5c header', async () => {
    const { token } = await signRegistryToken(ring, input);
    const certKey = await importX509(pem(decodeProtectedHeader(token).x5c![0]!), 'ES256');
    await expect(jwtVerify(token, certKey, { currentDate: new Date(NOW * 1000) })).resolves.toBeDefined();
  });

  it('carries the registry claims with aud as a single string', async () => {
    const { token, issuedAt, expiresAt, expiresIn } = await signRegistryToken(ring, input);
    const { payload } = await jwtVerify(token, ring.active.publicKey, { currentDate: new Date(NOW * 1000) });
    expect(payload).toEqual({
      iss: 'https://edge.test',
      sub: 'system:serviceaccount:team-a:builder',
      aud: 'registry.test:5000',
      iat: NOW,
      nbf: NOW,
      exp: NOW + REGISTRY_TOKEN_TTL,
      jti: expect.stringMatching(/^[0-9a-f-]{36}$/),
      access: [{ type: 'repository', name: 'team-a/app', actions: ['pull', 'push'] }],
    });
    expect(typeof payload.aud).toBe('string');
    expect({ issuedAt, expiresAt, expiresIn }).toEqual({ issuedAt: NOW, expiresAt: NOW + REGISTRY_TOKEN_TTL, expiresIn: REGISTRY_TOKEN_TTL });
  });

  it('carries an empty access list when nothing was granted', async () => {
    const { token } = await signRegistryToken(ring, { ...input, access: [] });
    expect(decodeJwt(token).access).toEqual([]);
  });

  it('gives each token its own jti', async () => {
    const a = decodeJwt((await signRegistryToken(ring, input)).token).jti;
    const b = decodeJwt((await signRegistryToken(ring, input)).token).jti;
    expect(a).not.toBe(b);
  });

  it('omits x5c when the key ring has no certificate', async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
    const spki = (await crypto.subtle.exportKey('spki', publicKey)) as ArrayBuffer;
    const kid = await libtrustKeyId(spki);
    const { kty, crv, x, y, d } = await exportJWK(privateKey);
    const bare = await loadKeyRing(JSON.stringify({ active: kid, keys: [{ kid, privateJwk: { kty, crv, x, y, d } }] }));
    const { token } = await signRegistryToken(bare, input);
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'ES256', typ: 'JWT', kid });
  });
});

describe('tokenExpiry', () => {
  it.each([
    ['lives REGISTRY_TOKEN_TTL when the credential lives longer', NOW + 3600, NOW + REGISTRY_TOKEN_TTL],
    ['never outlives the credential', NOW + 120, NOW + 120],
    ['ends with the credential even when under 60 s remain', NOW + 30, NOW + 30],
    ['ends with the credential when a single second remains', NOW + 1, NOW + 1],
  ])('%s', (_t, notAfter, expected) => {
    expect(tokenExpiry(NOW, notAfter)).toBe(expected);
  });

  it('reports the true remaining lifetime in expiresIn', async () => {
    const { expiresIn, expiresAt } = await signRegistryToken(ring, { ...input, notAfter: NOW + 42 });
    expect(expiresIn).toBe(42);
    expect(expiresAt).toBe(NOW + 42);
  });
});
