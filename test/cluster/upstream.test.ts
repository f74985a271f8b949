/**
 * Upstreams the edge makes no exchange for, with a real kubelet and a real registry behind a
 * Harbor token service (the loopback fake, issuing distribution registry tokens that a
 * distribution registry checks against the fake's certificate, as Harbor's registry does):
 * - federated (the 8gears build): the workload token the edge signs is the password; Harbor
 *   picks the robot whose claim rules (as the edge's explain gives them) match, and a
 *   workload of another account of the namespace is refused by Harbor, not by the edge;
 * - static: a robot secret from the edge's UPSTREAM_SECRET_ binding;
 * - Harbor down: running pods keep running, a new pull backs off and succeeds once Harbor is
 *   back, with no kubelet restart.
 * containerd POSTs to the token endpoint first (an OAuth2 password grant); Harbor answers GET
 * only, and containerd falls back to GET with Basic auth.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { generateSigningKey } from '../../scripts/lib/keys.mjs';
import { startRegistry } from '../e2e/support/registry.mjs';
import { startHarbor, type HarborFake, type HarborRobot } from '../support/vendors/harbor.mjs';
import { buildImage, deletePod, edgeEvents, podEvents, podPhase, push, requestToken, runPod, startWorld, waitPhase } from './support/world.mjs';

/** What Harbor's registry is configured with (its token service's `service` and `issuer`). */
const SERVICE = 'harbor-registry';
const ISSUER = 'harbor-token-issuer';
const PULLER = 'robot$team-h+puller';
/** A system robot with a secret: the test's pushes and the static upstream's password. */
const STATIC_ROBOT = 'robot$static';
const STATIC_SECRET = randomBytes(24).toString('base64url');
/** The binding the static rule names (docs/upstreams.md: names start with UPSTREAM_SECRET_). */
const BINDING = 'UPSTREAM_SECRET_HARBOR_STATIC';
const STUCK = ['ErrImagePull', 'ImagePullBackOff'];
/** The pods the tests create, deleted at the end whatever happened. */
const PODS = [
  ['team-h', 'federated'],
  ['team-h', 'unmatched'],
  ['team-s', 'static'],
  ['team-h', 'harbor-down'],
] as const;

let dir: string;
let harbor: HarborFake;
let registry: any;
let world: any;

/** Builds an image tagged `tag` and pushes it to Harbor's registry as `repo:v1`, as the static robot. */
async function pushed(repo: string, tag: string): Promise<string> {
  const ref = `${registry.host}/${repo}:v1`;
  await push(dir, await buildImage(join(dir, 'images'), world.cluster.peers.pause, tag), ref, { username: STATIC_ROBOT, password: STATIC_SECRET });
  return ref;
}

/** distribution's log lines for requests of containerd's to `repo` whose bearer token it accepted. */
function authorized(logs: string, repo: string): number {
  const name = new RegExp(`vars\\.name=${repo}(\\s|$)`);
  return logs.split('\n').filter((l) => l.includes('msg="authorized request"') && l.includes('useragent=containerd/') && name.test(l)).length;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ecp-cluster-upstream-'));
  const key = generateSigningKey();
  harbor = await startHarbor({ registryTokens: { issuer: ISSUER, key }, robotSecrets: { [STATIC_ROBOT]: STATIC_SECRET } });
  mkdirSync(join(dir, 'harbor-registry'));
  registry = await startRegistry({
    dir: join(dir, 'harbor-registry'),
    realm: `${harbor.url}/service/token`,
    issuer: ISSUER,
    bundle: key.certificate,
    service: SERVICE,
  });
  world = await startWorld({
    dir,
    clusterDir: inject('clusterDir'),
    accounts: { 'team-h': ['app', 'other'], 'team-s': ['app'] },
    edgeVars: { [BINDING]: STATIC_SECRET },
    matchImages: [registry.host],
    rules: () => [
      { name: 'team-h-harbor', namespaces: ['team-h'], registry: registry.host, repositories: ['team-h/**'], upstream: { type: 'harbor', username: PULLER } },
      {
        name: 'team-s-static',
        namespaces: ['team-s'],
        registry: registry.host,
        repositories: ['team-s/**'],
        upstream: { type: 'static', username: STATIC_ROBOT, secret: BINDING },
      },
    ],
  });
  world.cluster.allowPlainHttp(registry.host);
  // Harbor's federated identity provider: the edge, by its OpenID configuration URL.
  harbor.state.providers.push({ openidConfigurationUrl: `${world.edge.url}/.well-known/openid-configuration` });
});

afterAll(async () => {
  for (const [ns, name] of world ? PODS : []) await deletePod(world.api, ns, name).catch(() => {});
  await world?.stop();
  await registry?.stop();
  await harbor?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('a federated Harbor upstream (8gears build): the workload token is the password', () => {
  it('runs a pod of team-h/app through the robot whose claim rules explain gives, and the registry accepts the token Harbor issued', async () => {
    const image = await pushed('team-h/app', 'h1');
    // The operator's step: explain a workload's pull, copy the provider and claim rules into Harbor.
    const res = await world.admin.explain({ token: await requestToken(world.api, 'team-h', 'app'), image });
    const explained = (await res.json()) as {
      decision: string;
      grant: { upstream: { trust: { document: { openidConfigurationUrl: string; claimRules: HarborRobot['claimRules'] } } } };
    };
    expect(explained.decision).toBe('allow');
    const doc = explained.grant.upstream.trust.document;
    expect(doc.openidConfigurationUrl).toBe(harbor.state.providers[0]?.openidConfigurationUrl);
    expect(doc.claimRules).toMatchObject({ iss: world.edge.url, aud: registry.host });
    harbor.state.robots.push({ name: PULLER, claimRules: doc.claimRules, projects: ['team-h'] });

    const mark = world.edge.logs().length;
    const { posts, calls } = harbor.state;
    const accepted = harbor.state.accepted.length;
    expect(await runPod(world.api, 'team-h', { name: 'federated', serviceAccount: 'app', image })).toBe('running');
    const exchanges = edgeEvents(world.edge.logs, mark, 'exchange');
    expect(exchanges.some((e: { outcome: string; rule: string }) => e.outcome === 'granted' && e.rule === 'team-h-harbor')).toBe(true);
    const mine = harbor.state.accepted.slice(accepted);
    expect(mine).toContainEqual(expect.objectContaining({ robot: PULLER, username: PULLER, scope: 'repository:team-h/app:pull' }));
    expect(mine.find((a) => a.robot === PULLER)?.payload).toMatchObject({ sub: doc.claimRules.sub, namespace: 'team-h', service_account: 'app' });
    // containerd tried the OAuth2 POST first; Harbor's 404 sent it to GET with Basic auth.
    expect(harbor.state.posts).toBeGreaterThan(posts);
    expect(harbor.state.calls).toBeGreaterThan(calls);
    // The real registry checked the token Harbor issued and served containerd the manifest.
    expect(authorized(registry.logs(), 'team-h/app')).toBeGreaterThan(0);
  });

  it('leaves a pod of team-h/other in ErrImagePull: the edge answers, Harbor refuses the claims', async () => {
    const image = await pushed('team-h/other', 'h2');
    const mark = world.edge.logs().length;
    const refused = harbor.state.refused.length;
    expect(STUCK).toContain(await runPod(world.api, 'team-h', { name: 'unmatched', serviceAccount: 'other', image }, { until: STUCK }));
    // The edge granted the workload token (it does not know Harbor's robots)...
    const exchanges = edgeEvents(world.edge.logs, mark, 'exchange');
    expect(exchanges.some((e: { outcome: string; rule: string }) => e.outcome === 'granted' && e.rule === 'team-h-harbor')).toBe(true);
    // ...and Harbor found no robot whose claim rules match team-h/other's token.
    expect(harbor.state.refused.slice(refused)).toContainEqual({ reason: 'claims', username: PULLER });
    // containerd's OAuth2 POST got Harbor's 404, so the refusal it reports is its GET's.
    expect((await podEvents(world.api, 'team-h', 'unmatched')).join('\n')).toMatch(
      /GET request to http:\/\/127\.0\.0\.1:\d+\/service\/token\S*: 401 Unauthorized/,
    );
    await deletePod(world.api, 'team-h', 'unmatched');
  });
});

describe('a static upstream: a Harbor robot secret from the edge binding', () => {
  it('runs a pod of team-s/app with the robot secret the edge read from its UPSTREAM_SECRET_ binding', async () => {
    const image = await pushed('team-s/app', 's1');
    const mark = world.edge.logs().length;
    const accepted = harbor.state.accepted.length;
    expect(await runPod(world.api, 'team-s', { name: 'static', serviceAccount: 'app', image })).toBe('running');
    const exchanges = edgeEvents(world.edge.logs, mark, 'exchange');
    expect(exchanges.some((e: { outcome: string; rule: string }) => e.outcome === 'granted' && e.rule === 'team-s-static')).toBe(true);
    expect(harbor.state.accepted.slice(accepted)).toContainEqual({ robot: STATIC_ROBOT, username: STATIC_ROBOT, scope: 'repository:team-s/app:pull' });
    expect(world.edge.logs()).not.toContain(STATIC_SECRET);
  });
});

describe('Harbor down while pods run', () => {
  it('keeps running pods running, backs a new pull off, and starts it once Harbor is back, with no kubelet restart', async () => {
    const image = await pushed('team-h/app-down', 'h3'); // a new repository: nothing for it on the node
    const kubeletPid = world.cluster.state.pids.kubelet?.pid;
    expect(kubeletPid).toBeGreaterThan(0);
    const calls = harbor.state.calls;
    harbor.state.mode = 'down';
    try {
      expect(STUCK).toContain(await runPod(world.api, 'team-h', { name: 'harbor-down', serviceAccount: 'app', image }, { until: STUCK }));
      expect(harbor.state.calls).toBeGreaterThan(calls);
      expect((await podEvents(world.api, 'team-h', 'harbor-down')).join('\n')).toMatch(
        /GET request to http:\/\/127\.0\.0\.1:\d+\/service\/token\S*: 500 Internal Server Error/,
      );
      expect(await podPhase(world.api, 'team-h', 'federated')).toBe('running');
      expect(await podPhase(world.api, 'team-s', 'static')).toBe('running');
    } finally {
      harbor.state.mode = 'ok';
    }
    // The kubelet retries on its own back-off (10 s, doubling).
    expect(await waitPhase(world.api, 'team-h', 'harbor-down', ['running'], 150_000)).toBe('running');
    expect(world.cluster.state.pids.kubelet?.pid).toBe(kubeletPid);
  });
});
