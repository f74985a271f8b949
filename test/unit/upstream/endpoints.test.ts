/**
 * Vendor endpoint overrides (src/upstream/endpoints.ts): an origin and nothing else, stored
 * normalised, and without ALLOW_ENDPOINT_OVERRIDES only the vendor's own hosts (or, for ACR
 * and Quay, the rule's registry).
 */
import { describe, expect, it } from 'vitest';
import { endpointProblems } from '../../../src/upstream/endpoints';
import { EndpointSchema, UpstreamSchema } from '../../../src/upstream/schema';

describe('EndpointSchema', () => {
  it.each([
    ['https://api.cloudsmith.io', 'https://api.cloudsmith.io'],
    ['https://API.Cloudsmith.IO/', 'https://api.cloudsmith.io'],
    ['https://quay.example.com:443', 'https://quay.example.com'],
    ['https://quay.example.com:8443', 'https://quay.example.com:8443'],
    ['http://127.0.0.1:9000', 'http://127.0.0.1:9000'],
    ['http://localhost:9000/', 'http://localhost:9000'],
  ])('stores %s as %s', (raw, stored) => {
    expect(EndpointSchema.parse(raw)).toBe(stored);
  });

  it.each([
    ['a command substitution', 'https://quay.io/$(touch /tmp/x)'],
    ['a newline (the URL parser drops it)', 'https://quay.io\n/x'],
    ['a tab', 'https://qu\tay.io'],
    ['a space', 'https://quay.io /x'],
    ['a trailing newline', 'https://quay.io\n'],
    ['a control character', 'https://quay.io\u0000'],
    ['a non-ASCII character', 'https://quаy.io'],
    ['user info', 'https://user:pass@quay.io'],
    ['an empty user info', 'https://@quay.io'],
    ['a path', 'https://quay.io/api'],
    ['a query', 'https://quay.io?x=1'],
    ['an empty query', 'https://quay.io/?'],
    ['a fragment', 'https://quay.io#x'],
    ['plain http to a public host', 'http://quay.io'],
    ['plain http to a private address', 'http://10.0.0.1'],
    ['another scheme', 'file:///etc/passwd'],
    ['no URL at all', 'quay.io'],
  ])('refuses %s', (_t, raw) => {
    expect(EndpointSchema.safeParse(raw).success).toBe(false);
  });
});

describe('endpointProblems without ALLOW_ENDPOINT_OVERRIDES', () => {
  const up = (u: Record<string, unknown>) => UpstreamSchema.parse(u);
  const ecr = { type: 'ecr', roleArn: 'arn:aws:iam::123456789012:role/pull', region: 'eu-west-1' };
  const gar = { type: 'gar', workloadIdentityProvider: 'projects/123/locations/global/workloadIdentityPools/pool/providers/prov' };
  const acr = { type: 'acr', tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47', clientId: '0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0' };
  const cloudsmith = { type: 'cloudsmith', organization: 'acme', serviceAccount: 'puller' };
  const dockerhub = { type: 'dockerhub', organization: 'acme', connectionId: '123e4567-e89b-42d3-a456-426614174000' };

  it.each([
    ['Cloudsmith', { ...cloudsmith, endpoint: 'https://api.cloudsmith.io' }, 'docker.cloudsmith.io'],
    ['AWS regional STS and ECR', { ...ecr, stsEndpoint: 'https://sts.eu-west-1.amazonaws.com', ecrEndpoint: 'https://api.ecr.eu-west-1.amazonaws.com' }, 'x'],
    ['AWS FIPS', { ...ecr, stsEndpoint: 'https://sts-fips.us-east-1.amazonaws.com', ecrEndpoint: 'https://ecr-fips.us-east-1.amazonaws.com' }, 'x'],
    ['Google regional', { ...gar, stsEndpoint: 'https://sts.europe-west1.rep.googleapis.com', iamEndpoint: 'https://iamcredentials.googleapis.com' }, 'x'],
    ['Google Private Service Connect', { ...gar, stsEndpoint: 'https://sts-edge.p.googleapis.com' }, 'x'],
    ['Entra, US government', { ...acr, entraEndpoint: 'https://login.microsoftonline.us' }, 'acmeprod.azurecr.io'],
    ['ACR, its own registry', { ...acr, registryEndpoint: 'https://acmeprod.azurecr.io' }, 'acmeprod.azurecr.io'],
    ['Quay, the rule registry on a port', { type: 'quay', robot: 'acme+puller', endpoint: 'https://quay.example.com:8443' }, 'quay.example.com:8443'],
    ['Docker', { ...dockerhub, endpoint: 'https://identity.docker.com' }, 'docker.io'],
  ])('accepts %s', (_t, upstream, registry) => {
    expect(endpointProblems(up(upstream), registry, false)).toEqual([]);
  });

  it.each([
    ['a metadata address', { ...cloudsmith, endpoint: 'https://169.254.169.254' }, 'docker.cloudsmith.io', 'endpoint'],
    ['a private range', { ...ecr, stsEndpoint: 'https://10.0.0.1' }, 'x', 'stsEndpoint'],
    ['loopback', { ...gar, iamEndpoint: 'http://127.0.0.1:9000' }, 'x', 'iamEndpoint'],
    ['an S3 bucket under amazonaws.com', { ...ecr, ecrEndpoint: 'https://evil.s3.amazonaws.com' }, 'x', 'ecrEndpoint'],
    ['a look-alike host', { ...ecr, stsEndpoint: 'https://sts.amazonaws.com.evil.example' }, 'x', 'stsEndpoint'],
    ['another ACR than the rule', { ...acr, registryEndpoint: 'https://attacker.azurecr.io' }, 'acmeprod.azurecr.io', 'registryEndpoint'],
    ['another host for Quay', { type: 'quay', robot: 'acme+puller', endpoint: 'https://quay.evil.example' }, 'quay.io', 'endpoint'],
    ['Entra elsewhere', { ...acr, entraEndpoint: 'https://login.example.com' }, 'acmeprod.azurecr.io', 'entraEndpoint'],
    ['Docker elsewhere', { ...dockerhub, endpoint: 'https://identity.docker.com.evil.example' }, 'docker.io', 'endpoint'],
  ])('refuses %s', (_t, upstream, registry, field) => {
    const problems = endpointProblems(up(upstream), registry, false);
    expect(problems.map((p) => p.field)).toEqual([field]);
    expect(problems[0]!.message).toContain('ALLOW_ENDPOINT_OVERRIDES');
    expect(endpointProblems(up(upstream), registry, true)).toEqual([]);
  });

  it('refuses an unnormalised override a record got into KV some other way, even with overrides on', () => {
    const stored = { ...up({ type: 'quay', robot: 'acme+puller' }), endpoint: 'https://quay.io/$(id)' } as never;
    expect(endpointProblems(stored, 'quay.io', true).map((p) => p.field)).toEqual(['endpoint']);
  });
});
