import { decodeProtectedHeader, importJWK, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import type { EdgeError } from '../../../src/errors';
import { signJws } from '../../../src/signing/jws';
import { loadKeyRing } from '../../../src/signing/keys';
import { generateKeyRing, generateSigningKey } from '../../../scripts/lib/keys.mjs';

async function codeOf(secret: string): Promise<string> {
  try {
    await loadKeyRing(secret);
    return 'loaded';
  } catch (err) {
    return (err as EdgeError).code;
  }
}

describe('loadKeyRing with RS256 keys', () => {
  it('publishes the workload keys only (ES256 and RS256) in the OIDC JWKS, each with alg and libtrust kid', async () => {
    const secret = generateKeyRing();
    const ring = await loadKeyRing(JSON.stringify(secret));
    expect(ring.jwks.keys.map((k) => [k.kid, k.alg, k.kty])).toEqual([
      [secret.workload.active, 'ES256', 'EC'],
      [secret.rsa.active, 'RS256', 'RSA'],
    ]);
    // The credential and registry-token key is never in it: a registry token cannot verify at a vendor.
    expect(ring.jwks.keys.map((k) => k.kid)).not.toContain(secret.active);
    expect(ring.registryJwks.keys.map((k) => [k.kid, k.alg])).toEqual([[secret.active, 'ES256']]);
    expect(ring.workload?.kid).toBe(secret.workload.active);
    expect(ring.rsa?.kid).toBe(secret.rsa.active);
    expect([...ring.jwks.keys, ...ring.registryJwks.keys].every((k) => !('d' in k) && !('p' in k))).toBe(true);
    // Credentials are signed by credential keys only: a workload kid is never one of them.
    expect(ring.byKid.has(secret.rsa.active)).toBe(false);
    expect(ring.byKid.has(secret.workload.active)).toBe(false);
  });

  it('loads a ring made before workload keys: the OIDC JWKS holds its RSA keys only, never the credential key', async () => {
    const { workload: _none, ...old } = generateKeyRing();
    const ring = await loadKeyRing(JSON.stringify(old));
    expect(ring.workload).toBeUndefined();
    expect(ring.jwks.keys.map((k) => k.alg)).toEqual(['RS256']);
  });

  it('refuses one key as both credential key and workload key (ERR_NOT_CONFIGURED)', async () => {
    const secret = generateKeyRing();
    const { kid, privateJwk } = secret.keys[0]!;
    secret.workload = { active: kid, keys: [{ kid, privateJwk }] };
    expect(await codeOf(JSON.stringify(secret))).toBe('ERR_NOT_CONFIGURED');
  });

  it('signs RS256 tokens that verify with the published key', async () => {
    const ring = await loadKeyRing(JSON.stringify(generateKeyRing()));
    const token = await signJws('RS256', ring.rsa!.privateKey, { kid: ring.rsa!.kid, typ: 'JWT' }, { sub: 'x' });
    expect(decodeProtectedHeader(token)).toEqual({ kid: ring.rsa!.kid, typ: 'JWT', alg: 'RS256' });
    const key = await importJWK(ring.jwks.keys.find((k) => k.alg === 'RS256')!, 'RS256');
    expect((await jwtVerify(token, key)).payload.sub).toBe('x');
  });

  it('loads a ring without RSA keys (made before them)', async () => {
    const { rsa: _none, ...old } = generateKeyRing();
    const ring = await loadKeyRing(JSON.stringify(old));
    expect(ring.rsa).toBeUndefined();
    expect(ring.jwks.keys.map((k) => k.alg)).toEqual(['ES256']);
  });

  it.each([
    [
      'an RSA kid that is not its libtrust id',
      (r: any) => {
        r.rsa.keys[0].kid = 'AAAA';
        r.rsa.active = 'AAAA';
      },
    ],
    [
      'an RSA active kid missing from its keys',
      (r: any) => {
        r.rsa.active = 'ZZZZ';
      },
    ],
    [
      'an RSA key without its private parts',
      (r: any) => {
        delete r.rsa.keys[0].privateJwk.d;
      },
    ],
    [
      'an EC key whose point is not on P-256 (WebCrypto refuses it)',
      (r: any) => {
        r.keys[0].privateJwk.x = 'A'.repeat(43);
      },
    ],
    [
      'an RSA modulus under 2048 bits',
      (r: any) => {
        r.rsa.keys[0].privateJwk.n = r.rsa.keys[0].privateJwk.n.slice(0, 171);
      },
    ],
  ])('refuses %s as a configuration error', async (_t, spoil) => {
    const secret = generateKeyRing();
    spoil(secret);
    expect(await codeOf(JSON.stringify(secret))).toBe('ERR_NOT_CONFIGURED');
  });
});

describe('loadKeyRing certificates', () => {
  it('accepts the certificate made for the key, and publishes it as x5c', async () => {
    const ring = await loadKeyRing(JSON.stringify(generateKeyRing()));
    expect(ring.active.certificate).toBeTruthy();
    expect(ring.registryJwks.keys[0]!.x5c).toEqual([ring.active.certificate]);
  });

  it.each([
    [
      'a certificate for another key',
      (r: any) => {
        r.keys[0].certificate = generateSigningKey().certificate;
      },
    ],
    [
      'a certificate that is not base64 DER',
      (r: any) => {
        r.keys[0].certificate = '-----BEGIN CERTIFICATE-----\n%%%\n-----END CERTIFICATE-----';
      },
    ],
  ])('refuses %s as a configuration error', async (_t, spoil) => {
    const secret = generateKeyRing();
    spoil(secret);
    expect(await codeOf(JSON.stringify(secret))).toBe('ERR_NOT_CONFIGURED');
  });
});
