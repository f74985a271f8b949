/**
 * The built exec plugin, run as the kubelet runs it, against the real edge federating with the
 * Cloudsmith, AWS, Quay and Azure fakes: the kubelet gets the vendor's own credentials in a
 * response it decodes strictly.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEdge } from '../../support/edge.mjs';
import type { TestCluster } from '../../support/kit.mjs';
import { iamProviderKey, startAws, type AwsFake } from '../../support/vendors/aws.mjs';
import { startAzure, type AzureFake } from '../../support/vendors/azure.mjs';
import { startCloudsmith, type CloudsmithFake } from '../../support/vendors/cloudsmith.mjs';
import { startQuay, type QuayFake } from '../../support/vendors/quay.mjs';
import { API_VERSIONS, request, runPlugin, V1 } from '../plugin/support/plugin';
import { expectNoSecrets, strictDecode } from '../plugin/support/strict';
import { federatedRecord, type Edge } from './support/edge';

const CLOUDSMITH = 'docker.cloudsmith.io';
const ECR = '123456789012.dkr.ecr.eu-west-1.amazonaws.com';
const QUAY = 'quay.io';
const ACR = 'acmeprod.azurecr.io';
const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const CLIENT = '0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0';

let edge: Edge;
let cloudsmith: CloudsmithFake;
let aws: AwsFake;
let quay: QuayFake;
let azure: AzureFake;
let csCluster: TestCluster;
let ecrCluster: TestCluster;
let quayCluster: TestCluster;
let acrCluster: TestCluster;

beforeAll(async () => {
  edge = await startEdge();
  cloudsmith = await startCloudsmith({ organizations: { acme: { serviceAccounts: ['puller'], providers: [] } } });
  cloudsmith.state.organizations.acme!.providers.push({
    providerUrl: edge.url,
    requiredClaims: { aud: cloudsmith.url, sub: 'plugin-cs:team-a:builder' },
    serviceAccounts: ['puller'],
  });
  const key = iamProviderKey(edge.url);
  aws = await startAws({
    providers: [{ url: edge.url, clientIds: ['sts.amazonaws.com'] }],
    roles: { 'arn:aws:iam::123456789012:role/puller': { provider: edge.url, conditions: { StringEquals: { [`${key}:sub`]: 'plugin-ecr:team-a:builder' } } } },
  });
  csCluster = await federatedRecord(edge, 'plugin-cs', CLOUDSMITH, {
    type: 'cloudsmith',
    organization: 'acme',
    serviceAccount: 'puller',
    endpoint: cloudsmith.url,
  });
  ecrCluster = await federatedRecord(edge, 'plugin-ecr', ECR, {
    type: 'ecr',
    roleArn: 'arn:aws:iam::123456789012:role/puller',
    region: 'eu-west-1',
    stsEndpoint: aws.stsUrl,
    ecrEndpoint: aws.ecrUrl,
  });
  quay = await startQuay({ robots: { 'acme+puller': [{ issuer: edge.url, subject: 'plugin-quay:team-a:builder' }] } });
  quayCluster = await federatedRecord(edge, 'plugin-quay', QUAY, { type: 'quay', robot: 'acme+puller', endpoint: quay.url });
  azure = await startAzure({
    tenantId: TENANT,
    registry: ACR,
    applications: {
      [CLIENT]: {
        acrPull: true,
        credentials: [{ name: 'plugin', issuer: edge.url, subject: 'plugin-acr:team-a:builder', audiences: ['api://AzureADTokenExchange'] }],
      },
    },
  });
  acrCluster = await federatedRecord(edge, 'plugin-acr', ACR, {
    type: 'acr',
    tenantId: TENANT,
    clientId: CLIENT,
    entraEndpoint: azure.entraUrl,
    registryEndpoint: azure.acrUrl,
  });
}, 90_000);

afterAll(async () => {
  await azure?.stop();
  await quay?.stop();
  await aws?.stop();
  await cloudsmith?.stop();
  await edge?.stop();
});

function kubelet(input: string) {
  return runPlugin({ input, args: ['--url', edge.url, '--budget', '20s'] });
}

describe('the plugin with federated upstreams', () => {
  it.each(API_VERSIONS)("hands the kubelet Cloudsmith's API token (%s)", async (apiVersion) => {
    const token = await csCluster.token({ serviceAccount: 'builder' });
    const run = await kubelet(request(apiVersion, { image: `${CLOUDSMITH}/acme/team-a/app:v1`, serviceAccountToken: token, serviceAccountAnnotations: {} }));
    expect(run.code, `${run.stderr}\n${edge.logs().slice(-2000)}`).toBe(0);
    expect(run.stderr).toBe('');
    const out = strictDecode(run.stdout, apiVersion);
    expect(out.cacheKeyType).toBe('Image');
    expect(out.auth).toEqual({ [CLOUDSMITH]: { username: 'token', password: cloudsmith.state.issued[0] } });
    // One Cloudsmith call for the three runs: the same identity, cached at the edge.
    expect(cloudsmith.state.calls).toBe(1);
  });

  it("hands the kubelet ECR's password for user AWS", async () => {
    const token = await ecrCluster.token({ serviceAccount: 'builder' });
    const run = await kubelet(request(V1, { image: `${ECR}/team-a/app:v1`, serviceAccountToken: token, serviceAccountAnnotations: {} }));
    expect(run.code, run.stderr).toBe(0);
    const out = strictDecode(run.stdout, V1);
    expect(out.cacheKeyType).toBe('Image');
    expect(out.auth).toEqual({ [ECR]: { username: 'AWS', password: aws.state.ecr.issued[0] } });
    expect(aws.state.ecr).toMatchObject({ calls: 1, verified: 1, refused: [] });
  });

  it('hands the kubelet the Quay robot token for user <org>+<robot>', async () => {
    const token = await quayCluster.token({ serviceAccount: 'builder' });
    const run = await kubelet(request(V1, { image: `${QUAY}/acme/app:v1`, serviceAccountToken: token, serviceAccountAnnotations: {} }));
    expect(run.code, run.stderr).toBe(0);
    const out = strictDecode(run.stdout, V1);
    expect(out.cacheKeyType).toBe('Image');
    expect(out.auth).toEqual({ [QUAY]: { username: 'acme+puller', password: quay.state.issued[0] } });
  });

  it("hands the kubelet ACR's refresh token for the null-GUID user", async () => {
    const token = await acrCluster.token({ serviceAccount: 'builder' });
    const run = await kubelet(request(V1, { image: `${ACR}/team-a/app:v1`, serviceAccountToken: token, serviceAccountAnnotations: {} }));
    expect(run.code, run.stderr).toBe(0);
    const out = strictDecode(run.stdout, V1);
    expect(out.auth).toEqual({ [ACR]: { username: '00000000-0000-0000-0000-000000000000', password: azure.state.acr.issued[0]!.refreshToken } });
  });

  it("reports Entra's refusal of another service account with the edge's code and no secret", async () => {
    const token = await acrCluster.token({ serviceAccount: 'intruder' });
    const run = await kubelet(request(V1, { image: `${ACR}/team-a/app:v1`, serviceAccountToken: token, serviceAccountAnnotations: {} }));
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('403 ERR_UPSTREAM_DENIED');
    expect(run.stderr).toContain('Entra ID');
    expectNoSecrets(run.stderr, [token, azure.state.canary]);
  });

  it("reports a vendor's refusal with the edge's code and no secret", async () => {
    const token = await ecrCluster.token({ serviceAccount: 'intruder' });
    const run = await kubelet(request(V1, { image: `${ECR}/team-a/app:v1`, serviceAccountToken: token, serviceAccountAnnotations: {} }));
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('403 ERR_UPSTREAM_DENIED');
    expect(run.stderr).toContain('AWS STS');
    expectNoSecrets(run.stderr, [token, aws.state.canary]);
  });
});
