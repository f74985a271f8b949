/**
 * The built plugin against the real edge (wrangler dev, local mode): success and denial
 * for each apiVersion the kubelet speaks, exactly as the kubelet would run it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEdge } from '../../support/edge.mjs';
import { edgeAdmin, makeCluster, REGISTRY, trustRecord, type TestCluster } from '../../support/kit.mjs';
import { API_VERSIONS, request, runPlugin, V1 } from './support/plugin';
import { expectNoSecrets, expectOneCleanLine, strictDecode } from './support/strict';

type Edge = Awaited<ReturnType<typeof startEdge>>;
let edge: Edge;
let cluster: TestCluster;

beforeAll(async () => {
  edge = await startEdge();
  cluster = await makeCluster();
  await edgeAdmin(edge).register('plugin-tests', trustRecord(cluster));
}, 90_000);

afterAll(async () => {
  await edge?.stop();
});

const IMAGE = `${REGISTRY}/team-a/app:v1`;

function kubelet(input: string, extraArgs: string[] = [], env: Record<string, string> = {}) {
  // The provider config passes the URL in args; budget left at its default would also do.
  return runPlugin({ input, args: ['--url', edge.url, '--budget', '20s', ...extraArgs], env });
}

describe('the plugin against the real edge', () => {
  it.each(API_VERSIONS)('gets a registry credential for an allowed workload (%s)', async (apiVersion) => {
    const token = await cluster.token();
    const run = await kubelet(request(apiVersion, { image: IMAGE, serviceAccountToken: token, serviceAccountAnnotations: {} }));
    expect(run.code, `${run.stderr}\n${edge.logs().slice(-2000)}`).toBe(0);
    expect(run.stderr).toBe('');
    const out = strictDecode(run.stdout, apiVersion);
    expect(out.cacheKeyType).toBe('Image');
    // 55m0s for a fresh 1 h token; a second less when the token's clock ticked before the exchange.
    expect(out.cacheDuration).toMatch(/^(55m0s|54m5\ds)$/);
    expect(Object.keys(out.auth ?? {})).toEqual([REGISTRY]);
    expect(out.auth?.[REGISTRY]?.username).toBe('team-a/builder');
    expect(out.auth?.[REGISTRY]?.password.split('.')).toHaveLength(3);
  });

  it.each(API_VERSIONS)('reports a policy denial with the edge reason code and no secret (%s)', async (apiVersion) => {
    const token = await cluster.token({ namespace: 'team-b' });
    const run = await kubelet(request(apiVersion, { image: IMAGE, serviceAccountToken: token }));
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    const line = expectOneCleanLine(run.stderr, [token]);
    expect(line).toMatch(/^edge-credential-provider: the edge refused the request: 403 ERR_POLICY_DENIED: /);
  });

  it.each([
    ['a token from an unregistered cluster', async () => (await makeCluster()).token(), '401 ERR_UNKNOWN_ISSUER'],
    ['an expired token', async () => cluster.token({ now: Math.floor(Date.now() / 1000) - 7200 }), '401 ERR_TOKEN_EXPIRED'],
    ['a token for another audience', async () => cluster.token({ audience: 'someone-else' }), '401 ERR_AUDIENCE_MISMATCH'],
  ])('reports the edge reason for %s', async (_what, makeToken, expected) => {
    const token = await makeToken();
    const run = await kubelet(request(V1, { image: IMAGE, serviceAccountToken: token }));
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(expectOneCleanLine(run.stderr, [token])).toContain(`the edge refused the request: ${expected}`);
  });

  it('reports a missing token (a pod without a service account) as the edge does', async () => {
    const run = await kubelet(request(V1, { image: IMAGE }));
    expect(run.code).toBe(1);
    expect(expectOneCleanLine(run.stderr)).toContain('401 ERR_TOKEN_MISSING');
  });

  it('keeps the token and the minted password out of verbose output', async () => {
    const token = await cluster.token();
    const run = await kubelet(request(V1, { image: IMAGE, serviceAccountToken: token }), ['--verbose']);
    expect(run.code, run.stderr).toBe(0);
    const password = strictDecode(run.stdout, V1).auth?.[REGISTRY]?.password ?? '';
    expect(run.stderr).toContain('[verbose] response: cacheKeyType Image');
    expectNoSecrets(run.stderr, [token, password]);
  });
});
