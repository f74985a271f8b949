/**
 * Fan-in subjects end to end (#22): the real edge, and vendor fakes that verify the workload
 * token as the vendors do. With "subject": "rule" (AWS STS, a role trust policy) and "record"
 * (Entra ID, a federated credential), the one entry explain prints is the only vendor-side
 * entry, and it admits every workload the rule admits; the edge still refuses the others
 * itself and its audit log names each workload, while the vendor sees the rule or record.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEdge } from '../../support/edge.mjs';
import type { TestCluster } from '../../support/kit.mjs';
import { eventLines } from '../../support/log-lines.mjs';
import { startAws, type AwsFake } from '../../support/vendors/aws.mjs';
import { startAzure, type AzureFake, type FederatedCredential } from '../../support/vendors/azure.mjs';
import { exchange, explainUpstream, federatedRecord, pastSharedRefusal, type Edge, type Exchanged } from './support/edge';

const ACCOUNT = '123456789012';
const REGION = 'eu-west-1';
const ECR = `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com`;
const ROLE = `arn:aws:iam::${ACCOUNT}:role/fan-in`;
const ACR = 'acmeprod.azurecr.io';
const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const CLIENT = '0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0';
/** The rule admits two service accounts in two namespaces. */
const WHO = { namespaces: ['team-a', 'team-b'], serviceAccounts: ['builder', 'deployer'] };
const ADMITTED = [
  ['team-a', 'builder'],
  ['team-b', 'deployer'],
  ['team-a', 'deployer'],
] as const;

let edge: Edge;
let aws: AwsFake;
let azure: AzureFake;

async function pull(cluster: TestCluster, image: string, namespace: string, serviceAccount: string): Promise<Exchanged> {
  return exchange(edge, image, await cluster.token({ namespace, serviceAccount }));
}

beforeAll(async () => {
  edge = await startEdge();
  // The role exists; its trust policy is what explain prints, added by the test.
  aws = await startAws({ region: REGION, accountId: ACCOUNT, providers: [{ url: edge.url, clientIds: ['sts.amazonaws.com'] }] });
  azure = await startAzure({ tenantId: TENANT, registry: ACR, applications: { [CLIENT]: { acrPull: true } } });
}, 90_000);

afterAll(async () => {
  await azure?.stop();
  await aws?.stop();
  await edge?.stop();
});

describe('"subject": "rule" at AWS STS', () => {
  let cluster: TestCluster;
  const image = `${ECR}/team-a/app:v1`;

  it('admits every workload of the rule through the one trust policy explain prints, with one exchange', async () => {
    const upstream = { type: 'ecr', roleArn: ROLE, region: REGION, stsEndpoint: aws.stsUrl, ecrEndpoint: aws.ecrUrl, subject: 'rule' };
    cluster = await federatedRecord(edge, 'fan-rule', ECR, upstream, WHO);
    const refused = await pull(cluster, image, 'team-a', 'builder');
    expect([refused.status, refused.body.error]).toEqual([403, 'ERR_UPSTREAM_DENIED']);

    const explained = await explainUpstream(edge, cluster, 'builder', image);
    expect(explained.workloadToken!.sub).toBe('fan-rule:rule=vendor');
    const policy = explained.trust.document as { Statement: [{ Condition: Record<string, Record<string, string>> }] };
    aws.state.roles[ROLE] = { provider: edge.url, conditions: policy.Statement[0].Condition };
    await pastSharedRefusal();

    const answers = [];
    for (const [namespace, serviceAccount] of ADMITTED) answers.push(await pull(cluster, image, namespace, serviceAccount));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    expect(new Set(answers.map((a) => a.body.auth![ECR]!.password))).toEqual(new Set([aws.state.ecr.issued.at(-1)]));
    expect(aws.state.sts.accepted).toHaveLength(1);
    const [accepted] = aws.state.sts.accepted;
    expect(accepted!.sessionName).toBe('ecp-fan-rule-rule=vendor');
    expect(accepted!.payload).toMatchObject({ iss: edge.url, sub: 'fan-rule:rule=vendor', aud: 'sts.amazonaws.com', record: 'fan-rule', rule: 'vendor' });
    for (const claim of ['namespace', 'service_account', 'service_account_uid']) expect(accepted!.payload).not.toHaveProperty(claim);
  });

  it('still refuses, at the edge and without calling AWS, a service account or namespace the rule does not admit', async () => {
    const calls = aws.state.sts.calls;
    for (const [namespace, serviceAccount] of [
      ['team-a', 'intruder'],
      ['team-c', 'builder'],
    ]) {
      const { status, body } = await pull(cluster, image, namespace!, serviceAccount!);
      expect([status, body.error]).toEqual([403, 'ERR_POLICY_DENIED']);
    }
    expect(aws.state.sts.calls).toBe(calls);
  });

  it('logs each workload by namespace and service account, granted or refused', async () => {
    await new Promise((r) => setTimeout(r, 300));
    const lines = eventLines(edge.logs(), 'exchange').filter((l) => l.record === 'fan-rule');
    expect(lines.map((l) => [l.outcome, l.namespace, l.serviceAccount])).toEqual([
      ['denied', 'team-a', 'builder'], // before the trust policy existed
      ['granted', 'team-a', 'builder'],
      ['granted', 'team-b', 'deployer'],
      ['granted', 'team-a', 'deployer'],
      ['denied', 'team-a', 'intruder'],
      ['denied', 'team-c', 'builder'],
    ]);
  });
});

describe('"subject": "record" at Entra ID', () => {
  it('admits every workload of the record through one federated credential (Entra takes 20 per application)', async () => {
    const upstream = { type: 'acr', tenantId: TENANT, clientId: CLIENT, entraEndpoint: azure.entraUrl, registryEndpoint: azure.acrUrl, subject: 'record' };
    const cluster = await federatedRecord(edge, 'fan-record', ACR, upstream, WHO);
    const image = `${ACR}/team-a/app:v1`;
    const explained = await explainUpstream(edge, cluster, 'deployer', image);
    expect(explained.workloadToken!.sub).toBe('fan-record');
    azure.addCredential(CLIENT, explained.trust.document as FederatedCredential);

    const answers = [];
    for (const [namespace, serviceAccount] of ADMITTED) answers.push(await pull(cluster, image, namespace, serviceAccount));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    expect(new Set(answers.map((a) => a.body.auth![ACR]!.password))).toEqual(new Set([azure.state.acr.issued.at(-1)!.refreshToken]));
    expect(azure.state.entra.accepted).toHaveLength(1);
    expect(azure.state.entra.accepted[0]!.payload).toMatchObject({ sub: 'fan-record', record: 'fan-record' });
    expect(azure.state.entra.accepted[0]!.payload).not.toHaveProperty('rule');
  });
});
