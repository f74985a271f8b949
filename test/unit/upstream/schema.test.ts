import { describe, expect, it } from 'vitest';
import { describeIssues, TrustRecordSchema } from '../../../src/policy/schema';
import { ecrRegistryHost, EcrSchema, upstreamDefaults, UpstreamSchema } from '../../../src/upstream/schema';

const ROLE = 'arn:aws:iam::123456789012:role/ecr-pull';
const ecr = { type: 'ecr', roleArn: ROLE, region: 'eu-west-1' };
const cloudsmith = { type: 'cloudsmith', organization: 'acme', serviceAccount: 'k8s-pull' };

const record = (rule: Record<string, unknown>) => ({
  name: 'prod', issuer: 'https://k8s.example', audiences: ['edge'], keys: { type: 'discovery' },
  rules: [{ name: 'r', namespaces: ['team-a'], repositories: ['team-a/*'], ...rule }],
});

function issues(rule: Record<string, unknown>): string[] {
  const r = TrustRecordSchema.safeParse(record(rule));
  return r.success ? [] : describeIssues(r.error);
}

describe('upstreams in trust rules', () => {
  it('accepts a Cloudsmith rule and an ECR rule for its own registry host', () => {
    expect(issues({ registry: 'docker.cloudsmith.io', upstream: cloudsmith })).toEqual([]);
    expect(issues({ registry: '123456789012.dkr.ecr.eu-west-1.amazonaws.com', upstream: ecr })).toEqual([]);
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['an ECR rule for another host', { registry: 'registry.example', upstream: ecr }, 'rules.0.registry'],
    ['an ECR rule for another region', { registry: '123456789012.dkr.ecr.us-east-1.amazonaws.com', upstream: ecr }, 'rules.0.registry'],
    ['a token service on a federated rule', { registry: 'docker.cloudsmith.io', service: 'x', upstream: cloudsmith }, 'rules.0.service'],
    ['a plain-http vendor endpoint off loopback', { registry: 'docker.cloudsmith.io', upstream: { ...cloudsmith, endpoint: 'http://api.cloudsmith.io' } }, 'rules.0.upstream.endpoint'],
    ['an unknown vendor', { registry: 'quay.io', upstream: { type: 'quay' } }, 'rules.0.upstream'],
    ['a role that is not an IAM role ARN', { registry: '123456789012.dkr.ecr.eu-west-1.amazonaws.com', upstream: { ...ecr, roleArn: 'arn:aws:iam::123456789012:user/bob' } }, 'rules.0.upstream.roleArn'],
    ['a session under 900 s', { registry: '123456789012.dkr.ecr.eu-west-1.amazonaws.com', upstream: { ...ecr, sessionDuration: 60 } }, 'rules.0.upstream.sessionDuration'],
    ['an unknown upstream field (say, a host taken from somewhere else)', { registry: 'docker.cloudsmith.io', upstream: { ...cloudsmith, host: 'evil.example' } }, 'rules.0.upstream'],
  ])('refuses %s', (_t, rule, path) => {
    expect(issues(rule).some((i) => i.startsWith(path))).toBe(true);
  });

  it('allows http endpoints on loopback only (fakes in tests)', () => {
    expect(issues({ registry: 'docker.cloudsmith.io', upstream: { ...cloudsmith, endpoint: 'http://127.0.0.1:9000' } })).toEqual([]);
  });

  it('derives the ECR registry from the role unless given', () => {
    expect(ecrRegistryHost(EcrSchema.parse(ecr))).toBe('123456789012.dkr.ecr.eu-west-1.amazonaws.com');
    expect(ecrRegistryHost(EcrSchema.parse({ ...ecr, registryId: '210987654321' }))).toBe('210987654321.dkr.ecr.eu-west-1.amazonaws.com');
  });

  it.each([
    [cloudsmith, { vendor: 'Cloudsmith', audience: 'https://api.cloudsmith.io', algorithm: 'RS256' }],
    [ecr, { vendor: 'AWS', audience: 'sts.amazonaws.com', algorithm: 'RS256' }],
    [{ ...ecr, audience: 'my-aud', algorithm: 'ES256' }, { vendor: 'AWS', audience: 'my-aud', algorithm: 'ES256' }],
  ])('defaults the audience and algorithm per vendor (%o)', (u, expected) => {
    expect(upstreamDefaults(UpstreamSchema.parse(u))).toEqual(expected);
  });
});
