/**
 * KubeletEnsureSecretPulledImages (KEP-2535, beta and on by default since 1.35) with a real
 * kubelet: what it re-verifies when a second service account's pod uses an image already on
 * the node with IfNotPresent, under the default policy (NeverVerifyPreloadedImages) and
 * under AlwaysVerify; then revocation at the edge: which pods still start and which do not.
 * The results are the table in docs/security.md ("Revocation and images already on a node").
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildImage, deletePod, edgeEvents, ensureAccounts, kubeletMetrics, metric, push, pusherCredentials, runPod, startWorld } from './support/world.mjs';

let dir: string;
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
  // A pod deleted by the previous test may still be in a pull attempt (its retries run on the
  // kubelet's own schedule): count only this pod's exchanges (the token is bound to the pod),
  // and take the others' executions off the kubelet's node-wide count (one exchange per exec).
  const all = edgeEvents(world.edge.logs, mark, 'exchange');
  const mine = all.filter((e: { pod?: string }) => e.pod === name);
  const tokens = edgeEvents(world.edge.logs, mark, 'registry_token');
  await deletePod(world.api, NS, name);
  return {
    phase,
    execs: after - before - (all.length - mine.length),
    exchanges: mine.map((e: { outcome: string }) => e.outcome),
    registryTokens: tokens.filter((e: { outcome: string; sub?: string }) => e.outcome === 'issued' && String(e.sub).endsWith(`/${NS}/${serviceAccount}`))
      .length,
  };
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
    // The kubelet asks once to verify and once more for the pull itself: every answer a denial.
    expect(r.exchanges.length).toBeGreaterThan(0);
    expect(r.exchanges.every((o: string) => o === 'denied')).toBe(true);
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

  it('does not start them once the kubelet no longer holds a credential for them (restart, or the cache duration past)', async () => {
    // The kubelet learns the pod's service account for KEP-2535's check from its keyring: with
    // nothing cached it execs the plugin, the edge refuses, and the pull record cannot match.
    await world.cluster.restartKubelet({ provider: world.cluster.state.provider, extra: {} });
    const r = await start('first-4b', 'first');
    expect(r.phase).toMatch(/ErrImagePull|ImagePullBackOff/);
    expect(r.exchanges.length).toBeGreaterThan(0);
    expect(r.exchanges.every((o: string) => o === 'denied')).toBe(true);
  });

  it('does not start them once the account is recreated (a new uid: the kubelet re-verifies)', async () => {
    await world.api.remove(`/api/v1/namespaces/${NS}/serviceaccounts/first`);
    const uids = await ensureAccounts(world.api, { [NS]: ['first'] });
    expect(uids[`${NS}/first`]).not.toBe(world.uids[`${NS}/first`]);
    const r = await start('first-5', 'first');
    expect(r.phase).toMatch(/ErrImagePull|ImagePullBackOff/);
    expect(r.execs).toBeGreaterThan(0);
    expect(r.exchanges.length).toBeGreaterThan(0);
    expect(r.exchanges.every((o: string) => o === 'denied')).toBe(true);
  });
});

describe('after a kubelet restart (its credential cache is empty)', () => {
  it('asks the plugin once for an account on record, to learn the account; the registry is not asked', async () => {
    await world.cluster.restartKubelet({ provider: world.cluster.state.provider, extra: {} });
    expect(await start('second-2', 'second')).toMatchObject({ phase: 'running', execs: 1, exchanges: ['granted'], registryTokens: 0 });
  });
});

describe('preloaded images (imported, not pulled by the kubelet)', () => {
  let preloaded: string;

  beforeAll(async () => {
    const source = await buildImage(join(dir, 'images'), world.cluster.peers.pause, 'pre1');
    const layout = source.replace(/^oci:/, '').replace(/:pre1$/, '');
    const archive = join(dir, 'preloaded.tar');
    execFileSync('tar', ['-C', layout, '-cf', archive, '.']);
    preloaded = `${world.registry.host}/team-e/preloaded:pre1`;
    await push(dir, source, preloaded, await pusherCredentials(world, 'team-e/preloaded'));
    world.cluster.containerd.ctr(
      'images',
      'import',
      '--platform',
      `linux/${process.arch === 'x64' ? 'amd64' : process.arch}`,
      '--snapshotter',
      'native',
      '--base-name',
      `${world.registry.host}/team-e/preloaded`,
      archive,
    );
  });

  it('start for any account under the default policy (NeverVerifyPreloadedImages): no credential is checked', async () => {
    await world.cluster.restartKubelet({ provider: world.cluster.state.provider, extra: {} });
    const phase = await runPod(
      world.api,
      NS,
      { name: 'pre-default', serviceAccount: 'outsider', image: preloaded },
      { until: ['running', 'ErrImagePull', 'ImagePullBackOff'] },
    );
    expect(phase).toBe('running');
    await deletePod(world.api, NS, 'pre-default');
  });

  it('are verified under AlwaysVerify: an account the record does not allow cannot start them', async () => {
    await world.cluster.restartKubelet({ provider: world.cluster.state.provider, extra: { imagePullCredentialsVerificationPolicy: 'AlwaysVerify' } });
    const mark = world.edge.logs().length;
    const phase = await runPod(
      world.api,
      NS,
      { name: 'pre-always', serviceAccount: 'outsider', image: preloaded },
      { until: ['running', 'ErrImagePull', 'ImagePullBackOff'] },
    );
    expect(phase).toMatch(/ErrImagePull|ImagePullBackOff/);
    expect(edgeEvents(world.edge.logs, mark, 'exchange').map((e: { outcome: string }) => e.outcome)).toContain('denied');
    await deletePod(world.api, NS, 'pre-always');
  });
});
