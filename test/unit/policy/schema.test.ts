import { describe, expect, it } from 'vitest';
import { describeIssues, MAX_WILDCARDS, TrustRecordSchema } from '../../../src/policy/schema';

/** A glob with `n` wildcards (runs of `*`), the first a `**` where `**` is allowed. */
const globWith = (n: number, first = '**') => [first, ...Array(n - 1).fill('*')].join('-');

const valid = {
  name: 'prod',
  issuer: 'https://k8s.example',
  audiences: ['edge'],
  keys: { type: 'discovery' },
  rules: [{ name: 'r1', namespaces: ['team-a'], registry: 'reg.example:5000', repositories: ['team-a/*'] }],
};

function issuesOf(input: unknown): string[] {
  const r = TrustRecordSchema.safeParse(input);
  expect(r.success).toBe(false);
  return describeIssues(r.error!);
}

describe('TrustRecordSchema', () => {
  it('fills documented defaults', () => {
    const r = TrustRecordSchema.parse(valid);
    expect(r.disabled).toBe(false);
    expect(r.algorithms).toEqual(['RS256', 'ES256']);
    expect(r.maxTokenLifetime).toBe(86400);
    expect(r.cacheKeyType).toBe('Image');
    expect(r.rules[0]).toMatchObject({ serviceAccounts: ['*'], actions: ['pull'], ttl: 3600 });
  });

  it.each([
    ['an unknown top-level field', { ...valid, extra: 1 }, '(record)'],
    ['no audiences', { ...valid, audiences: [] }, 'audiences'],
    ['a symmetric algorithm', { ...valid, algorithms: ['HS256'] }, 'algorithms.0'],
    ['alg none', { ...valid, algorithms: ['none'] }, 'algorithms.0'],
    ['a private key inline', { ...valid, keys: { type: 'inline', jwks: { keys: [{ kty: 'EC', d: 'secret' }] } } }, 'keys.jwks.keys.0'],
    ['a symmetric key inline', { ...valid, keys: { type: 'inline', jwks: { keys: [{ kty: 'oct', k: 'secret' }] } } }, 'keys.jwks.keys.0'],
    ['a plain-http jwks_uri', { ...valid, keys: { type: 'jwks_uri', uri: 'http://k8s.example/jwks' } }, 'keys.uri'],
    ['discovery for a non-URL issuer', { ...valid, issuer: 'kubernetes' }, 'keys'],
    ['a credential ttl above 12 h', { ...valid, rules: [{ ...valid.rules[0], ttl: 43201 }] }, 'rules.0.ttl'],
    ['a credential ttl under 60 s', { ...valid, rules: [{ ...valid.rules[0], ttl: 59 }] }, 'rules.0.ttl'],
    ['an unknown action', { ...valid, rules: [{ ...valid.rules[0], actions: ['delete'] }] }, 'rules.0.actions.0'],
    ['a registry with a path', { ...valid, rules: [{ ...valid.rules[0], registry: 'reg.example/x' }] }, 'rules.0.registry'],
    ['an uppercase repository pattern', { ...valid, rules: [{ ...valid.rules[0], repositories: ['Team/*'] }] }, 'rules.0.repositories.0'],
    ['duplicate rule names', { ...valid, rules: [valid.rules[0], valid.rules[0]] }, 'rules.1.name'],
    ['a bad record name', { ...valid, name: 'Prod_1' }, 'name'],
    [
      'a repository pattern with more than MAX_WILDCARDS wildcards',
      { ...valid, rules: [{ ...valid.rules[0], repositories: [globWith(MAX_WILDCARDS + 1)] }] },
      'rules.0.repositories.0',
    ],
    [
      'a namespace glob with more than MAX_WILDCARDS wildcards',
      { ...valid, rules: [{ ...valid.rules[0], namespaces: [globWith(MAX_WILDCARDS + 1, '*')] }] },
      'rules.0.namespaces.0',
    ],
    ['a run of three "*"', { ...valid, rules: [{ ...valid.rules[0], repositories: ['team/***'] }] }, 'rules.0.repositories.0'],
    ['an issuer too long to be a KV key', { ...valid, issuer: `https://k8s.example/${'x'.repeat(500)}` }, 'issuer'],
  ])('rejects %s, naming the field', (_title, input, path) => {
    expect(issuesOf(input).some((i) => i.startsWith(`${path}:`) || i.startsWith(`${path}.`))).toBe(true);
  });

  it('accepts globs with MAX_WILDCARDS wildcards, counting `**` as one', () => {
    const rule = { ...valid.rules[0], namespaces: [globWith(MAX_WILDCARDS, '*')], repositories: [globWith(MAX_WILDCARDS), '**/**/**/app'] };
    expect(TrustRecordSchema.safeParse({ ...valid, rules: [rule] }).success).toBe(true);
  });

  it('allows plain http for a loopback jwks_uri (local development)', () => {
    expect(TrustRecordSchema.safeParse({ ...valid, keys: { type: 'jwks_uri', uri: 'http://127.0.0.1:9999/jwks' } }).success).toBe(true);
  });
});

describe('TrustRecordSchema: rules that would undo the trust model', () => {
  const rule = { name: 'r1', namespaces: ['*'], serviceAccounts: ['*'], registry: 'reg.example', repositories: ['a/*'] };

  it.each([['annotations alone narrow a rule over every namespace and account', { ...rule, annotations: { 'x/tier': 'prod' } }, 'rules.0.annotations']])(
    'refuses a record where %s',
    (_t, r, path) => {
      const issues = issuesOf({ ...valid, rules: [r] });
      expect(issues.some((i) => i.startsWith(`${path}:`))).toBe(true);
    },
  );

  it.each([
    ['a namespace narrows it', { ...rule, namespaces: ['team-a'], annotations: { 'x/tier': 'prod' } }],
    ['a service account narrows it', { ...rule, serviceAccounts: ['builder'], annotations: { 'x/tier': 'prod' } }],
    ['a uid pin narrows it', { ...rule, serviceAccountUids: ['u1'], annotations: { 'x/tier': 'prod' } }],
    ['it has no annotations (an explicit grant to the whole cluster)', rule],
  ])('accepts an annotated or open rule when %s', (_t, r) => {
    expect(TrustRecordSchema.safeParse({ ...valid, rules: [r] }).success).toBe(true);
  });

  it('refuses two registries behind one service name', () => {
    const issues = issuesOf({
      ...valid,
      rules: [
        { name: 'a', namespaces: ['a'], registry: 'one.example', service: 'shared', repositories: ['a/*'] },
        { name: 'b', namespaces: ['b'], registry: 'two.example', service: 'shared', repositories: ['b/*'] },
      ],
    });
    expect(issues.some((i) => i.startsWith('rules.1.service:') && i.includes('one registry per service'))).toBe(true);
  });

  it("refuses a service name that is another rule's registry default", () => {
    const issues = issuesOf({
      ...valid,
      rules: [
        { name: 'a', namespaces: ['a'], registry: 'one.example', repositories: ['a/*'] },
        { name: 'b', namespaces: ['b'], registry: 'two.example', service: 'one.example', repositories: ['b/*'] },
      ],
    });
    expect(issues.some((i) => i.startsWith('rules.1.service:'))).toBe(true);
  });

  it('accepts several rules for one registry and service', () => {
    expect(
      TrustRecordSchema.safeParse({
        ...valid,
        rules: [
          { name: 'a', namespaces: ['a'], registry: 'one.example', repositories: ['a/*'] },
          { name: 'b', namespaces: ['b'], registry: 'one.example', service: 'one.example', repositories: ['b/*'] },
        ],
      }).success,
    ).toBe(true);
  });

  it('refuses an issuer that cannot be a storage key (lone surrogate)', () => {
    const issues = issuesOf({ ...valid, issuer: 'https://k8s.example/\ud800' });
    expect(issues.some((i) => i.startsWith('issuer:'))).toBe(true);
  });
});

describe('TrustRecordSchema: "subject": "record" (one vendor identity for the whole record)', () => {
  const ECR = '123456789012.dkr.ecr.eu-west-1.amazonaws.com';
  const ecr = (subject: string, role = 'pull') => ({ type: 'ecr', roleArn: `arn:aws:iam::123456789012:role/${role}`, region: 'eu-west-1', subject });
  const quay = (subject: string) => ({ type: 'quay', robot: 'acme+puller', subject });
  const rule = (name: string, upstream: Record<string, unknown>, over: Record<string, unknown> = {}) => ({
    name,
    namespaces: [name],
    registry: upstream.type === 'quay' ? 'quay.io' : ECR,
    repositories: ['team-a/*'],
    upstream,
    ...over,
  });
  const record = (...rules: unknown[]) => ({ ...valid, rules });

  it.each([
    ['other repositories', rule('a', ecr('record')), rule('b', ecr('record'), { repositories: ['team-b/*'] })],
    ['other actions', rule('a', ecr('record')), rule('b', ecr('record'), { actions: ['pull', 'push'] })],
    [
      'the same vendor with another role: AWS cannot tell the tokens apart',
      rule('a', ecr('record')),
      rule('b', ecr('record', 'other'), { repositories: ['x/*'] }),
    ],
  ])('refuses two rules of one vendor that grant differently: %s', (_t, a, b) => {
    expect(issuesOf(record(a, b)).some((i) => i.startsWith('rules.1.upstream.subject:') && i.includes('"subject": "rule"'))).toBe(true);
  });

  it.each([
    ['the same grant in another order', rule('a', ecr('record'), { repositories: ['x/*', 'y/*'] }), rule('b', ecr('record'), { repositories: ['y/*', 'x/*'] })],
    ['"rule" subjects that grant differently', rule('a', ecr('rule')), rule('b', ecr('rule'), { repositories: ['team-b/*'] })],
    ['one "record" and one "rule" subject', rule('a', ecr('record')), rule('b', ecr('rule'), { repositories: ['team-b/*'] })],
    ['two vendors', rule('a', ecr('record')), rule('b', quay('record'), { repositories: ['acme/*'] })],
  ])('accepts %s', (_t, a, b) => {
    expect(TrustRecordSchema.safeParse(record(a, b)).success).toBe(true);
  });
});
