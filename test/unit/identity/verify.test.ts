/**
 * Service-account token verification as a pure function (octo-sts TestCheckToken's shape):
 * real keys, real signed tokens, one fixed clock, one row per claim case.
 */
import { createLocalJWKSet, exportJWK, generateKeyPair, SignJWT, type JWK, type JWTVerifyGetKey } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { EdgeError } from '../../../src/errors';
import { kubernetesClaim, readToken, verifyServiceAccountToken, type TokenExpectations } from '../../../src/identity/verify';
import { serviceAccountClaims, signServiceAccountToken } from '../../support/kit.mjs';

const NOW = 1_800_000_000;
const ISSUER = 'https://cluster.k8s.test';
const expect_: TokenExpectations = {
  name: 'prod',
  issuer: ISSUER,
  audiences: ['edge-credential-provider'],
  algorithms: ['RS256', 'ES256'],
  maxTokenLifetime: 86400,
};

let rsa: CryptoKeyPair;
let ec: CryptoKeyPair;
let getKey: JWTVerifyGetKey;
let rsaJwk: JWK;

beforeAll(async () => {
  rsa = await generateKeyPair('RS256', { extractable: true });
  ec = await generateKeyPair('ES256', { extractable: true });
  rsaJwk = { ...(await exportJWK(rsa.publicKey)), kid: 'rsa', alg: 'RS256' };
  getKey = createLocalJWKSet({ keys: [rsaJwk, { ...(await exportJWK(ec.publicKey)), kid: 'ec', alg: 'ES256' }] });
});

type Claims = Record<string, unknown>;
/** A claims mutator: sets `key` to f(its value); undefined leaves it out of the token. */
const change = (key: string, f: (v: unknown) => unknown) => (c: Claims) => {
  c[key] = f(c[key]);
};
interface Case {
  /** Changes to the claims of a token issued at NOW - 60 for 1 h. */
  claims?: (c: Claims) => void;
  iat?: number;
  lifetime?: number;
  alg?: 'RS256' | 'ES256';
  kid?: string;
  /** Sign with a key no JWKS holds. */
  foreignKey?: boolean;
}

async function token(c: Case): Promise<string> {
  const claims: Claims = serviceAccountClaims({ issuer: ISSUER, now: c.iat ?? NOW - 60, lifetime: c.lifetime ?? 3600 });
  c.claims?.(claims);
  const alg = c.alg ?? 'RS256';
  const key = c.foreignKey ? (await generateKeyPair(alg)).privateKey : alg === 'RS256' ? rsa.privateKey : ec.privateKey;
  return signServiceAccountToken(claims, { privateKey: key, alg, kid: c.kid ?? (alg === 'RS256' ? 'rsa' : 'ec') });
}

async function outcome(t: string, expectations = expect_): Promise<string> {
  try {
    await verifyServiceAccountToken(t, expectations, getKey, NOW);
    return 'ok';
  } catch (err) {
    if (err instanceof EdgeError) return err.code;
    throw err;
  }
}

describe('verifyServiceAccountToken', () => {
  it.each<[string, Case, string]>([
    ['a fresh RS256 token', {}, 'ok'],
    ['a fresh ES256 token', { alg: 'ES256' }, 'ok'],
    [
      'a token without pod and node claims',
      {
        claims: (c) => {
          (c['kubernetes.io'] as Claims).pod = undefined;
        },
      },
      'ok',
    ],
    [
      'a token with one of several audiences accepted',
      {
        claims: (c) => {
          c.aud = ['other', 'edge-credential-provider'];
        },
      },
      'ok',
    ],
    [
      'the wrong audience',
      {
        claims: (c) => {
          c.aud = ['other'];
        },
      },
      'ERR_AUDIENCE_MISMATCH',
    ],
    [
      'another issuer',
      {
        claims: (c) => {
          c.iss = 'https://elsewhere.test';
        },
      },
      'ERR_UNKNOWN_ISSUER',
    ],
    ['exp one hour ago', { iat: NOW - 7200 }, 'ERR_TOKEN_EXPIRED'],
    ['exp 61 s ago (past the skew)', { iat: NOW - 3661 }, 'ERR_TOKEN_EXPIRED'],
    ['exp 30 s ago (within the skew: verified; minting refuses it)', { iat: NOW - 3630 }, 'ok'],
    ['nbf 10 minutes ahead', { iat: NOW + 600 }, 'ERR_TOKEN_NOT_YET_VALID'],
    ['nbf 30 s ahead (within the skew)', { iat: NOW + 30 }, 'ok'],
    [
      'iat in the future and no nbf',
      {
        iat: NOW + 600,
        claims: (c) => {
          delete c.nbf;
        },
      },
      'ERR_TOKEN_NOT_YET_VALID',
    ],
    ['a lifetime over the maximum', { lifetime: 86401 + 60 }, 'ERR_TOKEN_LIFETIME'],
    [
      'no exp',
      {
        claims: (c) => {
          delete c.exp;
        },
      },
      'ERR_TOKEN_MALFORMED',
    ],
    [
      'no iat',
      {
        claims: (c) => {
          delete c.iat;
        },
      },
      'ERR_TOKEN_MALFORMED',
    ],
    [
      'no sub',
      {
        claims: (c) => {
          delete c.sub;
        },
      },
      'ERR_TOKEN_MALFORMED',
    ],
    [
      'a sub that is not a service account',
      {
        claims: (c) => {
          c.sub = 'alice';
        },
      },
      'ERR_CLAIMS_INVALID',
    ],
    [
      'a sub naming another account',
      {
        claims: (c) => {
          c.sub = 'system:serviceaccount:team-a:admin';
        },
      },
      'ERR_CLAIMS_INVALID',
    ],
    [
      'a sub naming another namespace',
      {
        claims: (c) => {
          c.sub = 'system:serviceaccount:team-b:builder';
        },
      },
      'ERR_CLAIMS_INVALID',
    ],
    [
      'no kubernetes.io claim',
      {
        claims: (c) => {
          delete c['kubernetes.io'];
        },
      },
      'ERR_CLAIMS_INVALID',
    ],
    [
      'a service account without uid',
      {
        claims: (c) => {
          (c['kubernetes.io'] as Claims).serviceaccount = { name: 'builder' };
        },
      },
      'ERR_CLAIMS_INVALID',
    ],
    [
      'a pod without uid',
      {
        claims: (c) => {
          (c['kubernetes.io'] as Claims).pod = { name: 'p' };
        },
      },
      'ERR_CLAIMS_INVALID',
    ],
    [
      'an empty namespace',
      {
        claims: (c) => {
          (c['kubernetes.io'] as Claims).namespace = '';
        },
      },
      'ERR_CLAIMS_INVALID',
    ],
    // The registered claims are checked by the edge on the payload it parsed once (verify.ts
    // claimProblem in identity/jwt.ts), as jose's jwtVerify checked them: these rows pin its semantics.
    ['exp exactly 60 s ago (the skew boundary: expired)', { iat: NOW - 3660 }, 'ERR_TOKEN_EXPIRED'],
    ['exp 59 s ago', { iat: NOW - 3659 }, 'ok'],
    ['nbf and iat exactly 60 s ahead (the skew boundary: valid)', { iat: NOW + 60 }, 'ok'],
    ['nbf and iat 61 s ahead', { iat: NOW + 61 }, 'ERR_TOKEN_NOT_YET_VALID'],
    ['exp as a string', { claims: change('exp', String) }, 'ERR_TOKEN_MALFORMED'],
    ['iat as a string', { claims: change('iat', String) }, 'ERR_TOKEN_MALFORMED'],
    ['nbf as a string (jose reported it as not yet valid)', { claims: change('nbf', String) }, 'ERR_TOKEN_MALFORMED'],
    ['exp null', { claims: change('exp', () => null) }, 'ERR_TOKEN_MALFORMED'],
    ['no aud', { claims: change('aud', () => undefined) }, 'ERR_AUDIENCE_MISMATCH'],
    ['aud as a number', { claims: change('aud', () => 7) }, 'ERR_AUDIENCE_MISMATCH'],
    ['aud as an object holding the audience', { claims: change('aud', () => ({ 0: 'edge-credential-provider' })) }, 'ERR_AUDIENCE_MISMATCH'],
    ['aud as one string', { claims: change('aud', () => 'edge-credential-provider') }, 'ok'],
    ['iss of another cluster', { claims: change('iss', () => 'https://other.k8s.test') }, 'ERR_UNKNOWN_ISSUER'],
    ['a sub that is not a string', { claims: change('sub', () => 7) }, 'ERR_CLAIMS_INVALID'],
    ['an unknown kid', { kid: 'nobody' }, 'ERR_UNKNOWN_KEY'],
    ['a signature by a key the issuer does not hold', { foreignKey: true }, 'ERR_BAD_SIGNATURE'],
  ])('%s: %s', async (_title, c, code) => {
    expect(await outcome(await token(c))).toBe(code);
  });

  it('refuses an algorithm the record does not allow, before looking for a key', async () => {
    expect(await outcome(await token({ alg: 'ES256' }), { ...expect_, algorithms: ['RS256'] })).toBe('ERR_ALGORITHM_NOT_ALLOWED');
  });

  it('refuses alg none and HS256 keyed with the public key', async () => {
    const claims = serviceAccountClaims({ issuer: ISSUER, now: NOW - 60 });
    const b64 = (o: unknown) => btoa(JSON.stringify(o)).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
    expect(await outcome(`${b64({ alg: 'none' })}.${b64(claims)}.`)).toBe('ERR_ALGORITHM_NOT_ALLOWED');
    const hs = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', kid: 'rsa' }).sign(new TextEncoder().encode(JSON.stringify(rsaJwk)));
    expect(await outcome(hs)).toBe('ERR_ALGORITHM_NOT_ALLOWED');
  });

  it('refuses an unencoded payload (b64: false), whose signing input a b64 token shares', async () => {
    const enc = (o: unknown) => btoa(JSON.stringify(o)).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
    const input = `${enc({ alg: 'RS256', kid: 'rsa', b64: false, crit: ['b64'] })}.${enc(serviceAccountClaims({ issuer: ISSUER, now: NOW - 60 }))}`;
    const sig = new Uint8Array(await crypto.subtle.sign('RSASSA-PKCS1-v1_5', rsa.privateKey, new TextEncoder().encode(input)));
    const t = `${input}.${btoa(String.fromCharCode(...sig))
      .replace(/=+$/, '')
      .replace(/\+/g, '-')
      .replace(/\//g, '_')}`;
    expect(await outcome(t)).toBe('ERR_TOKEN_MALFORMED');
  });

  it.each([
    ['an unknown crit header', { alg: 'RS256', kid: 'rsa', crit: ['exp'], exp: 1 }],
    ['b64: false without crit', { alg: 'RS256', kid: 'rsa', b64: false }],
    ['no alg', { kid: 'rsa' }],
  ])('refuses %s as malformed', async (_t, header) => {
    const enc = (o: unknown) => btoa(JSON.stringify(o)).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
    const input = `${enc(header)}.${enc(serviceAccountClaims({ issuer: ISSUER, now: NOW - 60 }))}`;
    const sig = new Uint8Array(await crypto.subtle.sign('RSASSA-PKCS1-v1_5', rsa.privateKey, new TextEncoder().encode(input)));
    expect(
      await outcome(
        `${input}.${btoa(String.fromCharCode(...sig))
          .replace(/=+$/, '')
          .replace(/\+/g, '-')
          .replace(/\//g, '_')}`,
      ),
    ).toBe('ERR_TOKEN_MALFORMED');
  });

  it('refuses a JWE (five segments) and an exp beyond any lifetime', async () => {
    expect(await outcome(`${await token({})}.x.y`)).toBe('ERR_TOKEN_MALFORMED');
    expect(await outcome(await token({ claims: change('exp', () => 1e300) }))).toBe('ERR_TOKEN_LIFETIME');
  });

  it('verifies what readToken read: the claims it parsed are checked once the signature holds', async () => {
    const t = await token({});
    const read = readToken(t);
    expect(read.issuer).toBe(ISSUER);
    expect((await verifyServiceAccountToken(read, expect_, getKey, NOW)).namespace).toBe('team-a');
    // the same token with a signature of another key: refused, whatever was read
    const forged = await token({ foreignKey: true });
    await expect(verifyServiceAccountToken(readToken(forged), expect_, getKey, NOW)).rejects.toMatchObject({ code: 'ERR_BAD_SIGNATURE' });
    // claims that did not come from readToken are not taken for the token's: it is read again
    const other = readToken(await token({ claims: change('aud', () => ['other']) }));
    await expect(verifyServiceAccountToken({ ...other, claims: read.claims }, expect_, getKey, NOW)).rejects.toMatchObject({ code: 'ERR_AUDIENCE_MISMATCH' });
    expect(Object.isFrozen(read.claims)).toBe(true);
  });

  it('returns the workload: cluster, record, namespace, account, pod, node, expiry', async () => {
    const w = await verifyServiceAccountToken(await token({}), expect_, getKey, NOW);
    expect(w).toEqual({
      cluster: ISSUER,
      record: 'prod',
      namespace: 'team-a',
      serviceAccount: { name: 'builder', uid: '11111111-2222-3333-4444-555555555555' },
      pod: { name: 'builder-pod', uid: '99999999-8888-7777-6666-555555555555' },
      node: { name: 'node-1', uid: 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee' },
      expiresAt: NOW - 60 + 3600,
    });
  });
});

describe('readToken (the issuer, read before anything is verified)', () => {
  const unsigned = (claims: Claims) => {
    const b64 = (o: unknown) => btoa(JSON.stringify(o)).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
    return `${b64({ alg: 'RS256' })}.${b64(claims)}.sig`;
  };
  it.each<[string, string, string]>([
    ['a plain issuer', unsigned({ iss: ISSUER }), ISSUER],
    ['no iss', unsigned({ sub: 'x' }), 'ERR_TOKEN_MALFORMED'],
    ['an empty iss', unsigned({ iss: '' }), 'ERR_TOKEN_MALFORMED'],
    ['a numeric iss', unsigned({ iss: 7 }), 'ERR_TOKEN_MALFORMED'],
    ['an iss with a lone surrogate', unsigned({ iss: 'https://x.test/\ud800' }), 'ERR_TOKEN_MALFORMED'],
    ['not a JWT', 'abc', 'ERR_TOKEN_MALFORMED'],
    ['a token over 16 KiB', unsigned({ iss: ISSUER, pad: 'x'.repeat(17 * 1024) }), 'ERR_TOKEN_MALFORMED'],
  ])('%s: %s', (_t, t, expected) => {
    let got: string;
    try {
      got = readToken(t).issuer;
    } catch (err) {
      got = (err as EdgeError).code;
    }
    expect(got).toBe(expected);
  });
});

describe('kubernetesClaim', () => {
  const sa = { name: 'builder', uid: 'u-1' };
  it.each([
    ['the claim a TokenRequest token carries', { namespace: 'ci', serviceaccount: sa, pod: { name: 'p', uid: 'u-2' }, node: { name: 'n', uid: 'u-3' } }, true],
    ['no pod and no node', { namespace: 'ci', serviceaccount: sa }, true],
    ['a namespace of 63 characters', { namespace: 'n'.repeat(63), serviceaccount: sa }, true],
    ['a name of 253 and a uid of 64 characters', { namespace: 'ci', serviceaccount: { name: 'n'.repeat(253), uid: 'u'.repeat(64) } }, true],
    ['null', null, false],
    ['a list', [], false],
    ['an empty namespace', { namespace: '', serviceaccount: sa }, false],
    ['a namespace of 64 characters', { namespace: 'n'.repeat(64), serviceaccount: sa }, false],
    ['no serviceaccount', { namespace: 'ci' }, false],
    ['a serviceaccount without uid', { namespace: 'ci', serviceaccount: { name: 'builder' } }, false],
    ['a serviceaccount name of 254 characters', { namespace: 'ci', serviceaccount: { name: 'n'.repeat(254), uid: 'u' } }, false],
    ['a uid of 65 characters', { namespace: 'ci', serviceaccount: { name: 'b', uid: 'u'.repeat(65) } }, false],
    ['a pod that is null', { namespace: 'ci', serviceaccount: sa, pod: null }, false],
    ['a node without name', { namespace: 'ci', serviceaccount: sa, node: { uid: 'u' } }, false],
    ['a numeric namespace', { namespace: 7, serviceaccount: sa }, false],
  ])('%s: accepted %s', (_, claim, accepted) => {
    expect(kubernetesClaim(claim) !== undefined).toBe(accepted);
  });

  it('keeps the known fields only', () => {
    expect(kubernetesClaim({ namespace: 'ci', serviceaccount: { ...sa, extra: 1 }, warnafter: 1, pod: { name: 'p', uid: 'u', x: 2 } })).toEqual({
      namespace: 'ci',
      serviceaccount: sa,
      pod: { name: 'p', uid: 'u' },
    });
  });
});
