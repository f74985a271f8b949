/**
 * Amazon ECR federation end to end: the real edge assumes a role at a loopback STS with its
 * workload token (verified as STS does: IAM OIDC provider, audiences, the role's trust
 * policy), then calls a loopback ECR whose SigV4 check is AWS's own signer
 * (test/support/vendors/aws.mjs).
 */
import { signAws } from '../../../src/upstream/sigv4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEdge } from '../../support/edge.mjs';
import { edgeAdmin, type TestCluster } from '../../support/kit.mjs';
import { iamProviderKey, startAws, type AwsFake } from '../../support/vendors/aws.mjs';
import { exchange, federatedRecord, goSeconds, type Edge, type Exchanged } from './support/edge';

const ACCOUNT = '123456789012';
const REGION = 'eu-west-1';
const REGISTRY = `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com`;
const IMAGE = `${REGISTRY}/team-a/app:v1`;
const role = (name: string) => `arn:aws:iam::${ACCOUNT}:role/${name}`;

let edge: Edge;
let aws: AwsFake;
const answers: Exchanged[] = [];

function ecrUpstream(roleName: string, extra: Record<string, unknown> = {}) {
  return { type: 'ecr', roleArn: role(roleName), region: REGION, stsEndpoint: aws.stsUrl, ecrEndpoint: aws.ecrUrl, ...extra };
}

async function pull(cluster: TestCluster, serviceAccount: string): Promise<Exchanged> {
  const answer = await exchange(edge, IMAGE, await cluster.token({ serviceAccount }));
  answers.push(answer);
  return answer;
}

beforeAll(async () => {
  edge = await startEdge();
  const key = iamProviderKey(edge.url);
  aws = await startAws({
    region: REGION,
    accountId: ACCOUNT,
    providers: [{ url: edge.url, clientIds: ['sts.amazonaws.com'] }],
    roles: {
      [role('puller')]: { provider: edge.url, conditions: { StringEquals: { [`${key}:aud`]: 'sts.amazonaws.com', [`${key}:sub`]: 'ecr:team-a:builder' } } },
      [role('builders')]: {
        provider: edge.url,
        conditions: { StringEquals: { [`${key}:aud`]: 'sts.amazonaws.com' }, StringLike: { [`${key}:sub`]: 'ecr-like:team-a:build-*' } },
      },
      [role('no-ecr')]: { provider: edge.url, conditions: { StringEquals: { [`${key}:sub`]: 'ecr-no-perm:team-a:builder' } }, ecr: false },
      [role('other-provider')]: { provider: 'https://oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLE', conditions: {} },
    },
  });
}, 90_000);

afterAll(async () => {
  await aws?.stop();
  await edge?.stop();
});

describe('ECR federation through STS', () => {
  let cluster: TestCluster;

  it("answers the kubelet with ECR's password for user AWS, SigV4 checked by AWS's signer", async () => {
    cluster = await federatedRecord(edge, 'ecr', REGISTRY, ecrUpstream('puller'));
    const { status, body, text } = await pull(cluster, 'builder');
    expect(status, text).toBe(200);
    expect(body.cacheKeyType).toBe('Image'); // the record's default: the rule's repositories decide per image
    expect(body.auth).toEqual({ [REGISTRY]: { username: 'AWS', password: aws.state.ecr.issued[0] } });
    expect(goSeconds(body.cacheDuration!)).toBeGreaterThan(0);
    expect(goSeconds(body.cacheDuration!)).toBeLessThan(12 * 3600);
    expect(aws.state.sts.calls).toBe(1);
    expect(aws.state.ecr).toMatchObject({ calls: 1, verified: 1, refused: [] });
  });

  it('assumes the role with the documented workload token and session parameters', async () => {
    const [accepted] = aws.state.sts.accepted;
    expect(accepted).toBeDefined();
    expect(accepted!.header).toEqual({ alg: 'RS256', kid: edge.keyRing.rsa!.active, typ: 'JWT' });
    expect(accepted!.payload).toMatchObject({
      iss: edge.url,
      sub: 'ecr:team-a:builder',
      aud: 'sts.amazonaws.com',
      namespace: 'team-a',
      service_account: 'builder',
    });
    expect(accepted).toMatchObject({ roleArn: role('puller'), sessionName: 'ecp-team-a-builder', durationSeconds: 900 });
    // ECR was called with the session STS issued: the fake found its secret by that access key.
    expect(aws.sessions.get(accepted!.accessKeyId)?.roleArn).toBe(role('puller'));
    expect(aws.rp.counts).toEqual({ discovery: 1, jwks: 1 });
  });

  it('reuses the ECR credential for the same identity: no second STS or ECR call', async () => {
    const before = { sts: aws.state.sts.calls, ecr: aws.state.ecr.calls };
    const again = await pull(cluster, 'builder');
    expect(again.status).toBe(200);
    expect(again.body.auth![REGISTRY]!.password).toBe(aws.state.ecr.issued[0]);
    expect({ sts: aws.state.sts.calls, ecr: aws.state.ecr.calls }).toEqual(before);
  });

  it("answers 403 ERR_UPSTREAM_DENIED naming AWS STS when the trust policy's sub condition does not match", async () => {
    const ecrCalls = aws.state.ecr.calls;
    const { status, body } = await pull(cluster, 'deployer'); // sub ecr:team-a:deployer; the role wants ecr:team-a:builder
    expect(status).toBe(403);
    expect(body.error).toBe('ERR_UPSTREAM_DENIED');
    expect(body.message).toContain('AWS STS');
    expect(aws.state.sts.refused.at(-1)?.code).toBe('AccessDenied');
    expect(aws.state.ecr.calls).toBe(ecrCalls);
  });

  let like: TestCluster | undefined;
  it.each([
    ['build-api', 200],
    ['build-x.y', 200],
    ['builder', 403], // `build-*` needs the dash
    ['deploy-build-x', 403],
  ])('matches a StringLike sub condition with wildcards: %s → %i', async (serviceAccount, expected) => {
    like ??= await federatedRecord(edge, 'ecr-like', REGISTRY, ecrUpstream('builders'));
    const { status, text } = await pull(like, serviceAccount);
    expect(status, text).toBe(expected);
  });

  it("is refused when the audience is not among the IAM OIDC provider's client IDs", async () => {
    const other = await federatedRecord(edge, 'ecr-aud', REGISTRY, ecrUpstream('puller', { audience: 'not-sts' }));
    const { status, body } = await pull(other, 'builder');
    expect([status, body.error]).toEqual([403, 'ERR_UPSTREAM_DENIED']);
    expect(aws.state.sts.refused.at(-1)?.code).toBe('InvalidIdentityToken');
  });

  it('is refused when the role trusts another identity provider', async () => {
    const other = await federatedRecord(edge, 'ecr-other', REGISTRY, ecrUpstream('other-provider'));
    const { status, body } = await pull(other, 'builder');
    expect([status, body.error]).toEqual([403, 'ERR_UPSTREAM_DENIED']);
    expect(aws.state.sts.refused.at(-1)?.code).toBe('AccessDenied');
  });

  it('answers 403 naming Amazon ECR when the role may not call GetAuthorizationToken', async () => {
    const noPerm = await federatedRecord(edge, 'ecr-no-perm', REGISTRY, ecrUpstream('no-ecr'));
    const { status, body } = await pull(noPerm, 'builder');
    expect([status, body.error]).toEqual([403, 'ERR_UPSTREAM_DENIED']);
    expect(body.message).toContain('Amazon ECR');
    expect(aws.state.ecr.refused.at(-1)?.code).toBe('AccessDeniedException');
  });

  it('answers 503 with Retry-After when STS throttles', async () => {
    aws.state.sts.mode = 'throttle';
    try {
      const { status, body, retryAfter } = await pull(cluster, 'throttled');
      expect([status, body.error]).toEqual([503, 'ERR_UPSTREAM_UNAVAILABLE']);
      expect(body.message).toContain('AWS STS');
      expect(retryAfter).toBe('5');
      expect(aws.state.sts.refused.at(-1)?.code).toBe('Throttling');
    } finally {
      aws.state.sts.mode = 'ok';
    }
  });

  it("explains an ECR grant with the workload token's iss, sub, aud and alg, calling no vendor", async () => {
    const before = { sts: aws.state.sts.calls, ecr: aws.state.ecr.calls };
    const res = await edgeAdmin(edge).explain({ token: await cluster.token({ serviceAccount: 'builder' }), image: IMAGE });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { decision: string; grant: { rule: string; upstream: { trust: { document: unknown } } } };
    expect(body.decision).toBe('allow');
    const key = iamProviderKey(edge.url);
    expect(body.grant.upstream).toEqual({
      type: 'ecr',
      vendor: 'AWS',
      roleArn: role('puller'),
      region: REGION,
      roleSessionName: 'ecp-team-a-builder',
      workloadToken: { iss: edge.url, sub: 'ecr:team-a:builder', aud: 'sts.amazonaws.com', alg: 'RS256' },
      trust: expect.objectContaining({ vendor: 'AWS' }),
    });
    // The trust policy explain prints is the one the fake STS holds for this role: same principal, same conditions.
    expect(body.grant.upstream.trust.document).toMatchObject({
      Statement: [
        {
          Principal: { Federated: `arn:aws:iam::${ACCOUNT}:oidc-provider/${key}` },
          Action: 'sts:AssumeRoleWithWebIdentity',
          Condition: aws.state.roles[role('puller')]!.conditions,
        },
      ],
    });
    expect({ sts: aws.state.sts.calls, ecr: aws.state.ecr.calls }).toEqual(before);
  });

  it("never sent ECR a request whose signature AWS's signer could not reproduce", () => {
    expect(aws.state.ecr.refused.filter((r) => r.code !== 'AccessDeniedException')).toEqual([]);
    expect(aws.state.ecr.verified).toBe(aws.state.ecr.calls);
    expect(aws.state.ecr.verified).toBeGreaterThanOrEqual(3);
  });

  it("never repeats AWS's answers or the credentials in its responses or logs", async () => {
    await new Promise((r) => setTimeout(r, 300));
    const logs = edge.logs();
    expect(logs).toContain('"upstream":"ecr"');
    for (const a of answers) expect(a.text).not.toContain(aws.state.canary);
    expect(logs).not.toContain(aws.state.canary);
    for (const password of aws.state.ecr.issued) expect(logs).not.toContain(password.slice(0, 40));
    for (const { token } of aws.state.sts.accepted) expect(logs).not.toContain(token.split('.')[2]);
  });
});

describe('the ECR fake itself', () => {
  /** A GetAuthorizationToken request signed (src/upstream/sigv4.ts) with a live STS session, then altered by `tamper`. */
  async function call(o: { secret?: string; sessionToken?: string; region?: string; body?: string; tamper?: (r: Request) => Request } = {}) {
    const [accessKeyId, session] = [...aws.sessions.entries()].find(([, s]) => s.roleArn === role('puller'))!;
    const signed = await signAws(
      `${aws.ecrUrl}/`,
      {
        method: 'POST',
        headers: { 'x-amz-target': 'AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken', 'content-type': 'application/x-amz-json-1.1' },
        body: o.body ?? JSON.stringify({ registryIds: [ACCOUNT] }),
      },
      { accessKeyId, secretAccessKey: o.secret ?? session.secretAccessKey, sessionToken: o.sessionToken ?? session.sessionToken },
      { region: o.region ?? REGION, service: 'ecr' },
    );
    const res = await fetch(o.tamper ? o.tamper(signed) : signed);
    return { status: res.status, body: (await res.json()) as { __type?: string; authorizationData?: unknown[] } };
  }

  it("accepts a request signed with the session's secret", async () => {
    const { status, body } = await call();
    expect(status).toBe(200);
    expect(body.authorizationData).toHaveLength(1);
  });

  it.each<[string, Parameters<typeof call>[0], string]>([
    ['signed with another secret', { secret: 'not-the-secret-access-key' }, 'InvalidSignatureException'],
    ['scoped to another region', { region: 'us-east-1' }, 'InvalidSignatureException'],
    [
      'whose body changed after signing',
      { tamper: (r) => new Request(r, { body: JSON.stringify({ registryIds: ['999999999999'] }) }) },
      'InvalidSignatureException',
    ],
    [
      'whose signed date changed after signing',
      {
        tamper: (r) => {
          const headers = new Headers(r.headers);
          const date = headers.get('x-amz-date')!;
          headers.set(
            'x-amz-date',
            date.replace(/(\d)Z$/, (_, s: string) => `${(Number(s) + 1) % 10}Z`),
          );
          return new Request(r, { headers });
        },
      },
      'InvalidSignatureException',
    ],
    ['carrying another session token', { sessionToken: 'not-the-session-token' }, 'UnrecognizedClientException'],
    [
      'without a signature',
      {
        tamper: (r) => {
          const headers = new Headers(r.headers);
          headers.delete('authorization');
          return new Request(r, { headers });
        },
      },
      'MissingAuthenticationTokenException',
    ],
  ])('refuses a request %s', async (_what, options, type) => {
    const verified = aws.state.ecr.verified;
    const { status, body } = await call(options);
    expect(status).toBe(400);
    expect(body.__type).toBe(type);
    expect(aws.state.ecr.verified).toBe(verified);
  });
});
