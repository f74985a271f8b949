/**
 * explain's vendor-side trust entries (src/upstream/trust.ts via describeUpstream) and the
 * small pure helpers of the vendor clients: the entry names exactly the iss, sub and aud the
 * edge signs, in each vendor's own form, and never anything secret.
 */
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import type { Workload } from '../../../src/identity/workload';
import { rfc3339Seconds } from '../../../src/upstream/gar';
import { describeUpstream } from '../../../src/upstream/federate';
import { jwtExpiry } from '../../../src/upstream/http';
import { UpstreamSchema } from '../../../src/upstream/schema';
import { GAR_ATTRIBUTE_MAPPING } from '../../../src/upstream/trust';

const NOW = 1_800_000_000;
const EDGE = 'https://ecp.example.com';
const workload: Workload = {
  cluster: 'https://k8s.example',
  record: 'prod-eu1',
  namespace: 'team-a',
  serviceAccount: { name: 'builder', uid: 'uid-1' },
  pod: { name: 'p', uid: 'pod-uid' },
  expiresAt: NOW + 3600,
};
const PROVIDER = 'projects/123456789/locations/global/workloadIdentityPools/edge-pool/providers/edge-oidc';
const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const CLIENT = '0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0';

function explain(upstream: Record<string, unknown>, registry: string, repositories = ['**']) {
  return describeUpstream(UpstreamSchema.parse(upstream), { name: 'pull', registry, repositories }, workload, EDGE, NOW);
}

describe("explain's trust entry per vendor", () => {
  it('is data: no command text is built in the Worker (the CLI renders and quotes it)', () => {
    const hostile = { ...workload, namespace: "team-a'$(touch /tmp/x)" };
    for (const [upstream, registry] of [
      [{ type: 'ecr', roleArn: 'arn:aws:iam::123456789012:role/pull', region: 'eu-west-1' }, '123456789012.dkr.ecr.eu-west-1.amazonaws.com'],
      [{ type: 'gar', workloadIdentityProvider: PROVIDER }, 'us-docker.pkg.dev'],
      [{ type: 'acr', tenantId: TENANT, clientId: CLIENT }, 'acmeprod.azurecr.io'],
      [{ type: 'quay', robot: 'acme+puller' }, 'quay.io'],
      [{ type: 'cloudsmith', organization: 'acme', serviceAccount: 'k8s-pull' }, 'docker.cloudsmith.io'],
      [{ type: 'static', username: 'bot', secret: 'UPSTREAM_SECRET_X' }, 'ghcr.io'],
    ] as const) {
      const d = describeUpstream(UpstreamSchema.parse(upstream), { name: 'pull', registry, repositories: ['**'] }, hostile, EDGE, NOW);
      expect(d.trust).not.toHaveProperty('commands');
      const text = JSON.stringify(d.trust);
      for (const shell of ['aws iam', 'gcloud ', 'az ad', 'curl ', 'wrangler secret', "'\\''"]) expect(text).not.toContain(shell);
    }
  });

  it("AWS: a role trust policy naming the edge's IAM OIDC provider, with the exact sub and aud", () => {
    const d = explain({ type: 'ecr', roleArn: 'arn:aws:iam::123456789012:role/ecp/pull', region: 'eu-west-1' }, '123456789012.dkr.ecr.eu-west-1.amazonaws.com');
    expect(d.trust.document).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { Federated: 'arn:aws:iam::123456789012:oidc-provider/ecp.example.com' },
          Action: 'sts:AssumeRoleWithWebIdentity',
          Condition: { StringEquals: { 'ecp.example.com:aud': 'sts.amazonaws.com', 'ecp.example.com:sub': 'prod-eu1:team-a:builder' } },
        },
      ],
    });
    expect(d.trust.steps).toEqual([
      { op: 'aws.create-oidc-provider', url: 'https://ecp.example.com', clientId: 'sts.amazonaws.com' },
      { op: 'aws.update-assume-role-policy', roleName: 'pull', document: d.trust.document },
    ]);
  });

  it("Google: the pool, the provider for the edge's issuer, and a binding per repository for the federated principal", () => {
    const d = explain({ type: 'gar', workloadIdentityProvider: PROVIDER }, 'europe-west1-docker.pkg.dev', [
      'acme-prod/images/**',
      'acme-prod/images/tools/*',
      'acme-dev/*/x',
    ]);
    const principal = 'principal://iam.googleapis.com/projects/123456789/locations/global/workloadIdentityPools/edge-pool/subject/prod-eu1:team-a:builder';
    expect(d.workloadToken).toEqual({ iss: EDGE, sub: 'prod-eu1:team-a:builder', aud: `//iam.googleapis.com/${PROVIDER}`, alg: 'RS256' });
    const pool = { project: '123456789', pool: 'edge-pool' };
    expect(d.trust.steps).toEqual([
      { op: 'gcloud.create-pool', ...pool },
      { op: 'gcloud.create-oidc-provider', ...pool, provider: 'edge-oidc', issuerUri: 'https://ecp.example.com', attributeMapping: GAR_ATTRIBUTE_MAPPING },
      { op: 'gcloud.bind-repository', project: 'acme-prod', location: 'europe-west1', repository: 'images', member: principal },
      { op: 'gcloud.bind-repository', project: '<PROJECT_ID>', location: 'europe-west1', repository: '<REPOSITORY>', member: principal },
    ]);
  });

  it('Google: impersonation binds roles/iam.workloadIdentityUser on the service account; a custom audience is allowed on the provider', () => {
    const d = explain(
      { type: 'gar', workloadIdentityProvider: PROVIDER, serviceAccount: 'puller@acme-prod.iam.gserviceaccount.com', audience: 'edge' },
      'us-docker.pkg.dev',
    );
    expect(d.trust.steps![1]).toMatchObject({ op: 'gcloud.create-oidc-provider', allowedAudience: 'edge' });
    expect(d.trust.steps![2]).toEqual({
      op: 'gcloud.bind-service-account',
      serviceAccount: 'puller@acme-prod.iam.gserviceaccount.com',
      member: 'principal://iam.googleapis.com/projects/123456789/locations/global/workloadIdentityPools/edge-pool/subject/prod-eu1:team-a:builder',
    });
  });

  it("Google: warns when sub is longer than google.subject's 127 bytes", () => {
    const long = { ...workload, serviceAccount: { name: 's'.repeat(120), uid: 'u' } };
    const d = describeUpstream(
      UpstreamSchema.parse({ type: 'gar', workloadIdentityProvider: PROVIDER }),
      { name: 'pull', registry: 'us-docker.pkg.dev', repositories: ['**'] },
      long,
      EDGE,
      NOW,
    );
    expect(d.trust.notes!.join('\n')).toContain('127');
  });

  it('Entra ID: a federated credential with the exact issuer, subject and api://AzureADTokenExchange, and AcrPull on the registry', () => {
    const d = explain({ type: 'acr', tenantId: TENANT, clientId: CLIENT, subject: 'namespace' }, 'acmeprod.azurecr.io');
    const credential = {
      name: 'ecp-prod-eu1-team-a',
      issuer: EDGE,
      subject: 'prod-eu1:team-a',
      audiences: ['api://AzureADTokenExchange'],
      description: 'edge-credential-provider workload',
    };
    expect(d.trust.document).toEqual(credential);
    expect(d.trust.steps).toEqual([
      { op: 'az.create-app-federated-credential', clientId: CLIENT, document: credential },
      {
        op: 'az.create-identity-federated-credential',
        name: 'ecp-prod-eu1-team-a',
        identity: '<IDENTITY>',
        resourceGroup: '<GROUP>',
        issuer: EDGE,
        subject: 'prod-eu1:team-a',
        audience: 'api://AzureADTokenExchange',
        optional: expect.stringContaining('managed identity'),
      },
      { op: 'az.assign-acr-pull', clientId: CLIENT, registryName: 'acmeprod' },
    ]);
    expect(d.workloadToken?.alg).toBe('RS256');
  });

  it("Quay: the robot's federation entry, and the API call that sets it on the registry's own host", () => {
    const d = explain({ type: 'quay', robot: 'acme+puller' }, 'quay.io');
    expect(d.trust.document).toEqual([{ issuer: EDGE, subject: 'prod-eu1:team-a:builder' }]);
    expect(d.trust.steps).toEqual([
      { op: 'quay.set-robot-federation', url: 'https://quay.io/api/v1/organization/acme/robots/puller/federation', document: d.trust.document },
    ]);
    expect(d).toMatchObject({ robot: 'acme+puller', endpoint: 'https://quay.io/oauth2/federation/robot/token' });
  });

  it('Cloudsmith: the provider setting as its API takes it', () => {
    const d = explain({ type: 'cloudsmith', organization: 'acme', serviceAccount: 'k8s-pull' }, 'docker.cloudsmith.io');
    expect(d.trust.document).toMatchObject({
      provider_url: EDGE,
      claims: { sub: 'prod-eu1:team-a:builder', aud: 'https://api.cloudsmith.io' },
      service_accounts: ['k8s-pull'],
    });
  });

  it('Docker Hub and Harbor: the issuer, audience and subject their rules must match', () => {
    const hub = explain({ type: 'dockerhub', organization: 'acme', connectionId: '123e4567-e89b-42d3-a456-426614174000' }, 'docker.io');
    expect(hub.trust.document).toEqual({
      issuer: EDGE,
      audience: 'https://identity.docker.com',
      subject: 'prod-eu1:team-a:builder',
      connectionId: '123e4567-e89b-42d3-a456-426614174000',
    });
    const harbor = explain({ type: 'harbor' }, 'harbor.example.com');
    expect(harbor.trust.document).toEqual({
      openidConfigurationUrl: `${EDGE}/.well-known/openid-configuration`,
      claimRules: { iss: EDGE, aud: 'harbor.example.com', sub: 'prod-eu1:team-a:builder' },
    });
    expect(harbor.trust.notes!.join('\n')).toContain('8gears');
  });

  it('static: names the secret binding and how to set it, and no workload token', () => {
    const d = explain({ type: 'static', username: 'acme-bot', secret: 'GHCR_PULL_TOKEN' }, 'ghcr.io');
    expect(d).toEqual({
      type: 'static',
      vendor: 'static',
      username: 'acme-bot',
      secret: 'GHCR_PULL_TOKEN',
      trust: expect.objectContaining({ steps: [{ op: 'wrangler.secret-put', name: 'GHCR_PULL_TOKEN' }] }),
    });
  });
});

describe('a wildcard service account (npm run upstream -- trust)', () => {
  const POOL = 'principalSet://iam.googleapis.com/projects/123456789/locations/global/workloadIdentityPools/edge-pool';
  const wildcard = (serviceAccount: string, namespace = 'team-a'): Workload => ({ ...workload, namespace, serviceAccount: { name: serviceAccount, uid: '' } });
  const describeFor = (upstream: Record<string, unknown>, registry: string, w: Workload) =>
    describeUpstream(UpstreamSchema.parse(upstream), { name: 'pull', registry, repositories: ['acme/images/**'] }, w, EDGE, NOW);
  const ECR = { type: 'ecr', roleArn: 'arn:aws:iam::123456789012:role/pull', region: 'eu-west-1' };
  const GAR = { type: 'gar', workloadIdentityProvider: PROVIDER };

  it.each<[string, string, Record<string, unknown>]>([
    [
      'every service account',
      '*',
      { StringEquals: { 'ecp.example.com:aud': 'sts.amazonaws.com' }, StringLike: { 'ecp.example.com:sub': 'prod-eu1:team-a:*' } },
    ],
    [
      'a name pattern',
      'build-*',
      { StringEquals: { 'ecp.example.com:aud': 'sts.amazonaws.com' }, StringLike: { 'ecp.example.com:sub': 'prod-eu1:team-a:build-*' } },
    ],
    ['one service account', 'builder', { StringEquals: { 'ecp.example.com:aud': 'sts.amazonaws.com', 'ecp.example.com:sub': 'prod-eu1:team-a:builder' } }],
  ])('AWS: %s matches sub with the right operator (StringLike for a glob)', (_what, sa, condition) => {
    const d = describeFor(ECR, '123456789012.dkr.ecr.eu-west-1.amazonaws.com', wildcard(sa));
    expect((d.trust.document as { Statement: Array<{ Condition: unknown }> }).Statement[0]!.Condition).toEqual(condition);
  });

  it("Google: every service account of a namespace is the record's namespace principal set, never a subject with *", () => {
    const d = describeFor(GAR, 'europe-west1-docker.pkg.dev', wildcard('*'));
    const member = `${POOL}/attribute.record_namespace/prod-eu1:team-a`;
    expect(d.trust.steps!.at(-1)).toMatchObject({ op: 'gcloud.bind-repository', member });
    expect(JSON.stringify(d.trust.steps)).not.toContain('/subject/');
    expect((d.trust.document as { principal: string }).principal).toBe(member);
    expect(d.trust.steps![1]).toMatchObject({
      attributeMapping: expect.stringContaining('attribute.record_namespace=assertion.record+":"+assertion.namespace'),
    });
    expect(d.trust.steps![2]).toMatchObject({
      op: 'gcloud.update-oidc-provider',
      provider: 'edge-oidc',
      optional: expect.stringContaining('record_namespace'),
    });
  });

  it.each<[string, Record<string, unknown>, string, Workload]>([
    ['Google, a service-account pattern', GAR, 'europe-west1-docker.pkg.dev', wildcard('build-*')],
    ['Google, a namespace pattern', GAR, 'europe-west1-docker.pkg.dev', wildcard('*', 'team-*')],
    ['Entra ID', { type: 'acr', tenantId: TENANT, clientId: CLIENT }, 'acmeprod.azurecr.io', wildcard('*')],
    ['Quay', { type: 'quay', robot: 'acme+puller' }, 'quay.io', wildcard('*')],
  ])('%s: refuses what the vendor cannot match, saying what to use instead', (_what, upstream, registry, w) => {
    expect(() => describeFor(upstream, registry, w)).toThrow(
      expect.objectContaining({ name: 'UnexpressibleTrust', code: 'ERR_BAD_REQUEST', message: expect.stringContaining('"subject": "namespace"') }),
    );
  });
});

describe('helpers', () => {
  it.each<[string, number | undefined]>([
    ['2014-10-02T15:01:23Z', Date.UTC(2014, 9, 2, 15, 1, 23) / 1000],
    ['2014-10-02T15:01:23.045123456Z', Date.UTC(2014, 9, 2, 15, 1, 23) / 1000],
    ['2014-10-02T17:01:23+02:00', Date.UTC(2014, 9, 2, 15, 1, 23) / 1000],
    ['yesterday', undefined],
    ['2014-10-02', undefined],
  ])("reads Google's RFC 3339 time %s", (text, seconds) => {
    expect(rfc3339Seconds(text)).toBe(seconds);
  });

  it("reads a vendor JWT's exp without verifying it, and nothing from what is not one", async () => {
    const jwt = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime(NOW + 60)
      .sign(new Uint8Array(32));
    expect(jwtExpiry(jwt)).toBe(NOW + 60);
    expect(jwtExpiry('opaque-token')).toBeUndefined();
    expect(jwtExpiry(await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).sign(new Uint8Array(32)))).toBeUndefined();
  });
});

describe('a fan-in subject ("rule" or "record"): one entry for every workload', () => {
  const ECR = [{ type: 'ecr', roleArn: 'arn:aws:iam::123456789012:role/pull', region: 'eu-west-1' }, '123456789012.dkr.ecr.eu-west-1.amazonaws.com'] as const;
  const VENDORS = [
    ECR,
    [{ type: 'gar', workloadIdentityProvider: PROVIDER }, 'europe-west1-docker.pkg.dev'],
    [{ type: 'acr', tenantId: TENANT, clientId: CLIENT }, 'acmeprod.azurecr.io'],
    [{ type: 'quay', robot: 'acme+puller' }, 'quay.io'],
    [{ type: 'cloudsmith', organization: 'acme', serviceAccount: 'k8s-pull' }, 'docker.cloudsmith.io'],
    [{ type: 'dockerhub', organization: 'acme', connectionId: '123e4567-e89b-42d3-a456-426614174000' }, 'docker.io'],
    [{ type: 'harbor' }, 'harbor.example.com'],
  ] as const;
  const workloads: Workload[] = [
    workload,
    { ...workload, namespace: 'team-b', serviceAccount: { name: 'deployer', uid: 'uid-2' } },
    // What `npm run upstream -- trust` makes of wildcard arguments.
    { ...workload, namespace: 'team-*', serviceAccount: { name: '*', uid: '' } },
  ];
  const cases = VENDORS.flatMap(([u, registry]) =>
    (['rule', 'record'] as const).map(
      (subject) => [u.type, subject, { ...u, subject }, registry, subject === 'rule' ? 'prod-eu1:rule=pull' : 'prod-eu1'] as const,
    ),
  );

  it.each(cases)('%s, subject %s: the same entry for every workload, wildcard or not, naming %s exactly', (_type, _subject, upstream, registry, sub) => {
    const [first, ...rest] = workloads.map((w) =>
      describeUpstream(UpstreamSchema.parse(upstream), { name: 'pull', registry, repositories: ['acme/images/**'] }, w, EDGE, NOW),
    );
    expect(first!.workloadToken!.sub).toBe(sub);
    for (const d of rest) expect(d).toEqual(first);
    const text = JSON.stringify(first!.trust);
    expect(text).toContain(sub);
    expect(text).not.toMatch(/team-|builder|deployer|principalSet|StringLike|\*"/);
    expect(first!.trust.notes![0]).toContain('One entry for every workload of');
  });

  it('names the ECR role session after the rule, not the workload', () => {
    const d = describeUpstream(
      UpstreamSchema.parse({ ...ECR[0], subject: 'rule' }),
      { name: 'pull', registry: ECR[1], repositories: ['**'] },
      workload,
      EDGE,
      NOW,
    );
    expect(d.roleSessionName).toBe('ecp-prod-eu1-rule=pull');
  });
});
