/**
 * The two upstreams the edge answers without calling a vendor, through the real edge:
 * - harbor: the workload token itself is the password (the 8gears build's federated robot
 *   accounts), checked by a loopback Harbor token service the way docker would use it
 *   (test/support/vendors/harbor.mjs);
 * - static: a password read from a Worker secret binding, checked by a loopback GHCR token
 *   endpoint (test/support/vendors/ghcr.mjs); never in KV, a log line, explain, or an answer
 *   to a workload the rule does not allow.
 */
import { randomBytes } from 'node:crypto';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEdge } from '../../support/edge.mjs';
import { edgeAdmin, makeCluster, trustRecord, type TestCluster } from '../../support/kit.mjs';
import { startGhcr, type GhcrFake } from '../../support/vendors/ghcr.mjs';
import { startHarbor, type HarborFake, type HarborRobot } from '../../support/vendors/harbor.mjs';
import { exchange, explainUpstream, federatedRecord, goSeconds, nowSeconds, type Edge, type Exchanged } from './support/edge';

const HARBOR = 'harbor.example.com';
const GHCR = 'ghcr.io';
const SECRET_NAME = 'UPSTREAM_SECRET_GHCR_PULL';
/** The PAT as the operator would `wrangler secret put` it. */
const PAT = `ghp_${randomBytes(18).toString('base64url')}`;

let edge: Edge;
let harbor: HarborFake;
let ghcr: GhcrFake;
let harborCluster: TestCluster;
let ghcrCluster: TestCluster;
const answers: Exchanged[] = [];

async function pull(c: TestCluster, image: string, serviceAccount: string, namespace = 'team-a'): Promise<Exchanged> {
  const answer = await exchange(edge, image, await c.token({ serviceAccount, namespace }));
  answers.push(answer);
  return answer;
}

/** What docker does with the kubelet's credential: a pull token from the registry's token service. */
async function registryToken(base: string, path: string, service: string, scope: string, username: string, password: string) {
  const res = await fetch(`${base}${path}?service=${service}&scope=${encodeURIComponent(scope)}`, {
    headers: { authorization: `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}` },
  });
  await res.body?.cancel();
  return res.status;
}

beforeAll(async () => {
  edge = await startEdge({ vars: { [SECRET_NAME]: PAT } });
  harbor = await startHarbor({ providers: [{ openidConfigurationUrl: `${edge.url}/.well-known/openid-configuration` }] });
  ghcr = await startGhcr({ users: { 'acme-bot': PAT } });
  harborCluster = await federatedRecord(edge, 'harbor', HARBOR, { type: 'harbor', username: 'robot$team-a+puller' });
  ghcrCluster = await federatedRecord(edge, 'ghcr', GHCR, { type: 'static', username: 'acme-bot', secret: SECRET_NAME });
}, 90_000);

afterAll(async () => {
  await ghcr?.stop();
  await harbor?.stop();
  await edge?.stop();
});

describe('Harbor federated robot accounts: the workload token is the password', () => {
  it('answers with a fresh 5-minute workload token, cached by the kubelet for less than that', async () => {
    const { status, body, text } = await pull(harborCluster, `${HARBOR}/team-a/app:v1`, 'builder');
    expect(status, text).toBe(200);
    const { username, password } = body.auth![HARBOR]!;
    expect(username).toBe('robot$team-a+puller');
    const claims = decodeJwt(password);
    expect(claims).toMatchObject({ iss: edge.url, sub: 'harbor:team-a:builder', aud: HARBOR, namespace: 'team-a', service_account: 'builder' });
    expect(claims.exp! - claims.iat!).toBe(300);
    const cached = goSeconds(body.cacheDuration!);
    expect(cached).toBeGreaterThan(0);
    expect(cached).toBeLessThanOrEqual(300 - 60);
    expect(cached).toBeLessThan(claims.exp! - nowSeconds());
  });

  it('signs a new token for every request rather than reusing one', async () => {
    const a = await pull(harborCluster, `${HARBOR}/team-a/app:v1`, 'builder');
    const b = await pull(harborCluster, `${HARBOR}/team-a/app:v1`, 'builder');
    expect(a.body.auth![HARBOR]!.password).not.toBe(b.body.auth![HARBOR]!.password);
    expect(decodeJwt(a.body.auth![HARBOR]!.password).jti).not.toBe(decodeJwt(b.body.auth![HARBOR]!.password).jti);
  });

  it('hands out a password Harbor accepts once it has the robot explain describes, for that workload only', async () => {
    const explained = await explainUpstream(edge, harborCluster, 'builder', `${HARBOR}/team-a/app:v1`);
    const doc = explained.trust.document as { openidConfigurationUrl: string; claimRules: HarborRobot['claimRules'] };
    expect(doc.openidConfigurationUrl).toBe(harbor.state.providers[0]!.openidConfigurationUrl);
    harbor.state.robots.push({ name: 'robot$team-a+puller', claimRules: doc.claimRules, projects: ['team-a'] });

    const mine = await pull(harborCluster, `${HARBOR}/team-a/app:v1`, 'builder');
    const { username, password } = mine.body.auth![HARBOR]!;
    expect(await registryToken(harbor.url, '/service/token', 'harbor-registry', 'repository:team-a/app:pull', username, password)).toBe(200);
    expect(harbor.state.accepted.at(-1)).toMatchObject({ robot: 'robot$team-a+puller', username: 'robot$team-a+puller' });
    expect(harbor.rp.counts.discovery).toBe(1);

    const other = await pull(harborCluster, `${HARBOR}/team-a/app:v1`, 'deployer');
    const o = other.body.auth![HARBOR]!;
    expect(await registryToken(harbor.url, '/service/token', 'harbor-registry', 'repository:team-a/app:pull', o.username, o.password)).toBe(401);
    expect(harbor.state.refused.at(-1)?.reason).toBe('claims');
  });

  it('answers even when Harbor is down: the edge never calls it', async () => {
    harbor.state.mode = 'down';
    const calls = harbor.state.calls;
    try {
      const { status } = await pull(harborCluster, `${HARBOR}/team-a/app:v1`, 'builder');
      expect(status).toBe(200);
      expect(harbor.state.calls).toBe(calls);
    } finally {
      harbor.state.mode = 'ok';
    }
  });
});

describe('a static upstream: a Worker secret for registries with nothing better (GHCR)', () => {
  it("answers with the username and the secret binding's value, which the registry accepts", async () => {
    const { status, body, text } = await pull(ghcrCluster, `${GHCR}/acme/app:v1`, 'builder');
    expect(status, text).toBe(200);
    expect(body.auth).toEqual({ [GHCR]: { username: 'acme-bot', password: PAT } });
    expect(body.cacheKeyType).toBe('Image'); // the record's default: the rule's repositories decide per image
    // No vendor expiry: the rule's ttl (default 1 h, bounded by the 1 h service-account token) decides.
    expect(goSeconds(body.cacheDuration!)).toBe(3300);
    expect(await registryToken(ghcr.url, '/token', GHCR, 'repository:acme/app:pull', 'acme-bot', body.auth![GHCR]!.password)).toBe(200);
  });

  it("answers the record's cacheKeyType (Image), so the kubelet asks again per image and the rule's repositories decide each", async () => {
    const narrow = await federatedRecord(
      edge,
      'ghcr-narrow',
      GHCR,
      { type: 'static', username: 'acme-bot', secret: SECRET_NAME },
      { repositories: ['acme/app'] },
    );
    const allowed = await pull(narrow, `${GHCR}/acme/app:v1`, 'builder');
    expect(allowed.status, allowed.text).toBe(200);
    expect(allowed.body.cacheKeyType).toBe('Image');
    expect((await pull(narrow, `${GHCR}/acme/secret:v1`, 'builder')).status).toBe(403);
  });

  it("caches for the rule's ttl", async () => {
    const short = await federatedRecord(edge, 'ghcr-short', GHCR, { type: 'static', username: 'acme-bot', secret: SECRET_NAME }, { ttl: 600 });
    const { body } = await pull(short, `${GHCR}/acme/app:v1`, 'builder');
    expect(goSeconds(body.cacheDuration!)).toBe(540);
  });

  it('gives nothing to a workload the rule does not allow', async () => {
    const { status, body, text } = await pull(ghcrCluster, `${GHCR}/acme/app:v1`, 'builder', 'team-b');
    expect([status, body.error]).toEqual([403, 'ERR_POLICY_DENIED']);
    expect(text).not.toContain(PAT);
  });

  it('answers 503 ERR_NOT_CONFIGURED when the secret is not set, naming the binding in the log only (a record setting)', async () => {
    const missing = await federatedRecord(edge, 'ghcr-missing', GHCR, { type: 'static', username: 'acme-bot', secret: 'UPSTREAM_SECRET_NOT_SET' });
    const { status, body, text } = await pull(missing, `${GHCR}/acme/app:v1`, 'builder');
    expect([status, body.error]).toEqual([503, 'ERR_NOT_CONFIGURED']);
    expect(text).not.toContain('UPSTREAM_SECRET_NOT_SET');
    await new Promise((r) => setTimeout(r, 300)); // let the log line arrive
    expect(edge.logs()).toContain('secret binding UPSTREAM_SECRET_NOT_SET is not set');
  });

  it.each(['EDGE_SIGNING_KEYS', 'ADMIN_TOKEN', 'TRUST'])("refuses a record whose static upstream names the edge's own binding %s", async (name) => {
    const cluster = await makeCluster();
    const res = await edgeAdmin(edge).put(
      `ghcr-${name.toLowerCase().replace(/_/g, '-')}`,
      trustRecord(cluster, {
        rules: [{ name: 'vendor', namespaces: ['team-a'], registry: GHCR, repositories: ['**'], upstream: { type: 'static', username: 'x', secret: name } }],
      }),
    );
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: string; issues: string[] };
    expect(body.error).toBe('ERR_INVALID_RECORD');
    expect(body.issues.join('\n')).toContain('rules.0.upstream.secret');
  });

  it("explains the rule with the binding's name and no value", async () => {
    const explained = await explainUpstream(edge, ghcrCluster, 'builder', `${GHCR}/acme/app:v1`);
    expect(explained).toMatchObject({
      type: 'static',
      username: 'acme-bot',
      secret: SECRET_NAME,
      trust: { steps: [{ op: 'wrangler.secret-put', name: SECRET_NAME }] },
    });
    expect(JSON.stringify(explained)).not.toContain(PAT);
  });

  it('never writes the secret or a workload token into its logs, or stores the secret', async () => {
    await new Promise((r) => setTimeout(r, 300));
    const logs = edge.logs();
    expect(logs).toContain('"upstream":"static"');
    expect(logs).toContain('"upstream":"harbor"');
    expect(logs).not.toContain(PAT);
    for (const a of answers) {
      const harborPassword = a.body.auth?.[HARBOR]?.password;
      if (harborPassword) expect(logs).not.toContain(harborPassword.split('.')[2]);
    }
    const stored = await edgeAdmin(edge).get('ghcr');
    expect(await stored.text()).not.toContain(PAT);
  });
});
