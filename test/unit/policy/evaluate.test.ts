import { describe, expect, it } from 'vitest';
import { EdgeError } from '../../../src/errors';
import type { Workload } from '../../../src/identity/workload';
import { compileRecord, credentialLifetime, evaluate } from '../../../src/policy/evaluate';
import { findRevocation, type Revocation } from '../../../src/policy/revocation';
import { TrustRecordSchema } from '../../../src/policy/schema';

const NOW = 1_800_000_000;
const compiled = compileRecord(
  TrustRecordSchema.parse({
    name: 'prod',
    issuer: 'https://k8s.example',
    audiences: ['edge'],
    keys: { type: 'discovery' },
    rules: [
      { name: 'pinned', namespaces: ['ops'], serviceAccountUids: ['uid-ops'], registry: 'reg.example', repositories: ['ops/**'], actions: ['pull', 'push'] },
      { name: 'tier', namespaces: ['team-*'], annotations: { 'example.com/tier': 'prod' }, registry: 'reg.example', repositories: ['prod/*'] },
      {
        name: 'team-a',
        namespaces: ['team-a'],
        serviceAccounts: ['builder', 'ci-*'],
        registry: 'reg.example',
        service: 'reg-svc',
        repositories: ['team-a/*'],
        ttl: 600,
      },
    ],
  }),
);

const who = (namespace: string, name = 'builder', uid = 'uid-1') => ({ namespace, serviceAccount: { name, uid } });
const image = (repository: string, registry = 'reg.example') => ({ registry, repository });

describe('evaluate', () => {
  it.each<[string, ReturnType<typeof who>, Record<string, string>, ReturnType<typeof image>, string | undefined]>([
    ['the namespace and account match', who('team-a'), {}, image('team-a/app'), 'team-a'],
    ['a glob matches the account', who('team-a', 'ci-7'), {}, image('team-a/app'), 'team-a'],
    ['the account is not listed', who('team-a', 'deployer'), {}, image('team-a/app'), undefined],
    ['the repository is one level deeper than "*"', who('team-a'), {}, image('team-a/x/app'), undefined],
    ['the registry differs', who('team-a'), {}, image('team-a/app', 'other.example'), undefined],
    ['the uid is pinned and matches', who('ops', 'x', 'uid-ops'), {}, image('ops/a/b'), 'pinned'],
    ['the uid is pinned and differs', who('ops', 'x', 'uid-other'), {}, image('ops/a/b'), undefined],
    ['the annotation has the required value', who('team-b'), { 'example.com/tier': 'prod' }, image('prod/app'), 'tier'],
    ['the annotation has another value', who('team-b'), { 'example.com/tier': 'dev' }, image('prod/app'), undefined],
    ['the annotation is missing', who('team-b'), {}, image('prod/app'), undefined],
  ])('when %s, grants by rule %s', (_when, w, annotations, img, rule) => {
    const d = evaluate(compiled, w, annotations, img);
    expect(d.allowed ? d.rule.name : undefined).toBe(rule);
    expect(d.trace.at(-1)!.matched).toBe(rule !== undefined);
  });

  it('says for every rule tried why it did not match', () => {
    const d = evaluate(compiled, who('team-a', 'deployer'), {}, image('team-a/app'));
    expect(d.trace.map((t) => t.reason)).toEqual([
      'namespace "team-a" is not in [ops]',
      'annotation "example.com/tier" is missing',
      'service account "deployer" is not in [builder, ci-*]',
    ]);
  });

  it("grants the rule's service, actions and repositories", () => {
    const d = evaluate(compiled, who('team-a'), {}, image('team-a/app'));
    expect(d).toMatchObject({ allowed: true, service: 'reg-svc', grants: [{ repositories: ['team-a/*'], actions: ['pull'] }] });
  });
});

describe('credentialLifetime', () => {
  it.each([
    [3600, NOW + 7200, 3600],
    [3600, NOW + 100, 100],
    [600, NOW + 1, 1],
  ])('a %i s rule with a token expiring at +%i lives %i s', (ttl, exp, expected) => {
    expect(credentialLifetime(ttl, exp, NOW)).toBe(expected);
  });

  it('gives nothing to a token past exp (accepted by skew only)', () => {
    expect(() => credentialLifetime(3600, NOW, NOW)).toThrow(EdgeError);
  });
});

describe('findRevocation (exchange: no credential yet)', () => {
  const w: Pick<Workload, 'namespace' | 'serviceAccount'> = who('team-a', 'builder', 'uid-1');
  const r = (e: Record<string, unknown>) => ({ id: 'rv-1', createdAt: NOW, expiresAt: NOW + 60, ...e }) as Revocation;
  it.each<[string, Revocation, boolean]>([
    ['its uid', r({ kind: 'serviceAccountUid', uid: 'uid-1' }), true],
    ['its namespace and name', r({ kind: 'serviceAccount', namespace: 'team-a', name: 'builder' }), true],
    ['a credential id (applies to credentials only)', r({ kind: 'credential', jti: 'x' }), false],
    ['a cut-off time (applies to credentials only)', r({ kind: 'issuedBefore', before: NOW + 10 }), false],
    ['its uid, expired', r({ kind: 'serviceAccountUid', uid: 'uid-1', expiresAt: NOW }), false],
  ])('a revocation of %s denies: %s', (_what, entry, denied) => {
    expect(findRevocation([entry], { workload: w }, NOW) !== undefined).toBe(denied);
  });
});
