/**
 * The kubelet's credential cache as a real kubelet applies it (pkg/credentialprovider/plugin):
 * plugin executions (the kubelet's own kubelet_credential_provider_plugin_duration_count) and
 * the edge's exchanges (its audit lines) for repeated pulls of the same and of different
 * images by the same and by different service accounts, with tokenAttributes.cacheType
 * ServiceAccount and Token. Every pod uses imagePullPolicy Always, so every start asks the
 * kubelet's keyring. The figures feed docs/capacity.md.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildImage, deletePod, edgeEvents, kubeletMetrics, metric, push, pusherCredentials, runPod, startWorld } from './support/world.mjs';

let dir: string;
let world: any;
let images: { x: string; y: string };

const PLUGIN = { plugin_name: 'edge-credential-provider' };

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ecp-cluster-cache-'));
  world = await startWorld({
    dir,
    clusterDir: inject('clusterDir'),
    accounts: { 'team-c': ['one', 'two'] },
    rules: (registry: string) => [{ name: 'team-c-pull', namespaces: ['team-c'], registry, repositories: ['team-c/**'], actions: ['pull'], ttl: 1800 }],
  });
  const creds = await pusherCredentials(world, 'team-c/x');
  images = { x: `${world.registry.host}/team-c/x:v1`, y: `${world.registry.host}/team-c/y:v1` };
  await push(dir, await buildImage(join(dir, 'images'), world.cluster.peers.pause, 'x'), images.x, creds);
  await push(dir, await buildImage(join(dir, 'images'), world.cluster.peers.pause, 'y'), images.y, await pusherCredentials(world, 'team-c/y'));
});

afterAll(async () => {
  await world?.cluster.restartKubelet({ provider: null }).catch(() => {});
  await world?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Runs the pulls in order, one pod each, and counts plugin executions and edge exchanges per pull. */
async function countPulls(pulls: { sa: string; image: 'x' | 'y' }[]) {
  const counts: { execs: number; exchanges: number }[] = [];
  let n = 0;
  for (const p of pulls) {
    const before = metric(await kubeletMetrics(world.cluster), 'kubelet_credential_provider_plugin_duration_count', PLUGIN);
    const mark = world.edge.logs().length;
    const name = `pull-${++n}`;
    await runPod(world.api, 'team-c', { name, serviceAccount: p.sa, image: images[p.image], pullPolicy: 'Always' });
    const after = metric(await kubeletMetrics(world.cluster), 'kubelet_credential_provider_plugin_duration_count', PLUGIN);
    counts.push({ execs: after - before, exchanges: edgeEvents(world.edge.logs, mark, 'exchange').length });
    await deletePod(world.api, 'team-c', name);
  }
  return counts;
}

const SEQUENCE = [
  { sa: 'one', image: 'x' }, // first pull
  { sa: 'one', image: 'x' }, // same account, same image
  { sa: 'one', image: 'y' }, // same account, another image
  { sa: 'two', image: 'x' }, // another account, same image
] as const;

describe('cacheType: ServiceAccount (generate-config default)', () => {
  it('execs the plugin once per account and image; a repeat is served from the kubelet cache', async () => {
    await world.cluster.restartKubelet({ provider: { ...world.cluster.state.provider, cacheType: 'ServiceAccount' } });
    const counts = await countPulls([...SEQUENCE]);
    // record cacheKeyType Image (the default): the key is the image plus namespace, name, uid, annotations.
    expect(counts).toEqual([
      { execs: 1, exchanges: 1 },
      { execs: 0, exchanges: 0 },
      { execs: 1, exchanges: 1 },
      { execs: 1, exchanges: 1 },
    ]);
  });

  it('shows the plugin executions in the kubelet metrics with no error (duration reported, not judged)', async () => {
    const text = await kubeletMetrics(world.cluster);
    const count = metric(text, 'kubelet_credential_provider_plugin_duration_count', PLUGIN);
    const sum = metric(text, 'kubelet_credential_provider_plugin_duration_sum', PLUGIN);
    expect(count).toBe(3);
    expect(metric(text, 'kubelet_credential_provider_plugin_errors_total', PLUGIN)).toBe(0);
    // The figure docs/capacity.md quotes (wall time of exec + the round trip to the edge, as the kubelet sees it).
    console.log(`kubelet_credential_provider_plugin_duration: ${count} executions, mean ${((sum / count) * 1000).toFixed(1)} ms`);
  });
});

describe('cacheType: Token', () => {
  it('execs the plugin on every pull: each pod start requests a new token, and the token is part of the key', async () => {
    await world.cluster.restartKubelet({ provider: { ...world.cluster.state.provider, cacheType: 'Token' } });
    const counts = await countPulls([...SEQUENCE]);
    expect(counts).toEqual([
      { execs: 1, exchanges: 1 },
      { execs: 1, exchanges: 1 },
      { execs: 1, exchanges: 1 },
      { execs: 1, exchanges: 1 },
    ]);
  });
});
