// A single-node Kubernetes cluster of real parts on 127.0.0.1: etcd, kube-apiserver,
// containerd v2 and the kubelet, built from the Go module proxy (build.mjs), configured with
// the exec plugin and the CredentialProviderConfig that `edge-credential-provider
// generate-config` prints. Everything lives in one directory (default /tmp/ecp-cluster):
// certificates, data, sockets, numbered logs and state.json (pids, ports, issuer), so that
// `up`, `status` and `down` can run in different processes.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { buildPeers, NEWEST, RELEASES } from './build.mjs';
import {
  allowPlainHttp,
  importPauseImage,
  NODE,
  startApiserver,
  startContainerd,
  startEtcd,
  startKubelet,
} from './components.mjs';
import { runs, sleep, stopDaemon } from './daemon.mjs';
import { kubeClient } from './kube.mjs';
import { makePki, rsaKey, writeKubeconfig } from './pki.mjs';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const PLUGIN = join(ROOT, 'plugin', 'dist', 'edge-credential-provider');
export const DEFAULT_DIR = '/tmp/ecp-cluster';
export const DEFAULT_AUDIENCE = 'edge-credential-provider';
const LOGS = { etcd: '1-etcd.log', apiserver: '2-kube-apiserver.log', containerd: '3-containerd.log', kubelet: '4-kubelet.log' };
/** Stop order: the reverse of the start order. */
const STOP_ORDER = ['kubelet', 'containerd', 'apiserver', 'etcd'];

/**
 * @typedef {{ edge: string, matchImages: string[], audience?: string, cacheType?: 'ServiceAccount' | 'Token',
 *   name?: string, extraArgs?: string[], layout?: 'file' | 'directory', text?: string } | null} ProviderOptions
 *   What the kubelet's CredentialProviderConfig says (generate-config's flags); null: no provider.
 */

function statePath(dir) {
  return join(dir, 'state.json');
}

export function readState(dir = DEFAULT_DIR) {
  const file = statePath(dir);
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, 'utf8'));
}

function writeState(dir, state) {
  writeFileSync(statePath(dir), `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
}

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
      execFileSync(peers.ctr, ['--address', state.containerd.address, '--namespace', 'k8s.io', ...args], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 }).toString(),
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
      const k = await startKubelet({
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
      });
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
        const next = rsaKey(join(dir, 'pki', `service-account-${keys.verify.length + 1}.key`));
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

    /** Everything this cluster started, stopped in reverse order; then mounts and files. */
    down: (opts) => down(dir, opts),
  };
  return self;
}

/**
 * Builds what is missing and starts the cluster.
 * @param {{ dir?: string, release?: string, provider?: ProviderOptions, kubeletExtra?: object, nodeRbac?: boolean, log?: (s: string) => void }} opts
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
    const etcd = await startEtcd({ peers, dir: join(dir, 'etcd'), log: join(dir, 'logs', LOGS.etcd) });
    state.pids.etcd = { pid: etcd.daemon.pid, exe: peers.etcd };
    state.etcdUrl = etcd.url;
    writeState(dir, state);

    say('starting kube-apiserver\n');
    const api = await startApiserver({
      peers,
      dir: join(dir, 'apiserver'),
      log: join(dir, 'logs', LOGS.apiserver),
      etcdUrl: etcd.url,
      pki,
      serviceAccountKeys: state.serviceAccountKeys,
    });
    Object.assign(state, { server: api.server, issuer: api.issuer, apiserverPort: api.port });
    state.pids.apiserver = { pid: api.daemon.pid, exe: peers.kubeApiserver };
    state.kubeconfig = writeKubeconfig(join(dir, 'admin.kubeconfig'), { server: api.server, ca: pki.ca.crt, client: pki.admin, user: 'ecp-admin' });
    writeKubeconfig(join(dir, 'kubelet.kubeconfig'), { server: api.server, ca: pki.ca.crt, client: pki.kubelet, user: `system:node:${NODE}` });
    writeState(dir, state);

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

/** Mount points at or below `dir`, deepest first. */
function mountsUnder(dir) {
  const lines = readFileSync('/proc/self/mountinfo', 'utf8').split('\n');
  const points = lines
    .map((l) => l.split(' ')[4])
    .filter((p) => p && (p === dir || p.startsWith(`${dir}/`)))
    .map((p) => p.replace(/\\040/g, ' '));
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}

/**
 * runc (cgroupfs driver) makes a cgroup per container under <hierarchy>/k8s.io/ (containerd's
 * namespace); they outlive a container killed with its shim. Removes the empty ones and then
 * k8s.io itself where empty: rmdir never removes a cgroup that still holds a process.
 */
function removeEmptyCgroups() {
  let removed = 0;
  const root = '/sys/fs/cgroup';
  for (const hierarchy of existsSync(root) ? readdirSync(root) : []) {
    const parent = join(root, hierarchy, 'k8s.io');
    if (!existsSync(parent)) continue;
    for (const entry of readdirSync(parent, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      try {
        rmdirSync(join(parent, entry.name));
        removed++;
      } catch {
        /* in use */
      }
    }
    try {
      rmdirSync(parent);
      removed++;
    } catch {
      /* in use */
    }
  }
  return removed;
}

/** Processes whose command line names `needle` (our containerd's socket: its shims). */
function pidsNaming(needle) {
  const out = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmd.includes(needle) && Number(entry) !== process.pid) out.push(Number(entry));
    } catch {
      /* gone */
    }
  }
  return out;
}

/**
 * Stops every process the cluster started (by recorded pid, kubelet first), removes the
 * pods' containers through containerd so their shims exit, ends any shim of our containerd
 * still running, unmounts what is mounted under the directory and removes it.
 * @returns {Promise<string[]>} what it did, one line each
 */
export async function down(dir = DEFAULT_DIR, { retain = false } = {}) {
  const state = readState(dir);
  const report = [];
  if (!state) {
    if (existsSync(dir) && !retain) rmSync(dir, { recursive: true, force: true });
    return ['no cluster state; nothing was running'];
  }
  for (const name of STOP_ORDER) {
    const p = state.pids[name];
    if (!p) continue;
    if (name === 'containerd' && runs(p.pid, p.exe)) {
      // Remove every task and container in the k8s.io namespace first, so the shims exit.
      const ctr = (...args) => {
        try {
          return execFileSync(join(p.exe, '..', 'ctr'), ['--address', state.containerd.address, '--namespace', 'k8s.io', ...args], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 }).toString();
        } catch {
          return '';
        }
      };
      const tasks = ctr('tasks', 'ls', '-q').split('\n').filter(Boolean);
      for (const t of tasks) ctr('tasks', 'kill', '-s', 'SIGKILL', t);
      for (const t of tasks) {
        for (let i = 0; i < 20 && ctr('tasks', 'delete', t) === '' && ctr('tasks', 'ls', '-q').includes(t); i++) await sleep(200);
      }
      const containers = ctr('containers', 'ls', '-q').split('\n').filter(Boolean);
      for (const c of containers) ctr('containers', 'delete', c);
      if (tasks.length || containers.length) report.push(`removed ${tasks.length} task(s), ${containers.length} container(s)`);
    }
    const how = await stopDaemon(p.pid, p.exe);
    report.push(`${name} (pid ${p.pid}): ${how}`);
    state.pids[name] = undefined;
    writeState(dir, state);
  }
  if (state.containerd?.address) {
    for (const pid of pidsNaming(state.containerd.address)) {
      try {
        process.kill(pid, 'SIGKILL');
        report.push(`shim (pid ${pid}): killed`);
      } catch {
        /* gone */
      }
    }
  }
  await sleep(200);
  const cgroups = removeEmptyCgroups();
  if (cgroups) report.push(`removed ${cgroups} empty cgroup(s) under /sys/fs/cgroup/*/k8s.io`);
  for (const point of mountsUnder(dir)) {
    try {
      execFileSync('umount', [point], { stdio: 'ignore' });
    } catch {
      execFileSync('umount', ['-l', point], { stdio: 'ignore' });
    }
    report.push(`unmounted ${point}`);
  }
  if (!retain) {
    rmSync(dir, { recursive: true, force: true });
    report.push(`removed ${dir}`);
  }
  return report;
}

/** One line per component: running or not, plus what a person needs to use the cluster. */
export function status(dir = DEFAULT_DIR) {
  const state = readState(dir);
  if (!state) return { running: false, lines: [`no cluster in ${dir}`] };
  const lines = [];
  let all = true;
  for (const name of [...STOP_ORDER].reverse()) {
    const p = state.pids[name];
    const alive = p ? runs(p.pid, p.exe) : false;
    all &&= alive;
    lines.push(`${name}: ${alive ? `running (pid ${p.pid})` : 'not running'}`);
  }
  lines.push(`release: ${state.release}`, `KUBECONFIG=${state.kubeconfig}`, `issuer: ${state.issuer}`, `logs: ${join(dir, 'logs')}`);
  return { running: all, lines, state };
}
