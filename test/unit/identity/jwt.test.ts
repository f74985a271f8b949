/**
 * The registered-claims check shared by service-account and Access tokens (identity/jwt.ts),
 * at a frozen clock. Each row is what jose's jwtVerify decides for the same claims with the
 * same options (checked beside it, on a real signed token), so the two cannot drift apart.
 */
import { generateKeyPair, jwtVerify, SignJWT, type JWTPayload } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { claimProblem, type ClaimExpectations } from '../../../src/identity/jwt';

const NOW = 1_800_000_000;
const expected: ClaimExpectations = { issuer: 'https://iss.test', audiences: ['a', 'b'], required: ['exp', 'iat', 'sub'], skew: 60 };
const base = { iss: 'https://iss.test', aud: ['a'], sub: 's', iat: NOW - 10, nbf: NOW - 10, exp: NOW + 600 };

let keys: CryptoKeyPair;
beforeAll(async () => {
  keys = await generateKeyPair('ES256');
});

/** jose's verdict on the same claims: undefined when it accepts. */
async function jose(claims: JWTPayload, e = expected): Promise<string | undefined> {
  const token = await new SignJWT(claims).setProtectedHeader({ alg: 'ES256' }).sign(keys.privateKey);
  try {
    await jwtVerify(token, keys.publicKey, {
      issuer: e.issuer,
      audience: [...e.audiences],
      requiredClaims: [...e.required],
      clockTolerance: e.skew,
      currentDate: new Date(NOW * 1000),
    });
    return undefined;
  } catch (err) {
    return (err as { code: string }).code;
  }
}

const without = (key: keyof typeof base) => Object.fromEntries(Object.entries(base).filter(([k]) => k !== key));

describe('claimProblem', () => {
  it.each<[string, JWTPayload, string | undefined]>([
    ['a valid token', base, undefined],
    ['aud as one string', { ...base, aud: 'b' }, undefined],
    ['no nbf', without('nbf'), undefined],
    ['no exp', without('exp'), 'exp missing'],
    ['no iat', without('iat'), 'iat missing'],
    ['no sub', without('sub'), 'sub missing'],
    ['no iss', without('iss'), 'iss'],
    ['another iss', { ...base, iss: 'https://other.test' }, 'iss'],
    ['no aud', without('aud'), 'aud missing'],
    ['another aud', { ...base, aud: ['c'] }, 'aud'],
    ['aud as a number', { ...base, aud: 7 as unknown as string }, 'aud'],
    ['iat as a string', { ...base, iat: 'x' as unknown as number }, 'iat invalid'],
    ['nbf as a string', { ...base, nbf: 'x' as unknown as number }, 'nbf invalid'],
    ['nbf 60 s ahead (the skew)', { ...base, nbf: NOW + 60 }, undefined],
    ['nbf 61 s ahead', { ...base, nbf: NOW + 61 }, 'nbf'],
    ['exp as a string', { ...base, exp: 'x' as unknown as number }, 'exp invalid'],
    ['exp 59 s ago', { ...base, exp: NOW - 59 }, undefined],
    ['exp 60 s ago (the skew: expired)', { ...base, exp: NOW - 60 }, 'expired'],
  ])('%s', async (_t, claims, problem) => {
    expect(claimProblem(claims, expected, NOW)).toBe(problem);
    expect((await jose(claims)) === undefined).toBe(problem === undefined);
  });

  it('requires only what it is told to (Access tokens need no iat)', async () => {
    const access = { ...expected, required: ['exp', 'sub'] as const };
    expect(claimProblem(without('iat'), access, NOW)).toBeUndefined();
    expect(await jose(without('iat'), access)).toBeUndefined();
  });
});
