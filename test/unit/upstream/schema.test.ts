import { describe, expect, it } from 'vitest';
import { describeIssues, TrustRecordSchema } from '../../../src/policy/schema';
import { EDGE_BINDINGS, ecrRegistryHost, EcrSchema, upstreamDefaults, UpstreamSchema, type TokenUpstream } from '../../../src/upstream/schema';

const ROLE = 'arn:aws:iam::123456789012:role/ecr-pull';
const ecr = { type: 'ecr', roleArn: ROLE, region: 'eu-west-1' };
const cloudsmith = { type: 'cloudsmith', organization: 'acme', serviceAccount: 'k8s-pull' };
const PROVIDER = 'projects/123456789/locations/global/workloadIdentityPools/edge-pool/providers/edge-oidc';
const gar = { type: 'gar', workloadIdentityProvider: PROVIDER };
const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const CLIENT = '0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0';
const acr = { type: 'acr', tenantId: TENANT, clientId: CLIENT };
const quay = { type: 'quay', robot: 'acme+puller' };
const dockerhub = { type: 'dockerhub', organization: 'acme', connectionId: '123e4567-e89b-42d3-a456-426614174000' };
const harbor = { type: 'harbor' };
const staticU = { type: 'static', username: 'acme-bot', secret: 'GHCR_PULL_TOKEN' };

const record = (rule: Record<string, unknown>) => ({
  name: 'prod',
  issuer: 'https://k8s.example',
  audiences: ['edge'],
  keys: { type: 'discovery' },
  rules: [{ name: 'r', namespaces: ['team-a'], repositories: ['team-a/*'], ...rule }],
});

function issues(rule: Record<string, unknown>): string[] {
  const r = TrustRecordSchema.safeParse(record(rule));
  return r.success ? [] : describeIssues(r.error);
}

describe('upstreams in trust rules', () => {
  it.each<[string, string, Record<string, unknown>]>([
    ['Cloudsmith', 'docker.cloudsmith.io', cloudsmith],
    ['ECR', '123456789012.dkr.ecr.eu-west-1.amazonaws.com', ecr],
    ['Artifact Registry (regional)', 'europe-west1-docker.pkg.dev', gar],
    ['Artifact Registry (multi-region)', 'us-docker.pkg.dev', { ...gar, serviceAccount: 'puller@my-project.iam.gserviceaccount.com', tokenLifetime: 1800 }],
    ['ACR', 'acmeprod.azurecr.io', acr],
    ['quay.io', 'quay.io', quay],
    ['a self-hosted Quay on a port', 'quay.example.com:8443', { ...quay, endpoint: 'https://quay.example.com:8443' }],
    ['Docker Hub', 'docker.io', dockerhub],
    ['Docker Hub by its registry host', 'registry-1.docker.io', { ...dockerhub, expiresIn: 300 }],
    ['Harbor', 'harbor.example.com', { ...harbor, username: 'robot$team-a+puller' }],
    ['a static secret for GHCR', 'ghcr.io', staticU],
  ])('accepts a %s rule for its own registry host', (_vendor, registry, upstream) => {
    expect(issues({ registry, upstream })).toEqual([]);
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['an ECR rule for another host', { registry: 'registry.example', upstream: ecr }, 'rules.0.registry'],
    ['an ECR rule for another region', { registry: '123456789012.dkr.ecr.us-east-1.amazonaws.com', upstream: ecr }, 'rules.0.registry'],
    ['a token service on a federated rule', { registry: 'docker.cloudsmith.io', service: 'x', upstream: cloudsmith }, 'rules.0.service'],
    [
      'a plain-http vendor endpoint off loopback',
      { registry: 'docker.cloudsmith.io', upstream: { ...cloudsmith, endpoint: 'http://api.cloudsmith.io' } },
      'rules.0.upstream.endpoint',
    ],
    ['an unknown vendor', { registry: 'ghcr.io', upstream: { type: 'ghcr' } }, 'rules.0.upstream'],
    ['an Artifact Registry rule for another host', { registry: 'gcr.io', upstream: gar }, 'rules.0.registry'],
    [
      'an Artifact Registry provider in another shape',
      { registry: 'us-docker.pkg.dev', upstream: { ...gar, workloadIdentityProvider: `//iam.googleapis.com/${PROVIDER}` } },
      'rules.0.upstream.workloadIdentityProvider',
    ],
    [
      'an impersonated token beyond 12 h',
      { registry: 'us-docker.pkg.dev', upstream: { ...gar, serviceAccount: 'a@p.iam.gserviceaccount.com', tokenLifetime: 86400 } },
      'rules.0.upstream.tokenLifetime',
    ],
    ['an ACR rule for a host that is not a login server', { registry: 'acme.example.com', upstream: acr }, 'rules.0.registry'],
    ['an ACR rule on azurecr.io with a port', { registry: 'acmeprod.azurecr.io:443', upstream: acr }, 'rules.0.registry'],
    [
      'an ACR tenant that is not a GUID',
      { registry: 'acmeprod.azurecr.io', upstream: { ...acr, tenantId: 'contoso.onmicrosoft.com' } },
      'rules.0.upstream.tenantId',
    ],
    [
      'ES256 for Entra ID, which verifies RSA only',
      { registry: 'acmeprod.azurecr.io', upstream: { ...acr, algorithm: 'ES256' } },
      'rules.0.upstream.algorithm',
    ],
    ['ES256 for Quay, which verifies RSA only', { registry: 'quay.io', upstream: { ...quay, algorithm: 'ES256' } }, 'rules.0.upstream.algorithm'],
    ['a Quay robot without its organization', { registry: 'quay.io', upstream: { ...quay, robot: 'puller' } }, 'rules.0.upstream.robot'],
    ['a Docker Hub rule for another registry', { registry: 'ghcr.io', upstream: dockerhub }, 'rules.0.registry'],
    ['a Docker Hub rule on index.docker.io (read as docker.io)', { registry: 'index.docker.io', upstream: dockerhub }, 'rules.0.registry'],
    ["a Docker token beyond Docker's 3600 s", { registry: 'docker.io', upstream: { ...dockerhub, expiresIn: 7200 } }, 'rules.0.upstream.expiresIn'],
    [
      'a Docker connection id that is not a UUID',
      { registry: 'docker.io', upstream: { ...dockerhub, connectionId: 'conn-1' } },
      'rules.0.upstream.connectionId',
    ],
    ['a Harbor username with a colon', { registry: 'harbor.example.com', upstream: { ...harbor, username: 'a:b' } }, 'rules.0.upstream.username'],
    ['a static secret name in lowercase', { registry: 'ghcr.io', upstream: { ...staticU, secret: 'ghcr_token' } }, 'rules.0.upstream.secret'],
    ['a static secret with a workload-token field', { registry: 'ghcr.io', upstream: { ...staticU, audience: 'x' } }, 'rules.0.upstream'],
    ['a static upstream without a username', { registry: 'ghcr.io', upstream: { type: 'static', secret: 'GHCR_PULL_TOKEN' } }, 'rules.0.upstream.username'],
    [
      'a role that is not an IAM role ARN',
      { registry: '123456789012.dkr.ecr.eu-west-1.amazonaws.com', upstream: { ...ecr, roleArn: 'arn:aws:iam::123456789012:user/bob' } },
      'rules.0.upstream.roleArn',
    ],
    [
      'a session under 900 s',
      { registry: '123456789012.dkr.ecr.eu-west-1.amazonaws.com', upstream: { ...ecr, sessionDuration: 60 } },
      'rules.0.upstream.sessionDuration',
    ],
    [
      'an unknown upstream field (say, a host taken from somewhere else)',
      { registry: 'docker.cloudsmith.io', upstream: { ...cloudsmith, host: 'evil.example' } },
      'rules.0.upstream',
    ],
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

  it.each<[Record<string, unknown>, string, Record<string, string>]>([
    [cloudsmith, 'docker.cloudsmith.io', { vendor: 'Cloudsmith', audience: 'https://api.cloudsmith.io', algorithm: 'RS256' }],
    [ecr, '123456789012.dkr.ecr.eu-west-1.amazonaws.com', { vendor: 'AWS', audience: 'sts.amazonaws.com', algorithm: 'RS256' }],
    [
      { ...ecr, audience: 'my-aud', algorithm: 'ES256' },
      '123456789012.dkr.ecr.eu-west-1.amazonaws.com',
      { vendor: 'AWS', audience: 'my-aud', algorithm: 'ES256' },
    ],
    [gar, 'us-docker.pkg.dev', { vendor: 'Google Cloud', audience: `//iam.googleapis.com/${PROVIDER}`, algorithm: 'RS256' }],
    [{ ...gar, algorithm: 'ES256' }, 'us-docker.pkg.dev', { vendor: 'Google Cloud', audience: `//iam.googleapis.com/${PROVIDER}`, algorithm: 'ES256' }],
    [acr, 'acmeprod.azurecr.io', { vendor: 'Entra ID', audience: 'api://AzureADTokenExchange', algorithm: 'RS256' }],
    [quay, 'quay.io', { vendor: 'Quay', audience: 'quay.io', algorithm: 'RS256' }],
    [dockerhub, 'docker.io', { vendor: 'Docker Hub', audience: 'https://identity.docker.com', algorithm: 'RS256' }],
    [harbor, 'harbor.example.com', { vendor: 'Harbor', audience: 'harbor.example.com', algorithm: 'RS256' }],
  ])('defaults the audience and algorithm per vendor (%o)', (u, registry, expected) => {
    expect(upstreamDefaults(UpstreamSchema.parse(u) as TokenUpstream, registry)).toEqual(expected);
  });

  it.each([...EDGE_BINDINGS, 'EDGE_SOMETHING_NEW', 'ADMIN_READ_TOKEN'])("refuses a static upstream that would hand out the edge's own binding %s", (name) => {
    const found = issues({ registry: 'ghcr.io', upstream: { ...staticU, secret: name } });
    expect(found.some((i) => i.startsWith('rules.0.upstream.secret'))).toBe(true);
  });

  it.each(['serviceAccount', 'namespace', 'rule', 'record'])('takes "subject": "%s"', (subject) => {
    expect(UpstreamSchema.parse({ ...harbor, subject })).toMatchObject({ subject });
  });

  it.each(['workload', 'pod', 'Rule'])('refuses "subject": "%s", naming the field', (subject) => {
    expect(issues({ registry: 'harbor.example.com', upstream: { ...harbor, subject } }).some((i) => i.startsWith('rules.0.upstream.subject'))).toBe(true);
  });

  it('defaults a Harbor username, a Docker token lifetime and an impersonated token lifetime', () => {
    expect(UpstreamSchema.parse(harbor)).toMatchObject({ username: 'jwt', subject: 'serviceAccount' });
    expect(UpstreamSchema.parse(dockerhub)).toMatchObject({ expiresIn: 3600 });
    expect(UpstreamSchema.parse(gar)).toMatchObject({ tokenLifetime: 3600 });
  });
});
