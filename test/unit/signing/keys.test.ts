import { decodeProtectedHeader, importJWK, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import type { EdgeError } from '../../../src/errors';
import { signJws } from '../../../src/signing/jws';
import { loadCredentialKeys, loadKeyRing, parseKeyRing } from '../../../src/signing/keys';
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

describe('parseKeyRing', () => {
  const spoiled = (spoil: (r: any) => void) => {
    const secret = generateKeyRing();
    spoil(secret);
    return JSON.stringify(secret);
  };

  it.each([
    ['text that is not JSON', 'not json'],
    ['a list', '[]'],
    ['null', 'null'],
    ['no keys', spoiled((r) => delete r.keys)],
    ['an empty list of keys', spoiled((r) => (r.keys = []))],
    ['an empty active kid', spoiled((r) => (r.active = ''))],
    ['an entry without kid', spoiled((r) => delete r.keys[0].kid)],
    ['an entry without privateJwk', spoiled((r) => delete r.keys[0].privateJwk)],
    ['an EC key of kty RSA', spoiled((r) => (r.keys[0].privateJwk.kty = 'RSA'))],
    ['an EC key on P-384', spoiled((r) => (r.keys[0].privateJwk.crv = 'P-384'))],
    ['an x that is not base64url', spoiled((r) => (r.keys[0].privateJwk.x = 'a+b/'))],
    ['a d that is a number', spoiled((r) => (r.keys[0].privateJwk.d = 1))],
    ['a certificate that is not PEM', spoiled((r) => (r.keys[0].certificate = 'MIIB'))],
    ['a workload ring that is a list', spoiled((r) => (r.workload = []))],
    ['a workload key that is RSA', spoiled((r) => (r.workload.keys[0].privateJwk = r.rsa.keys[0].privateJwk))],
    ['an RSA ring without active', spoiled((r) => delete r.rsa.active)],
    ['an RSA key without qi', spoiled((r) => delete r.rsa.keys[0].privateJwk.qi)],
  ])('refuses %s (ERR_NOT_CONFIGURED, one message that names no key material)', (_, secret) => {
    let err: EdgeError | undefined;
    try {
      parseKeyRing(secret);
    } catch (e) {
      err = e as EdgeError;
    }
    expect(err?.code).toBe('ERR_NOT_CONFIGURED');
    expect(err?.detail).toBe('EDGE_SIGNING_KEYS is not a valid key ring');
  });

  it('keeps the key fields of each JWK only (what WebCrypto imports), and the ring loads', async () => {
    const secret = spoiled((r) => {
      r.keys[0].privateJwk.key_ops = ['verify'];
      r.keys[0].privateJwk.alg = 'RS256';
      r.extra = true;
    });
    const parsed = parseKeyRing(secret);
    expect(Object.keys(parsed.keys[0]!.privateJwk).sort()).toEqual(['crv', 'd', 'kty', 'x', 'y']);
    expect(await codeOf(secret)).toBe('loaded');
  });
});

describe('the ring imported in parts', () => {
  it('serves credential keys while a workload key WebCrypto refuses fails only what needs it', async () => {
    const secret = JSON.stringify(
      (() => {
        const r: any = generateKeyRing();
        r.workload.keys[0].privateJwk.x = 'A'.repeat(43); // off the curve
        return r;
      })(),
    );
    const credential = await loadCredentialKeys(secret);
    expect(credential.active.alg).toBe('ES256');
    expect(await codeOf(secret)).toBe('ERR_NOT_CONFIGURED');
  });
});
