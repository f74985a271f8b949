// A single-node Kubernetes cluster of real parts on 127.0.0.1: etcd, kube-apiserver,
// containerd v2 and the kubelet, built from the Go module proxy (build.mjs), configured with
// the exec plugin and the CredentialProviderConfig that `edge-credential-provider
// generate-config` prints. Everything lives in one directory (default /tmp/ecp-cluster):
// certificates, data, sockets, numbered logs and state.json (pids, ports, issuer), so that
// `up`, `status` and `down` can run in different processes.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { buildControllers, buildPeers, NEWEST, RELEASES } from './build.mjs';
import {
  allowPlainHttp,
  importPauseImage,
  NODE,
  startApiserver,
  startContainerd,
  startControllerManager,
  startEtcd,
  startKubelet,
  startScheduler,
} from './components.mjs';
import { retryOnPortClash, runs, sleep, stopDaemon } from './daemon.mjs';
import { down } from './down.mjs';
import { DEFAULT_DIR, readState, writeState } from './state.mjs';
import { kubeClient } from './kube.mjs';
import { makePki, rsaKey, writeKubeconfig } from './pki.mjs';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const PLUGIN = join(ROOT, 'plugin', 'dist', 'edge-credential-provider');
export const DEFAULT_AUDIENCE = 'edge-credential-provider';
const LOGS = {
  etcd: '1-etcd.log',
  apiserver: '2-kube-apiserver.log',
  containerd: '3-containerd.log',
  kubelet: '4-kubelet.log',
  controllerManager: '5-kube-controller-manager.log',
  scheduler: '6-kube-scheduler.log',
};

/**
 * @typedef {{ edge: string, matchImages: string[], audience?: string, cacheType?: 'ServiceAccount' | 'Token',
 *   name?: string, extraArgs?: string[], layout?: 'file' | 'directory', text?: string,
 *   preinstalled?: { config: string, binDir: string } } | null} ProviderOptions
 *   What the kubelet's CredentialProviderConfig says (generate-config's flags); null: no provider.
 */

/** Runs the built plugin's `generate-config` (the command users run) and returns its output. */
export function generateConfig(provider, release) {
  const args = [
    'generate-config',
    `--url=${provider.edge}`,
    ...provider.matchImages.map((m) => `--match-image=${m}`),
    `--audience=${provider.audience ?? DEFAULT_AUDIENCE}`,
    `--kubernetes-version=${release}`,
    ...(provider.name ? [`--name=${provider.name}`] : []),
    ...(provider.cacheType ? [`--cache-type=${provider.cacheType}`] : []),
    ...(provider.extraArgs ?? []),
  ];
  return execFileSync(process.execPath, [PLUGIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
}

/** Writes the plugin and its config where the kubelet's flags point; returns those paths. */
function installProvider(dir, provider, release) {
  if (!provider) return null;
  // Files something else put on the node (the chart's installer): used where they are.
  if (provider.preinstalled) return { ...provider.preinstalled, text: readFileSync(provider.preinstalled.config, 'utf8') };
  // `text`: a configuration given verbatim (tests of what the kubelet refuses), not generated.
  if (!existsSync(PLUGIN)) throw new Error(`the plugin is not built: run npm run build:plugin (${PLUGIN} missing)`);
  const binDir = join(dir, 'credential-provider-bin');
  mkdirSync(binDir, { recursive: true });
  copyFileSync(PLUGIN, join(binDir, provider.name ?? 'edge-credential-provider'));
  execFileSync('chmod', ['0755', join(binDir, provider.name ?? 'edge-credential-provider')]);
  const text = provider.text ?? generateConfig(provider, release);
  if (provider.layout === 'directory') {
    const confDir = join(dir, 'credential-provider.d');
    rmSync(confDir, { recursive: true, force: true });
    mkdirSync(confDir, { recursive: true });
    writeFileSync(join(confDir, '50-edge-credential-provider.yaml'), text);
    return { config: confDir, binDir, text };
  }
  const config = join(dir, 'credential-provider.yaml');
  writeFileSync(config, text);
  return { config, binDir, text };
}

/**
 * A handle on a running cluster (from `up` or `attach`): the admin API client, the state,
 * and the operations the tests need (restart the kubelet with another config, rotate the
 * service-account key, stop and start parts).
 */
function handle(dir, state, peers) {
  const pki = state.pki;
  const api = kubeClient({ server: state.server, ca: pki.ca.crt, cert: pki.admin.crt, key: pki.admin.key });
  const log = (name) => join(dir, 'logs', LOGS[name]);
  const containerdHandle = () => ({
    address: state.containerd.address,
    certsD: state.containerd.certsD,
    ctr: (...args) =>
      execFileSync(peers.ctr, ['--address', state.containerd.address, '--namespace', 'k8s.io', ...args], {
        stdio: ['ignore', 'pipe', 'pipe'],
        timeout: 60_000,
      }).toString(),
  });

  const self = {
    dir,
    state,
    api,
    peers,
    kubeconfig: state.kubeconfig,
    issuer: state.issuer,
    node: NODE,
    logs: (name) => readFileSync(log(name), 'utf8'),
    logFile: log,
    containerd: containerdHandle(),
    allowPlainHttp: (host) => allowPlainHttp(state.containerd.certsD, host),

    /** Stops the kubelet (SIGTERM); running containers keep running, as on a real node. */
    async stopKubelet() {
      if (state.pids.kubelet) await stopDaemon(state.pids.kubelet.pid, state.pids.kubelet.exe);
      state.pids.kubelet = undefined;
      writeState(dir, state);
    },

    /**
     * (Re)starts the kubelet with `provider` (generate-config's flags, or null) and `extra`
     * KubeletConfiguration fields. Returns the config text the kubelet was given.
     */
    async startKubelet({ provider = state.provider, extra = state.kubeletExtra ?? {}, reason = 'started' } = {}) {
      const credentialProvider = installProvider(join(dir, 'kubelet'), provider, state.release);
      const k = await retryOnPortClash(() =>
        startKubelet({
          peers,
          dir: join(dir, 'kubelet'),
          log: log('kubelet'),
          pki,
          kubeconfig: join(dir, 'kubelet.kubeconfig'),
          containerd: containerdHandle(),
          credentialProvider,
          extra,
          reason,
          api,
        }),
      );
      Object.assign(state, { provider, kubeletExtra: extra, kubeletPorts: k.ports });
      state.pids.kubelet = { pid: k.daemon.pid, exe: peers.kubelet };
      writeState(dir, state);
      return { configText: credentialProvider?.text, exit: k.daemon.exit };
    },

    async restartKubelet(opts = {}) {
      await self.stopKubelet();
      return self.startKubelet({ reason: 'restarted', ...opts });
    },

    /**
     * Starts a kubelet with `provider` to see whether it accepts the configuration: accepted
     * once it is healthy and its Node exists, refused if it exits first. Its log since the
     * start comes back either way; an accepted kubelet keeps running.
     */
    async tryKubelet({ provider, extra = state.kubeletExtra ?? {} }) {
      await self.stopKubelet();
      const before = existsSync(log('kubelet')) ? readFileSync(log('kubelet'), 'utf8').length : 0;
      try {
        await self.startKubelet({ provider, extra, reason: 'config check' });
        return { accepted: true, log: readFileSync(log('kubelet'), 'utf8').slice(before) };
      } catch (err) {
        return { accepted: false, log: readFileSync(log('kubelet'), 'utf8').slice(before), error: String(err) };
      }
    },

    /**
     * Rotates the service-account signing key the Kubernetes way: a new key signs, the old
     * one still verifies (both in --service-account-key-file) until `dropOld`. Restarts the
     * API server on the same port, so the issuer URL is unchanged.
     */
    async rotateServiceAccountKey({ dropOld = false } = {}) {
      const keys = state.serviceAccountKeys;
      if (!dropOld) {
        // A new file every time: after a drop, the count of verification keys would name an old one.
        state.keySerial = (state.keySerial ?? 1) + 1;
        const next = rsaKey(join(dir, 'pki', `service-account-${state.keySerial}.key`));
        keys.verify.push(next.pub);
        keys.sign = next.key;
      } else {
        keys.verify = keys.verify.slice(-1);
      }
      await stopDaemon(state.pids.apiserver.pid, state.pids.apiserver.exe);
      const a = await startApiserver({
        peers,
        dir: join(dir, 'apiserver'),
        log: log('apiserver'),
        etcdUrl: state.etcdUrl,
        pki,
        serviceAccountKeys: keys,
        port: state.apiserverPort,
      });
      state.pids.apiserver = { pid: a.daemon.pid, exe: peers.kubeApiserver };
      writeState(dir, state);
    },

    /** Starts kube-controller-manager and kube-scheduler (built on demand) if they are not running. */
    async startControllers() {
      if (state.pids.controllerManager && runs(state.pids.controllerManager.pid, state.pids.controllerManager.exe)) return;
      await startControllerPair(dir, state, peers);
    },

    /** Everything this cluster started, stopped in reverse order; then mounts and files. */
    down: (opts) => down(dir, opts),
  };
  return self;
}

/**
 * Builds what is missing and starts the cluster.
 * @param {{ dir?: string, release?: string, provider?: ProviderOptions, kubeletExtra?: object, nodeRbac?: boolean, controllers?: boolean,
 *   retain?: boolean, verboseBuild?: boolean, log?: (s: string) => void }} opts
 *   controllers: also run kube-controller-manager and kube-scheduler (DaemonSets, the chart)
 */
export async function up(opts = {}) {
  const dir = opts.dir ?? DEFAULT_DIR;
  const release = opts.release ?? NEWEST;
  if (!RELEASES[release]) throw new Error(`--version must be one of ${Object.keys(RELEASES).join(', ')}`);
  const existing = readState(dir);
  if (existing && Object.values(existing.pids).some((p) => p && runs(p.pid, p.exe))) {
    throw new Error(`a cluster is already running in ${dir}: npm run cluster -- down${dir === DEFAULT_DIR ? '' : ` --dir ${dir}`}`);
  }
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'logs'), { recursive: true, mode: 0o700 });
  const say = opts.log ?? (() => {});
  const peers = await buildPeers({ release, log: opts.verboseBuild ? say : undefined });

  const pki = makePki({ dir: join(dir, 'pki'), node: NODE });
  const state = {
    release,
    dir,
    pids: {},
    pki,
    serviceAccountKeys: { sign: pki.serviceAccount.key, verify: [pki.serviceAccount.pub] },
    provider: opts.provider === undefined ? null : opts.provider,
    kubeletExtra: opts.kubeletExtra ?? {},
  };
  writeState(dir, state);
  try {
    say('starting etcd\n');
    const etcd = await retryOnPortClash(() => startEtcd({ peers, dir: join(dir, 'etcd'), log: join(dir, 'logs', LOGS.etcd) }));
    state.pids.etcd = { pid: etcd.daemon.pid, exe: peers.etcd };
    state.etcdUrl = etcd.url;
    writeState(dir, state);

    say('starting kube-apiserver\n');
    const api = await retryOnPortClash(() =>
      startApiserver({
        peers,
        dir: join(dir, 'apiserver'),
        log: join(dir, 'logs', LOGS.apiserver),
        etcdUrl: etcd.url,
        pki,
        serviceAccountKeys: state.serviceAccountKeys,
      }),
    );
    Object.assign(state, { server: api.server, issuer: api.issuer, apiserverPort: api.port });
    state.pids.apiserver = { pid: api.daemon.pid, exe: peers.kubeApiserver };
    state.kubeconfig = writeKubeconfig(join(dir, 'admin.kubeconfig'), { server: api.server, ca: pki.ca.crt, client: pki.admin, user: 'ecp-admin' });
    writeKubeconfig(join(dir, 'kubelet.kubeconfig'), { server: api.server, ca: pki.ca.crt, client: pki.kubelet, user: `system:node:${NODE}` });
    writeState(dir, state);

    if (opts.controllers) {
      say('starting kube-controller-manager and kube-scheduler\n');
      await startControllerPair(dir, state, peers, opts.verboseBuild ? say : undefined);
    }

    say('starting containerd\n');
    const containerd = await startContainerd({ peers, dir: join(dir, 'containerd'), log: join(dir, 'logs', LOGS.containerd) });
    state.pids.containerd = { pid: containerd.daemon.pid, exe: peers.containerd };
    state.containerd = { address: containerd.address, certsD: containerd.certsD };
    writeState(dir, state);
    importPauseImage({ peers, containerd, dir: join(dir, 'containerd') });

    const cluster = handle(dir, state, peers);
    await bootstrap(cluster, { nodeRbac: opts.nodeRbac ?? true, audience: opts.provider?.audience ?? DEFAULT_AUDIENCE });
    say('starting the kubelet\n');
    await cluster.startKubelet();
    return cluster;
  } catch (err) {
    if (!opts.retain) await down(dir).catch(() => {});
    throw err;
  }
}

/** kube-controller-manager and kube-scheduler with the admin kubeconfig, recorded in the state. */
async function startControllerPair(dir, state, peers, log) {
  const bins = await buildControllers({ release: state.release, log });
  const common = { dir: join(dir, 'controllers'), kubeconfig: state.kubeconfig, pki: state.pki, peers };
  const cm = await retryOnPortClash(() =>
    startControllerManager({
      ...common,
      bin: bins.controllerManager,
      log: join(dir, 'logs', LOGS.controllerManager),
      serviceAccountKey: state.serviceAccountKeys.sign,
    }),
  );
  state.pids.controllerManager = { pid: cm.daemon.pid, exe: bins.controllerManager };
  const sched = await retryOnPortClash(() => startScheduler({ ...common, bin: bins.scheduler, log: join(dir, 'logs', LOGS.scheduler) }));
  state.pids.scheduler = { pid: sched.daemon.pid, exe: bins.scheduler };
  writeState(dir, state);
}

/** Reattaches to a running cluster (another process started it). */
export async function attach(dir = DEFAULT_DIR) {
  const state = readState(dir);
  if (!state) throw new Error(`no cluster in ${dir}: npm run cluster -- up`);
  const peers = await buildPeers({ release: state.release });
  return handle(dir, state, peers);
}

/** The node RBAC manifest the docs ship (examples/kubelet/node-rbac.yaml), for `audience`. */
export function nodeRbac(audience) {
  const docs = parseAllDocuments(readFileSync(join(ROOT, 'examples', 'kubelet', 'node-rbac.yaml'), 'utf8')).map((d) => d.toJSON());
  const role = docs.find((d) => d.kind === 'ClusterRole');
  const binding = docs.find((d) => d.kind === 'ClusterRoleBinding');
  if (!role || !binding) throw new Error('examples/kubelet/node-rbac.yaml must hold a ClusterRole and a ClusterRoleBinding');
  // The shipped file names the default audience; another audience replaces it, nothing else.
  role.rules = role.rules.map((r) => ({ ...r, resources: r.resources.map((x) => (x === DEFAULT_AUDIENCE ? audience : x)) }));
  return { role, binding };
}

/** What a cluster without a controller-manager needs before pods: the default namespace's account, node RBAC. */
async function bootstrap(cluster, { nodeRbac: withRbac, audience }) {
  const { api } = cluster;
  // The API server creates default, kube-system ... itself; wait for its RBAC bootstrap.
  for (let i = 0; i < 120; i++) {
    if ((await api.call('GET', '/apis/rbac.authorization.k8s.io/v1/clusterroles/system:node')).status === 200) break;
    await sleep(500);
  }
  if (withRbac) await applyNodeRbac(api, audience);
}

export async function applyNodeRbac(api, audience) {
  const { role, binding } = nodeRbac(audience);
  await removeNodeRbac(api); // the audience may differ from a previous run's
  await api.create('/apis/rbac.authorization.k8s.io/v1/clusterroles', role);
  await api.create('/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', binding);
}

export async function removeNodeRbac(api) {
  const { role, binding } = nodeRbac(DEFAULT_AUDIENCE);
  await api.remove(`/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/${binding.metadata.name}`);
  await api.remove(`/apis/rbac.authorization.k8s.io/v1/clusterroles/${role.metadata.name}`);
}

export { DEFAULT_DIR, down, readState };
export { status } from './down.mjs';
