/**
 * The Helm chart on a real node: `helm install` (Helm v4 built from the Go module proxy) of
 * charts/edge-credential-provider with the installer image (npm run build:installer) served by
 * a registry without authentication; kube-controller-manager's DaemonSet controller and
 * kube-scheduler place the installer pod; its init container copies the plugin into the bin
 * dir and merges the provider into the config, on the node's file system; the kubelet, restarted
 * on that config as node provisioning would, pulls a pod's image through the installed binary.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildHelm } from '../../cluster/lib/build.mjs';
import { sleep } from '../../cluster/lib/daemon.mjs';
import { skopeo } from '../e2e/support/runtime.mjs';
import { AUDIENCE, buildImage, deletePod, push, pusherCredentials, runPod, startPlainRegistry, startWorld } from './support/world.mjs';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const release = inject('clusterRelease');
let dir: string;
let world: any;
let plain: Awaited<ReturnType<typeof startPlainRegistry>>;
let helm: string;
let image: string;
let node: { configPath: string; binDir: string };

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ecp-cluster-helm-'));
  world = await startWorld({
    dir,
    clusterDir: inject('clusterDir'),
    accounts: { 'team-k': ['app'] },
    rules: (registry: string) => [{ name: 'team-k-pull', namespaces: ['team-k'], registry, repositories: ['team-k/**'], actions: ['pull'], ttl: 600 }],
  });
  image = `${world.registry.host}/team-k/app:v1`;
  await push(dir, await buildImage(join(dir, 'images'), world.cluster.peers.pause, 'k1'), image, await pusherCredentials(world, 'team-k/app'));

  // The installer image for this node's CPU, pushed where the node pulls without credentials.
  const arch = process.arch === 'x64' ? 'amd64' : process.arch;
  execFileSync(process.execPath, [join(ROOT, 'installer', 'build.mjs'), '--out', join(dir, 'installer'), '--arch', arch], { stdio: 'pipe', timeout: 600_000 });
  plain = await startPlainRegistry(join(dir, 'plain-registry'));
  world.cluster.allowPlainHttp(plain.host);
  const version = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version;
  const copied = await skopeo(dir, [
    'copy',
    '--all',
    '--dest-tls-verify=false',
    `oci:${join(dir, 'installer', 'oci')}:${version}`,
    `docker://${plain.host}/ecp/installer:${version}`,
  ]);
  expect(copied.code, copied.stderr).toBe(0);

  helm = await buildHelm();
  await world.cluster.startControllers();
  node = { configPath: join(world.cluster.dir, 'kubelet', 'chart', 'config.yaml'), binDir: join(world.cluster.dir, 'kubelet', 'chart-bin') };
}, 1_800_000);

afterAll(async () => {
  // The next file finds the cluster as this one found it: no chart (its audience grant would
  // make the node-authorization test pass for the wrong reason), the harness's kubelet config.
  if (helm) {
    try {
      helmRun(['uninstall', 'ecp', '--namespace', 'kube-system', '--wait']);
    } catch {
      /* not installed */
    }
  }
  await world?.cluster.restartKubelet({ provider: null }).catch(() => {});
  await plain?.stop();
  await world?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function helmRun(args: string[]) {
  return execFileSync(helm, [...args, '--kubeconfig', world.cluster.kubeconfig], {
    env: {
      ...process.env,
      HELM_CACHE_HOME: join(dir, 'helm', 'cache'),
      HELM_CONFIG_HOME: join(dir, 'helm', 'config'),
      HELM_DATA_HOME: join(dir, 'helm', 'data'),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 120_000,
  }).toString();
}

describe(`helm install on a real ${release} node`, () => {
  it('runs the installer DaemonSet, which writes the plugin and a config generate-config would print onto the node', async () => {
    const version = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version;
    const out = helmRun([
      'install',
      'ecp',
      join(ROOT, 'charts', 'edge-credential-provider'),
      '--namespace',
      'kube-system',
      '--set',
      `edgeURL=${world.edge.url}`,
      '--set',
      `matchImages[0]=${world.registry.host}`,
      '--set',
      `audience=${AUDIENCE}`,
      '--set',
      `kubernetesVersion=${release}`,
      '--set',
      `node.configPath=${node.configPath}`,
      '--set',
      `node.binDir=${node.binDir}`,
      '--set',
      `image.repository=${plain.host}/ecp/installer`,
      '--set',
      `image.tag=${version}`,
      '--set',
      'pause.image.tag=ecp-offline',
      '--set',
      'hostNetwork=true', // this node has no CNI
    ]);
    expect(out).toContain('STATUS: deployed');
    let status: { numberReady?: number } = {};
    for (let i = 0; i < 120 && status.numberReady !== 1; i++) {
      const list = await world.api.get('/apis/apps/v1/namespaces/kube-system/daemonsets');
      status = list.items.find((d: { metadata: { name: string } }) => d.metadata.name.includes('edge-credential-provider'))?.status ?? {};
      await sleep(1000);
    }
    expect(status.numberReady, JSON.stringify(status)).toBe(1);
    expect(existsSync(join(node.binDir, 'edge-credential-provider'))).toBe(true);
    const config = readFileSync(node.configPath, 'utf8');
    expect(config).toContain(world.registry.host);
    expect(config).toMatch(new RegExp(`serviceAccountTokenAudience: "?${AUDIENCE}"?`));
  });

  it('gives the kubelet, restarted on that config, a pull through the installed binary', async () => {
    await world.cluster.restartKubelet({ provider: { preinstalled: { config: node.configPath, binDir: node.binDir } } });
    expect(await runPod(world.api, 'team-k', { name: 'via-chart', serviceAccount: 'app', image })).toBe('running');
    await deletePod(world.api, 'team-k', 'via-chart');
  });

  it('grants the node the audience through the chart: pulls still work with the harness grant removed', async () => {
    // A repository the kubelet holds no credential for, so it must request a token.
    const fresh = `${world.registry.host}/team-k/other:v1`;
    await push(dir, await buildImage(join(dir, 'images'), world.cluster.peers.pause, 'k2'), fresh, await pusherCredentials(world, 'team-k/other'));
    const { removeNodeRbac } = await import('../../cluster/lib/cluster.mjs');
    await removeNodeRbac(world.api);
    try {
      expect(await runPod(world.api, 'team-k', { name: 'chart-rbac', serviceAccount: 'app', image: fresh })).toBe('running');
      await deletePod(world.api, 'team-k', 'chart-rbac');
    } finally {
      const { applyNodeRbac } = await import('../../cluster/lib/cluster.mjs');
      await applyNodeRbac(world.api, AUDIENCE);
    }
  });
});
