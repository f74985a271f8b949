/**
 * KubeletEnsureSecretPulledImages (KEP-2535, beta and on by default since 1.35) with a real
 * kubelet: what it re-verifies when a second service account's pod uses an image already on
 * the node with IfNotPresent, under the default policy (NeverVerifyPreloadedImages) and
 * under AlwaysVerify; then revocation at the edge: which pods still start and which do not.
 * The results are the table in docs/security.md ("Revocation and images already on a node").
 */
import { readdirSync, readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildImage, deletePod, edgeEvents, ensureAccounts, kubeletMetrics, metric, push, pusherCredentials, runPod, startWorld } from './support/world.mjs';

let dir: string;
// biome-ignore lint/suspicious/noExplicitAny: the world is a plain JS object from world.mjs
let world: any;
let image: string;
const NS = 'team-e';
const PLUGIN = { plugin_name: 'edge-credential-provider' };

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ecp-cluster-ensure-'));
  world = await startWorld({
    dir,
    clusterDir: inject('clusterDir'),
    accounts: { [NS]: ['first', 'second', 'outsider'] },
    rules: (registry: string) => [
      { name: 'team-e-pull', namespaces: [NS], serviceAccounts: ['first', 'second'], registry, repositories: ['team-e/**'], actions: ['pull'], ttl: 600 },
    ],
  });
  image = `${world.registry.host}/team-e/app:v1`;
  await push(dir, await buildImage(join(dir, 'images'), world.cluster.peers.pause, 'e1'), image, await pusherCredentials(world, 'team-e/app'));
});

afterAll(async () => {
  await world?.cluster.restartKubelet({ provider: null, extra: {} }).catch(() => {});
  await world?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Starts a pod and reports whether it ran, and what the kubelet and the edge did for it. */
async function start(name: string, serviceAccount: string, pullPolicy = 'IfNotPresent') {
  const before = metric(await kubeletMetrics(world.cluster), 'kubelet_credential_provider_plugin_duration_count', PLUGIN);
  const mark = world.edge.logs().length;
  const phase = await runPod(world.api, NS, { name, serviceAccount, image, pullPolicy }, { until: ['running', 'ErrImagePull', 'ImagePullBackOff'] });
  const after = metric(await kubeletMetrics(world.cluster), 'kubelet_credential_provider_plugin_duration_count', PLUGIN);
  const exchanges = edgeEvents(world.edge.logs, mark, 'exchange');
  const tokens = edgeEvents(world.edge.logs, mark, 'registry_token');
  await deletePod(world.api, NS, name);
  return { phase, execs: after - before, exchanges: exchanges.map((e: { outcome: string }) => e.outcome), registryTokens: tokens.length };
}

/** The kubelet's pull records that name our image (KEP-2535: <root>/image_manager/pulled). */
function pulledRecords() {
  const root = join(world.cluster.dir, 'kubelet', 'root', 'image_manager', 'pulled');
  return readdirSync(root).map((f) => JSON.parse(readFileSync(join(root, f), 'utf8')));
}

describe('default policy (NeverVerifyPreloadedImages)', () => {
  it('pulls for the first account and records that account beside the image', async () => {
    await world.cluster.restartKubelet({ provider: world.cluster.state.provider, extra: {} });
    const r = await start('first-1', 'first');
    expect(r).toMatchObject({ phase: 'running', execs: 1, exchanges: ['granted'] });
    const records = JSON.stringify(pulledRecords());
    expect(records).toContain(world.uids[`${NS}/first`]);
  });

  it('starts the same account again without the plugin or the registry', async () => {
    expect(await start('first-2', 'first')).toMatchObject({ phase: 'running', execs: 0, exchanges: [], registryTokens: 0 });
  });

  it('re-verifies for a second account: the plugin runs and the registry is asked', async () => {
    const r = await start('second-1', 'second');
    expect(r).toMatchObject({ phase: 'running', execs: 1, exchanges: ['granted'] });
    expect(r.registryTokens).toBeGreaterThan(0);
  });

  it('refuses an account the record does not allow, though the image is on the node', async () => {
    const r = await start('outsider-1', 'outsider');
    expect(r.phase).toMatch(/ErrImagePull|ImagePullBackOff/);
    expect(r.exchanges).toEqual(['denied']);
  });
});

describe('revocation at the edge, image already on the node', () => {
  it('still starts pods of the revoked account with IfNotPresent (same uid: the kubelet does not ask)', async () => {
    const res = await world.admin.revoke('real-cluster', { kind: 'serviceAccount', namespace: NS, name: 'first', reason: 'cluster test' });
    expect(res.status).toBe(201);
    expect(await start('first-3', 'first')).toMatchObject({ phase: 'running', execs: 0, exchanges: [] });
  });

  it('does not start them with imagePullPolicy Always', async () => {
    const r = await start('first-4', 'first', 'Always');
    expect(r.phase).toMatch(/ErrImagePull|ImagePullBackOff/);
  });

  it('does not start them once the account is recreated (a new uid: the kubelet re-verifies)', async () => {
    await world.api.remove(`/api/v1/namespaces/${NS}/serviceaccounts/first`);
    const uids = await ensureAccounts(world.api, { [NS]: ['first'] });
    expect(uids[`${NS}/first`]).not.toBe(world.uids[`${NS}/first`]);
    const r = await start('first-5', 'first');
    expect(r.phase).toMatch(/ErrImagePull|ImagePullBackOff/);
    expect(r.execs).toBe(1);
    expect(r.exchanges).toEqual(['denied']);
  });
});

describe('imagePullCredentialsVerificationPolicy: AlwaysVerify', () => {
  it('starts the second account again without the plugin: its successful pull is on record', async () => {
    await world.cluster.restartKubelet({ provider: world.cluster.state.provider, extra: { imagePullCredentialsVerificationPolicy: 'AlwaysVerify' } });
    expect(await start('second-2', 'second')).toMatchObject({ phase: 'running', execs: 0, exchanges: [] });
  });
});
