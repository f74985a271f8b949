/**
 * The built exec plugin, run as the kubelet runs it, against the real edge federating with the
 * Cloudsmith and AWS fakes: the kubelet gets the vendor's own credentials in a response it
 * decodes strictly.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEdge } from '../../support/edge.mjs';
import type { TestCluster } from '../../support/kit.mjs';
import { iamProviderKey, startAws, type AwsFake } from '../../support/vendors/aws.mjs';
import { startCloudsmith, type CloudsmithFake } from '../../support/vendors/cloudsmith.mjs';
import { API_VERSIONS, request, runPlugin, V1 } from '../plugin/support/plugin';
import { expectNoSecrets, strictDecode } from '../plugin/support/strict';
import { federatedRecord, type Edge } from './support/edge';

const CLOUDSMITH = 'docker.cloudsmith.io';
const ECR = '123456789012.dkr.ecr.eu-west-1.amazonaws.com';

let edge: Edge;
let cloudsmith: CloudsmithFake;
let aws: AwsFake;
let csCluster: TestCluster;
let ecrCluster: TestCluster;

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
  csCluster = await federatedRecord(edge, 'plugin-cs', CLOUDSMITH, { type: 'cloudsmith', organization: 'acme', serviceAccount: 'puller', endpoint: cloudsmith.url });
  ecrCluster = await federatedRecord(edge, 'plugin-ecr', ECR, {
    type: 'ecr', roleArn: 'arn:aws:iam::123456789012:role/puller', region: 'eu-west-1', stsEndpoint: aws.stsUrl, ecrEndpoint: aws.ecrUrl,
  });
}, 90_000);

afterAll(async () => {
  await aws?.stop();
  await cloudsmith?.stop();
  await edge?.stop();
});

function kubelet(input: string) {
  return runPlugin({ input, args: ['--url', edge.url, '--budget', '20s'] });
}

describe('the plugin with federated upstreams', () => {
  it.each(API_VERSIONS)('hands the kubelet Cloudsmith\'s API token (%s)', async (apiVersion) => {
    const token = await csCluster.token({ serviceAccount: 'builder' });
    const run = await kubelet(request(apiVersion, { image: `${CLOUDSMITH}/acme/team-a/app:v1`, serviceAccountToken: token, serviceAccountAnnotations: {} }));
    expect(run.code, `${run.stderr}\n${edge.logs().slice(-2000)}`).toBe(0);
    expect(run.stderr).toBe('');
    const out = strictDecode(run.stdout, apiVersion);
    expect(out.cacheKeyType).toBe('Registry');
    expect(out.auth).toEqual({ [CLOUDSMITH]: { username: 'token', password: cloudsmith.state.issued[0] } });
    // One Cloudsmith call for the three runs: the same identity, cached at the edge.
    expect(cloudsmith.state.calls).toBe(1);
  });

  it('hands the kubelet ECR\'s password for user AWS', async () => {
    const token = await ecrCluster.token({ serviceAccount: 'builder' });
    const run = await kubelet(request(V1, { image: `${ECR}/team-a/app:v1`, serviceAccountToken: token, serviceAccountAnnotations: {} }));
    expect(run.code, run.stderr).toBe(0);
    const out = strictDecode(run.stdout, V1);
    expect(out.cacheKeyType).toBe('Registry');
    expect(out.auth).toEqual({ [ECR]: { username: 'AWS', password: aws.state.ecr.issued[0] } });
    expect(aws.state.ecr).toMatchObject({ calls: 1, verified: 1, refused: [] });
  });

  it('reports a vendor\'s refusal with the edge\'s code and no secret', async () => {
    const token = await ecrCluster.token({ serviceAccount: 'intruder' });
    const run = await kubelet(request(V1, { image: `${ECR}/team-a/app:v1`, serviceAccountToken: token, serviceAccountAnnotations: {} }));
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('403 ERR_UPSTREAM_DENIED');
    expect(run.stderr).toContain('AWS STS');
    expectNoSecrets(run.stderr, [token, aws.state.canary]);
  });
});
