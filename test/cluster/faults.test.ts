/**
 * Faults with a real kubelet: the edge stopped while pods run (running pods unaffected; new
 * pulls fail with the plugin's message and back off; they succeed once the edge is back, with
 * no kubelet restart), and the cluster's service-account signing key rotated (the kubelet's
 * new tokens carry a kid the record's inline keys lack until the documented re-sync).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startEdge } from '../support/edge.mjs';
import { buildImage, deletePod, podPhase, push, pusherCredentials, RECORD, runPod, startWorld, waitPhase } from './support/world.mjs';

let dir: string;
let world: any;
const NS = 'team-f';
let tag = 0;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ecp-cluster-faults-'));
  world = await startWorld({
    dir,
    clusterDir: inject('clusterDir'),
    accounts: { [NS]: ['app'] },
    rules: (registry: string) => [{ name: 'team-f-pull', namespaces: [NS], registry, repositories: ['team-f/**'], actions: ['pull'], ttl: 600 }],
  });
});

afterAll(async () => {
  // Leave one signing key, as the cluster started: drop the one this file's rotation retired.
  await world?.cluster.rotateServiceAccountKey({ dropOld: true }).catch(() => {});
  await world?.cluster.restartKubelet({ provider: null }).catch(() => {});
  await world?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/**
 * A new repository in the registry, pushed while the edge is up: the kubelet must pull it,
 * and its credential cache (keyed by repository with cacheKeyType Image) has nothing for it.
 */
async function freshImage() {
  const t = `f${++tag}`;
  const ref = `${world.registry.host}/team-f/app-${t}:v1`;
  await push(dir, await buildImage(join(dir, 'images'), world.cluster.peers.pause, t), ref, await pusherCredentials(world, `team-f/app-${t}`));
  return ref;
}

describe('the edge stops while pods run', () => {
  it('keeps running pods running, backs new pulls off with the plugin message, and recovers without a kubelet restart', async () => {
    const running = await freshImage();
    expect(await runPod(world.api, NS, { name: 'running', serviceAccount: 'app', image: running })).toBe('running');
    const later = await freshImage();

    const { port, keyRing, adminToken } = world.edge;
    await world.edge.stop();
    const logMark = world.cluster.logs('kubelet').length;
    const phase = await runPod(world.api, NS, { name: 'during-outage', serviceAccount: 'app', image: later }, { until: ['ErrImagePull', 'ImagePullBackOff'] });
    expect(['ErrImagePull', 'ImagePullBackOff']).toContain(phase);
    expect(await podPhase(world.api, NS, 'running')).toBe('running');
    // The plugin's own line, as the kubelet logs it (its stderr), names the edge it could not reach.
    expect(world.cluster.logs('kubelet').slice(logMark)).toMatch(/edge-credential-provider: .*127\.0\.0\.1:\d+/);

    // The edge comes back where the kubelet's config points (same port, same keys); its local
    // KV starts empty, so the record is put again, as a restore from records-as-code would.
    world.edge = await startEdge({ port, keyRing, adminToken });
    const { edgeAdmin } = await import('../support/kit.mjs');
    world.admin = edgeAdmin(world.edge);
    await world.admin.register(RECORD, world.record);
    // The kubelet retries on its own back-off (10 s, doubling): no restart, no new pod.
    expect(await waitPhase(world.api, NS, 'during-outage', ['running'], 150_000)).toBe('running');
    await deletePod(world.api, NS, 'during-outage');
    await deletePod(world.api, NS, 'running');
  });
});

describe('the cluster rotates its service-account signing key', () => {
  it('refuses tokens of the new key until the record has the keys the API server now publishes', async () => {
    const image = await freshImage(); // pushed with a token of the current key
    await world.cluster.rotateServiceAccountKey();
    const jwks = JSON.parse(await world.api.raw('/openid/v1/jwks'));
    expect(jwks.keys.length).toBe(2); // old and new: the Kubernetes way, both verify for a while

    const logMark = world.cluster.logs('kubelet').length;
    const phase = await runPod(world.api, NS, { name: 'new-key', serviceAccount: 'app', image }, { until: ['ErrImagePull', 'ImagePullBackOff'] });
    expect(['ErrImagePull', 'ImagePullBackOff']).toContain(phase);
    // The plugin's stderr, in the kubelet's log: the edge does not know the new key's kid.
    expect(world.cluster.logs('kubelet').slice(logMark)).toContain('ERR_UNKNOWN_KEY');

    // The documented step for inline keys: `kubectl get --raw /openid/v1/jwks` into the record.
    await world.admin.register(RECORD, { ...world.record, keys: { type: 'inline', jwks } });
    expect(await waitPhase(world.api, NS, 'new-key', ['running'], 150_000)).toBe('running');
    await deletePod(world.api, NS, 'new-key');
  });
});
