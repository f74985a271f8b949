/**
 * Key sync's decision as a pure function (policy/key-sync.ts): real keys, real signed tokens,
 * a fixed clock, one row per case. A record trusts key "old"; the cluster's key-sync account
 * pushes sets with "old", "new" (a second key of the same cluster) or an impostor's key.
 */
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { EdgeError } from '../../../src/errors';
import { acceptKeySync, parsePush, staleKeysWarning, type PushedJwks } from '../../../src/policy/key-sync';
import type { Revocation } from '../../../src/policy/revocation';
import { TrustRecordSchema, type TrustRecord } from '../../../src/policy/schema';
import { serviceAccountClaims, signServiceAccountToken } from '../../support/kit.mjs';

const NOW = 1_800_000_000;
const ISSUER = 'https://cluster.k8s.test';
const SYNC_AUDIENCE = 'edge-key-sync';
const keySync = { audience: SYNC_AUDIENCE, serviceAccount: { namespace: 'kube-system', name: 'edge-key-sync' } };

interface Key {
  privateKey: CryptoKey;
  jwk: JWK & { kid: string };
}
const keys: Record<'old' | 'new' | 'impostor' | 'sameKidOtherKey', Key> = {} as never;

beforeAll(async () => {
  const make = async (kid: string): Promise<Key> => {
    const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
    return { privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' } };
  };
  keys.old = await make('old');
  keys.new = await make('new');
  keys.impostor = await make('impostor');
  keys.sameKidOtherKey = await make('old');
});

function record(held: Key[], overrides: Record<string, unknown> = {}): TrustRecord {
  return TrustRecordSchema.parse({
    name: 'prod',
    issuer: ISSUER,
    audiences: ['edge-credential-provider'],
    keys: { type: 'inline', jwks: { keys: held.map((k) => k.jwk) } },
    rules: [],
    keySync,
    ...overrides,
  });
}

interface TokenSpec {
  key?: Key;
  namespace?: string;
  serviceAccount?: string;
  audience?: string;
  issuer?: string;
  /** Seconds before NOW it was issued (lives 1 h). */
  age?: number;
}
function token(t: TokenSpec = {}): Promise<string> {
  const key = t.key ?? keys.old;
  const claims = serviceAccountClaims({
    issuer: t.issuer ?? ISSUER,
    namespace: t.namespace ?? 'kube-system',
    serviceAccount: t.serviceAccount ?? 'edge-key-sync',
    audience: t.audience ?? SYNC_AUDIENCE,
    now: NOW - (t.age ?? 60),
  });
  return signServiceAccountToken(claims, { privateKey: key.privateKey, alg: 'RS256', kid: key.jwk.kid });
}

const push = (...set: Key[]): PushedJwks => parsePush({ jwks: { keys: set.map((k) => k.jwk) } });

interface Case {
  name: string;
  held: () => Key[];
  token: () => TokenSpec;
  pushed: () => Key[];
  overrides?: Record<string, unknown>;
  revocations?: Revocation[];
  /** The refusal's code, or the accepted outcome. */
  expected: string | { changed: boolean };
}

const cases: Case[] = [
  {
    name: 'adds the new key, signed by the current one',
    held: () => [keys.old],
    token: () => ({}),
    pushed: () => [keys.old, keys.new],
    expected: { changed: true },
  },
  { name: 'confirms the same set', held: () => [keys.old], token: () => ({}), pushed: () => [keys.old], expected: { changed: false } },
  {
    name: 'drops the old key once the new one signs (the Kubernetes way)',
    held: () => [keys.old, keys.new],
    token: () => ({ key: keys.new }),
    pushed: () => [keys.new],
    expected: { changed: true },
  },
  {
    name: 'refuses a dropped (stolen) key replacing the set',
    held: () => [keys.new],
    token: () => ({ key: keys.old }),
    pushed: () => [keys.old],
    expected: 'ERR_UNKNOWN_KEY',
  },
  {
    name: 'refuses a set without the key that signed the token',
    held: () => [keys.old, keys.new],
    token: () => ({ key: keys.old }),
    pushed: () => [keys.new],
    expected: 'ERR_KEY_CONTINUITY',
  },
  {
    name: 'refuses a set whose key of the same kid is another key',
    held: () => [keys.old],
    token: () => ({}),
    pushed: () => [keys.sameKidOtherKey],
    expected: 'ERR_KEY_CONTINUITY',
  },
  {
    name: 'refuses a key of the same kid that did not sign it (another cluster)',
    held: () => [keys.old],
    token: () => ({ key: keys.sameKidOtherKey }),
    pushed: () => [keys.sameKidOtherKey],
    expected: 'ERR_BAD_SIGNATURE',
  },
  { name: 'refuses an unknown kid', held: () => [keys.old], token: () => ({ key: keys.impostor }), pushed: () => [keys.impostor], expected: 'ERR_UNKNOWN_KEY' },
  {
    name: 'refuses another service account',
    held: () => [keys.old],
    token: () => ({ serviceAccount: 'default' }),
    pushed: () => [keys.old, keys.new],
    expected: 'ERR_KEY_SYNC_FORBIDDEN',
  },
  {
    name: 'refuses the same account name in another namespace',
    held: () => [keys.old],
    token: () => ({ namespace: 'team-a' }),
    pushed: () => [keys.old, keys.new],
    expected: 'ERR_KEY_SYNC_FORBIDDEN',
  },
  {
    name: 'refuses a pull token (the record audience, not the key-sync one)',
    held: () => [keys.old],
    token: () => ({ audience: 'edge-credential-provider' }),
    pushed: () => [keys.old, keys.new],
    expected: 'ERR_AUDIENCE_MISMATCH',
  },
  {
    name: 'refuses a token of another issuer',
    held: () => [keys.old],
    token: () => ({ issuer: 'https://other.k8s.test' }),
    pushed: () => [keys.old, keys.new],
    expected: 'ERR_UNKNOWN_ISSUER',
  },
  { name: 'refuses an expired token', held: () => [keys.old], token: () => ({ age: 7200 }), pushed: () => [keys.old, keys.new], expected: 'ERR_TOKEN_EXPIRED' },
  {
    name: 'refuses a record without keySync',
    held: () => [keys.old],
    token: () => ({}),
    pushed: () => [keys.old, keys.new],
    overrides: { keySync: undefined },
    expected: 'ERR_KEY_SYNC_DISABLED',
  },
  {
    name: 'refuses a disabled record',
    held: () => [keys.old],
    token: () => ({}),
    pushed: () => [keys.old, keys.new],
    overrides: { disabled: true },
    expected: 'ERR_ISSUER_DISABLED',
  },
  {
    name: 'refuses a revoked key-sync account',
    held: () => [keys.old],
    token: () => ({}),
    pushed: () => [keys.old, keys.new],
    revocations: [
      { kind: 'serviceAccount', namespace: 'kube-system', name: 'edge-key-sync', id: 'rv-000000000001', createdAt: NOW - 10, expiresAt: NOW + 3600 },
    ],
    expected: 'ERR_REVOKED',
  },
];

describe('acceptKeySync', () => {
  it.each(cases)('$name', async (c) => {
    const held = record(c.held(), c.overrides);
    const run = acceptKeySync(held, await token(c.token()), push(...c.pushed()), c.revocations ?? [], NOW);
    if (typeof c.expected === 'string') {
      const err = await run.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(EdgeError);
      expect((err as EdgeError).code).toBe(c.expected);
      return;
    }
    const out = await run;
    expect(out.changed).toBe(c.expected.changed);
    expect(out.by).toBe('keysync:kube-system/edge-key-sync');
    expect(out.record.keys).toMatchObject({ type: 'inline', jwks: { keys: c.pushed().map((k) => ({ kid: k.jwk.kid, n: k.jwk.n })) } });
    expect(TrustRecordSchema.safeParse(out.record).success).toBe(true);
    if (!out.changed) expect(out.record).toBe(held);
  });

  it('refuses a token that is not a JWT', async () => {
    await expect(acceptKeySync(record([keys.old]), 'not-a-token', push(keys.old), [], NOW)).rejects.toMatchObject({ code: 'ERR_TOKEN_MALFORMED' });
  });
});

describe('parsePush', () => {
  const jwk = () => keys.old.jwk;
  it.each([
    ['a private RSA member (d)', () => ({ jwks: { keys: [{ ...jwk(), d: 'AQAB' }] } })],
    ['a symmetric key (k)', () => ({ jwks: { keys: [{ kty: 'oct', kid: 's', k: 'c2VjcmV0' }] } })],
    ['an OKP key', () => ({ jwks: { keys: [{ kty: 'OKP', crv: 'Ed25519', kid: 'o', x: 'AAAA' }] } })],
    ['a key without kid', () => ({ jwks: { keys: [{ ...jwk(), kid: undefined }] } })],
    ['two keys with one kid', () => ({ jwks: { keys: [jwk(), jwk()] } })],
    ['an empty set', () => ({ jwks: { keys: [] } })],
    ['21 keys', () => ({ jwks: { keys: Array.from({ length: 21 }, (_, i) => ({ ...jwk(), kid: `k${i}` })) } })],
    ['an RSA modulus over 8192 bits', () => ({ jwks: { keys: [{ ...jwk(), n: 'A'.repeat(1400) }] } })],
    ['a modulus that is not base64url', () => ({ jwks: { keys: [{ ...jwk(), n: 'not base64!' }] } })],
    ['a body that is not an object', () => ['keys']],
    ['other top-level members', () => ({ jwks: { keys: [jwk()] }, record: 'prod' })],
  ])('refuses %s with ERR_INVALID_JWKS', (_, body) => {
    let err: unknown;
    try {
      parsePush(body());
    } catch (e) {
      err = e;
    }
    expect((err as EdgeError).code).toBe('ERR_INVALID_JWKS');
    expect((err as EdgeError).status).toBe(400);
  });

  it('keeps only the public members of what the API server publishes', () => {
    const out = parsePush({ jwks: { keys: [{ ...jwk(), x5t: 'abc', extra: 1 }] } });
    expect(Object.keys(out.keys[0]!).sort()).toEqual(['alg', 'e', 'kid', 'kty', 'n', 'use']);
  });
});

describe('staleKeysWarning', () => {
  const held = () => record([keys.old]);
  it('is silent within the threshold (default 7 days)', () => {
    expect(staleKeysWarning(held(), { at: NOW - 6 * 86400, by: 'keysync:kube-system/edge-key-sync' }, NOW)).toBeUndefined();
  });
  it('warns past it, naming who confirmed last', () => {
    expect(staleKeysWarning(held(), { at: NOW - 8 * 86400, by: 'token:admin' }, NOW)).toMatch(
      /record prod: inline keys last confirmed 192 h ago by token:admin/,
    );
  });
  it("honours the record's staleAfter", () => {
    const r = record([keys.old], { keys: { type: 'inline', jwks: { keys: [keys.old.jwk] }, staleAfter: 3600 } });
    expect(staleKeysWarning(r, { at: NOW - 7200, by: 'token:admin' }, NOW)).toMatch(/threshold 1 h/);
  });
  it('warns when no confirmation was ever recorded, and never for remote keys', () => {
    expect(staleKeysWarning(held(), undefined, NOW)).toMatch(/no recorded confirmation/);
    expect(staleKeysWarning(record([], { keys: { type: 'discovery' }, keySync: undefined }), undefined, NOW)).toBeUndefined();
  });
});

describe('the record schema for keySync', () => {
  it('refuses keySync without inline keys, and a key-sync audience that is a pull audience', () => {
    const base = { name: 'prod', issuer: ISSUER, audiences: ['edge-credential-provider'], rules: [] };
    const remote = TrustRecordSchema.safeParse({ ...base, keys: { type: 'discovery' }, keySync });
    expect(remote.error?.issues.map((i) => i.path.join('.'))).toEqual(['keySync']);
    const same = TrustRecordSchema.safeParse({
      ...base,
      keys: { type: 'inline', jwks: { keys: [keys.old.jwk] } },
      keySync: { ...keySync, audience: 'edge-credential-provider' },
    });
    expect(same.error?.issues.map((i) => i.path.join('.'))).toEqual(['keySync.audience']);
  });
});
