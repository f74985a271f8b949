/**
 * What the admin API checks on a record's upstreams beyond its schema (upstream/record-checks.ts):
 * a static upstream's binding follows the UPSTREAM_SECRET_ convention, and a Harbor rule never
 * shares its subjects with a rule at a vendor that does not check aud (Quay).
 */
import { describe, expect, it } from 'vitest';
import { globsOverlap, type RuleUpstream, upstreamWriteIssues } from '../../../src/upstream/record-checks';
import { UpstreamSchema } from '../../../src/upstream/schema';

describe('globsOverlap', () => {
  it.each([
    ['team-a', 'team-a', true],
    ['team-a', 'team-b', false],
    ['*', 'anything', true],
    ['team-*', 'team-a', true],
    ['team-*', '*-a', true],
    ['team-*', 'prod-*', false],
    ['*-a', '*-b', false],
    ['a*b', '*c*', true],
    ['a*', 'b*', false],
    ['*x*', '*y*', true],
    ['abc', 'a*c', true],
    ['abc', 'a*d', false],
    ['', '*', true],
  ])('%j and %j overlap: %s', (a, b, overlap) => {
    expect(globsOverlap(a, b)).toBe(overlap);
    expect(globsOverlap(b, a)).toBe(overlap);
  });

  it('stays fast on long patterns full of wildcards', () => {
    const a = `${'a*'.repeat(100)}x`;
    const b = `${'*a'.repeat(100)}y`;
    const started = Date.now();
    expect(globsOverlap(a, b)).toBe(false);
    expect(Date.now() - started).toBeLessThan(500);
  });
});

const rule = (name: string, upstream: Record<string, unknown>, extra: Partial<RuleUpstream> = {}): RuleUpstream => ({
  name,
  namespaces: ['team-a'],
  serviceAccounts: ['*'],
  registry: upstream.type === 'quay' ? 'quay.io' : 'harbor.example.com',
  upstream: UpstreamSchema.parse(upstream),
  ...extra,
});
const harbor = { type: 'harbor' };
const quay = { type: 'quay', robot: 'acme+puller' };

describe('upstreamWriteIssues', () => {
  it.each([
    ['the same namespace and service accounts', rule('h', harbor), rule('q', quay)],
    ['overlapping namespace globs', rule('h', harbor, { namespaces: ['team-*'] }), rule('q', quay, { namespaces: ['*-a'] })],
    ['overlapping service accounts', rule('h', harbor, { serviceAccounts: ['build*'] }), rule('q', quay, { serviceAccounts: ['builder'] })],
    ['both by namespace', rule('h', { ...harbor, subject: 'namespace' }), rule('q', { ...quay, subject: 'namespace' }, { serviceAccounts: ['x'] })],
    [
      'both by record, whatever their namespaces',
      rule('h', { ...harbor, subject: 'record' }),
      rule('q', { ...quay, subject: 'record' }, { namespaces: ['team-b'] }),
    ],
  ])('refuses a Harbor rule whose subjects a Quay rule also trusts: %s', (_t, h, q) => {
    const issues = upstreamWriteIssues([q, h], false);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatch(/^rules\.1\.upstream: .*rule "q" \(quay/);
  });

  it.each([
    ['other namespaces', rule('h', harbor, { namespaces: ['team-b'] }), rule('q', quay)],
    ['other service accounts', rule('h', harbor, { serviceAccounts: ['web'] }), rule('q', quay, { serviceAccounts: ['builder'] })],
    ['subject by namespace on one side only', rule('h', { ...harbor, subject: 'namespace' }), rule('q', quay)],
    ['both by rule (each names its own rule)', rule('h', { ...harbor, subject: 'rule' }), rule('q', { ...quay, subject: 'rule' })],
    ['by rule beside by record', rule('h', { ...harbor, subject: 'rule' }), rule('q', { ...quay, subject: 'record' })],
    ['by record beside by namespace', rule('h', { ...harbor, subject: 'record' }), rule('q', { ...quay, subject: 'namespace' })],
    ['a vendor that checks aud', rule('h', harbor), rule('c', { type: 'cloudsmith', organization: 'acme', serviceAccount: 'puller' })],
  ])('accepts a Harbor rule beside a rule with %s', (_t, h, q) => {
    expect(upstreamWriteIssues([h, q], false)).toEqual([]);
  });

  it.each(['UPSTREAM_SECRET_GHCR', 'UPSTREAM_SECRET_A_B_1'])('accepts the static binding %s', (secret) => {
    expect(upstreamWriteIssues([rule('s', { type: 'static', username: 'bot', secret })], false)).toEqual([]);
  });

  it.each(['GHCR_PULL_TOKEN', 'UPSTREAM_SECRET_', 'MY_UPSTREAM_SECRET_X', 'SENTRY_DSN'])('refuses the static binding %s, naming the convention', (secret) => {
    expect(upstreamWriteIssues([rule('s', { type: 'static', username: 'bot', secret })], false)).toEqual([
      expect.stringMatching(/^rules\.0\.upstream\.secret: must be a binding named UPSTREAM_SECRET_<NAME>/),
    ]);
  });

  it('reports endpoint overrides too', () => {
    expect(upstreamWriteIssues([rule('q', { ...quay, endpoint: 'https://10.0.0.1' })], false)).toEqual([
      expect.stringMatching(/^rules\.0\.upstream\.endpoint:/),
    ]);
  });
});
