// How each real part of the single-node cluster is configured and started, on 127.0.0.1 with
// ports chosen free at run time. Start order etcd -> kube-apiserver -> containerd -> kubelet
// (cluster.mjs); each function returns once its component answers, or fails with its log.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { startDaemon, waitReady } from './daemon.mjs';

/** The node's name, also its address: a loopback --node-ip is refused, a hostname that is an IP is not. */
export const NODE = '127.0.0.1';
/** The pause image containerd runs as every pod's sandbox; imported, never pulled. */
export const PAUSE_IMAGE = 'registry.k8s.io/pause:ecp-offline';
/** The service range the API server needs for its own Service; no kube-proxy runs. */
const SERVICE_RANGE = '10.0.0.0/24';

/** A free TCP port on 127.0.0.1, chosen by the kernel. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = /** @type {import('node:net').AddressInfo} */ (srv.address());
      srv.close(() => resolve(port));
    });
  });
}

/** PATH for the components: the containerd build's directory (its shim, ctr), this Node, the system. */
export function componentPath(peers) {
  return [peers.containerdBin, dirname(process.execPath), '/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'].join(':');
}

function httpOk(url) {
  return new Promise((resolve) => {
    const req = get(url, { timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.once('error', () => resolve(false));
    req.once('timeout', () => req.destroy());
  });
}

export async function startEtcd({ peers, dir, log }) {
  const [client, peer] = [await freePort(), await freePort()];
  const daemon = startDaemon({
    cmd: peers.etcd,
    log,
    env: { PATH: componentPath(peers) },
    args: [
      '--name=ecp',
      `--data-dir=${join(dir, 'data')}`,
      `--listen-client-urls=http://127.0.0.1:${client}`,
      `--advertise-client-urls=http://127.0.0.1:${client}`,
      `--listen-peer-urls=http://127.0.0.1:${peer}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${peer}`,
      `--initial-cluster=ecp=http://127.0.0.1:${peer}`,
      '--listen-metrics-urls=',
      '--log-level=warn',
      '--quota-backend-bytes=2147483648',
      '--unsafe-no-fsync', // a throwaway test cluster: durability buys nothing, fsync costs seconds on a VM disk
    ],
  });
  await waitReady(daemon, () => httpOk(`http://127.0.0.1:${client}/health`), { what: 'etcd', log, timeoutMs: 30_000 });
  return { daemon, url: `http://127.0.0.1:${client}` };
}

/**
 * kube-apiserver as hack/local-up-cluster.sh runs it, trimmed to what a node and its pods
 * need: Node,RBAC authorization with NodeRestriction (and the release's default feature gates:
 * ServiceAccountNodeAudienceRestriction is on since 1.33), its own service-account issuer.
 */
export async function startApiserver({ peers, dir, log, etcdUrl, pki, serviceAccountKeys, port: fixedPort }) {
  const port = fixedPort ?? (await freePort()); // a restart keeps its port: the issuer URL names it
  const issuer = `https://127.0.0.1:${port}`;
  mkdirSync(dir, { recursive: true });
  const daemon = startDaemon({
    cmd: peers.kubeApiserver,
    log,
    env: { PATH: componentPath(peers) },
    args: [
      `--etcd-servers=${etcdUrl}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${port}`,
      `--cert-dir=${dir}`,
      `--tls-cert-file=${pki.apiserver.crt}`,
      `--tls-private-key-file=${pki.apiserver.key}`,
      `--client-ca-file=${pki.ca.crt}`,
      `--kubelet-client-certificate=${pki.apiserverKubeletClient.crt}`,
      `--kubelet-client-key=${pki.apiserverKubeletClient.key}`,
      `--kubelet-certificate-authority=${pki.ca.crt}`,
      '--kubelet-preferred-address-types=InternalIP,Hostname',
      `--service-account-issuer=${issuer}`,
      ...serviceAccountKeys.verify.map((f) => `--service-account-key-file=${f}`),
      `--service-account-signing-key-file=${serviceAccountKeys.sign}`,
      '--authorization-mode=Node,RBAC',
      '--enable-admission-plugins=NodeRestriction',
      `--service-cluster-ip-range=${SERVICE_RANGE}`,
      // The `kubernetes` Service's endpoint would be 127.0.0.1, which Endpoints validation
      // refuses; nothing here reaches the API server through that Service.
      '--endpoint-reconciler-type=none',
      '--enable-priority-and-fairness=false',
      '--profiling=false',
      '--v=1',
    ],
  });
  const healthy = async () => {
    try {
      const res = await fetchApi(`https://127.0.0.1:${port}/readyz`, pki);
      return res === 200;
    } catch {
      return false;
    }
  };
  await waitReady(daemon, healthy, { what: 'kube-apiserver', log, timeoutMs: 120_000, intervalMs: 500 });
  return { daemon, port, server: `https://127.0.0.1:${port}`, issuer };
}

/** GET a path with the admin certificate; resolves the HTTP status. */
function fetchApi(url, pki) {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca: readFileSync(pki.ca.crt), cert: readFileSync(pki.admin.crt), key: readFileSync(pki.admin.key), timeout: 3000 }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.once('error', reject);
    req.once('timeout', () => req.destroy(new Error('timeout')));
    req.end();
  });
}

/**
 * containerd v2 with the CRI plugin (config version 3): runc through the v2 shim with cgroupfs
 * (SystemdCgroup = false: no systemd manages this VM's cgroups), the native snapshotter (no
 * overlay assumptions), the pause image pinned, registry host configuration under certs.d
 * (plain HTTP to loopback registries is configured per host by the tests).
 */
export async function startContainerd({ peers, dir, log }) {
  const address = join(dir, 'containerd.sock');
  const certsD = join(dir, 'certs.d');
  mkdirSync(join(dir, 'root'), { recursive: true });
  mkdirSync(join(dir, 'state'), { recursive: true });
  mkdirSync(certsD, { recursive: true });
  const q = JSON.stringify;
  const config = join(dir, 'config.toml');
  writeFileSync(
    config,
    [
      'version = 3',
      `root = ${q(join(dir, 'root'))}`,
      `state = ${q(join(dir, 'state'))}`,
      'disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.erofs", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]',
      '[grpc]',
      `  address = ${q(address)}`,
      '[ttrpc]',
      `  address = ${q(`${address}.ttrpc`)}`,
      '[debug]',
      '  address = ""',
      '[metrics]',
      '  address = ""',
      // Image imports and the CRI's pulls go through the transfer service, which unpacks only
      // for the platforms and snapshotters listed here.
      "[[plugins.'io.containerd.transfer.v1.local'.unpack_config]]",
      `  platform = ${q(`linux/${process.arch === 'x64' ? 'amd64' : process.arch}`)}`,
      "  snapshotter = 'native'",
      "[plugins.'io.containerd.cri.v1.images']",
      "  snapshotter = 'native'",
      "[plugins.'io.containerd.cri.v1.images'.pinned_images]",
      `  sandbox = ${q(PAUSE_IMAGE)}`,
      "[plugins.'io.containerd.cri.v1.images'.registry]",
      `  config_path = ${q(certsD)}`,
      "[plugins.'io.containerd.cri.v1.runtime']",
      // This VM refuses a negative oom_score_adj (runc: "failed to update /proc/self/oom_score_adj:
      // Permission denied" for the sandbox's -998); containerd then clamps it to its own score.
      '  restrict_oom_score_adj = true',
      "[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]",
      "  runtime_type = 'io.containerd.runc.v2'",
      "[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]",
      '  SystemdCgroup = false',
      `  BinaryName = ${q(findRunc())}`,
      "[plugins.'io.containerd.cri.v1.runtime'.cni]",
      `  bin_dirs = [${q(join(dir, 'cni-bin'))}]`,
      `  conf_dir = ${q(join(dir, 'cni-conf'))}`,
      '',
    ].join('\n'),
  );
  const daemon = startDaemon({ cmd: peers.containerd, args: ['--config', config, '--log-level', 'info'], log, env: { PATH: componentPath(peers) } });
  const ctr = (...args) =>
    execFileSync(peers.ctr, ['--address', address, '--namespace', 'k8s.io', ...args], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 }).toString();
  await waitReady(daemon, () => existsSync(address) && ctr('version').includes('Server'), { what: 'containerd', log, timeoutMs: 30_000 });
  return { daemon, address, certsD, ctr };
}

function findRunc() {
  for (const p of ['/usr/sbin/runc', '/usr/bin/runc', '/usr/local/sbin/runc', '/usr/local/bin/runc']) if (existsSync(p)) return p;
  throw new Error('runc not found: install it (apt-get install -y runc); .ci/run does');
}

/**
 * Lets containerd reach a loopback registry over plain HTTP (hosts.toml, containerd's
 * documented per-host configuration); `host` is host:port.
 */
export function allowPlainHttp(certsD, host) {
  const d = join(certsD, host);
  mkdirSync(d, { recursive: true });
  writeFileSync(join(d, 'hosts.toml'), `server = "http://${host}"\n\n[host."http://${host}"]\n  capabilities = ["pull", "resolve"]\n`);
}

/**
 * Imports the pause image into containerd's k8s.io namespace: kubernetes' own pause binary in
 * a one-layer OCI image made by umoci, never pulled (no network), pinned by the CRI config.
 */
export function importPauseImage({ peers, containerd, dir }) {
  const layout = join(dir, 'pause-layout');
  const tag = PAUSE_IMAGE.split(':')[1];
  const run = (cmd, args) => execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
  if (!existsSync(layout)) {
    run('umoci', ['init', '--layout', layout]);
    run('umoci', ['new', '--image', `${layout}:${tag}`]);
    run('umoci', ['insert', '--image', `${layout}:${tag}`, peers.pause, '/pause']);
    run('umoci', ['config', '--image', `${layout}:${tag}`, '--config.entrypoint', '/pause', '--config.user', '65535:65535']);
  }
  const archive = join(dir, 'pause.tar');
  run('tar', ['-C', layout, '-cf', archive, '.']);
  // The transfer service unpacks only for platforms it is told; umoci's index names none.
  const platform = `linux/${process.arch === 'x64' ? 'amd64' : process.arch}`;
  containerd.ctr('images', 'import', '--platform', platform, '--snapshotter', 'native', '--base-name', PAUSE_IMAGE.split(':')[0], archive);
}

/**
 * The kubelet's configuration for this VM (KubeletConfiguration v1beta1): cgroup v1 allowed
 * (failCgroupV1: false; cgroup v1 leaves no earlier than 1.38), cgroupfs, no swap check, no
 * QoS cgroups or allocatable enforcement (no systemd slices here), eviction thresholds low
 * enough for a shared disk, its API on 127.0.0.1 with client certificates.
 * `extra`: fields the tests set (imagePullCredentialsVerificationPolicy, featureGates, ...).
 */
export function kubeletConfig({ pki, containerd, ports, extra = {} }) {
  return {
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    address: '127.0.0.1',
    port: ports.kubelet,
    readOnlyPort: 0,
    healthzBindAddress: '127.0.0.1',
    healthzPort: ports.healthz,
    tlsCertFile: pki.kubeletServing.crt,
    tlsPrivateKeyFile: pki.kubeletServing.key,
    authentication: { anonymous: { enabled: false }, webhook: { enabled: false }, x509: { clientCAFile: pki.ca.crt } },
    authorization: { mode: 'AlwaysAllow' },
    containerRuntimeEndpoint: `unix://${containerd.address}`,
    cgroupDriver: 'cgroupfs',
    failCgroupV1: false,
    failSwapOn: false,
    cgroupsPerQOS: false,
    enforceNodeAllocatable: [],
    evictionHard: { 'memory.available': '100Mi', 'nodefs.available': '1%', 'imagefs.available': '1%', 'nodefs.inodesFree': '1%' },
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    serializeImagePulls: false,
    syncFrequency: '10s',
    fileCheckFrequency: '10s',
    nodeStatusUpdateFrequency: '10s',
    resolvConf: '',
    localStorageCapacityIsolation: false,
    ...extra,
  };
}

/**
 * Starts the kubelet. `credentialProvider`: { config: file or directory, binDir } (the
 * config as `edge-credential-provider generate-config` printed it), or null for none.
 * Ready when /healthz answers and the Node object exists.
 */
export async function startKubelet({ peers, dir, log, pki, kubeconfig, containerd, credentialProvider, extra, reason, api }) {
  const ports = { kubelet: await freePort(), healthz: await freePort() };
  mkdirSync(join(dir, 'root'), { recursive: true });
  const configFile = join(dir, 'config.json');
  const config = kubeletConfig({ pki, containerd, ports, extra });
  writeFileSync(configFile, `${JSON.stringify(config, null, 2)}\n`);
  const daemon = startDaemon({
    cmd: peers.kubelet,
    log,
    reason,
    env: { PATH: componentPath(peers), HOME: dir },
    args: [
      `--config=${configFile}`,
      `--kubeconfig=${kubeconfig}`,
      `--hostname-override=${NODE}`,
      `--root-dir=${join(dir, 'root')}`,
      ...(credentialProvider
        ? [`--image-credential-provider-config=${credentialProvider.config}`, `--image-credential-provider-bin-dir=${credentialProvider.binDir}`]
        : []),
      '--v=2',
    ],
  });
  await waitReady(
    daemon,
    async () => (await httpOk(`http://127.0.0.1:${ports.healthz}/healthz`)) && (await api.call('GET', `/api/v1/nodes/${NODE}`)).status === 200,
    { what: 'kubelet', log, timeoutMs: 90_000, intervalMs: 500 },
  );
  return { daemon, ports, configFile, config };
}

/**
 * A control-plane component that takes the admin kubeconfig and serves /healthz on its own
 * self-signed port: started with `args` beside the common flags, ready once healthy.
 */
async function startKubeComponent({ what, bin, dir, log, kubeconfig, pki, peers, args }) {
  const port = await freePort();
  mkdirSync(dir, { recursive: true });
  const daemon = startDaemon({
    cmd: bin,
    log,
    env: { PATH: componentPath(peers) },
    args: [`--kubeconfig=${kubeconfig}`, '--bind-address=127.0.0.1', `--secure-port=${port}`, `--cert-dir=${dir}`, '--leader-elect=false', '--v=1', ...args],
  });
  await waitReady(daemon, () => httpsHealthy(port, pki), { what, log, timeoutMs: 60_000, intervalMs: 500 });
  return { daemon };
}

/**
 * kube-controller-manager without the node lifecycle controller: this node reports NotReady
 * (no CNI), and that controller would taint it and evict pods. The service-account and root-CA
 * publishers, the DaemonSet and garbage collectors run.
 */
export function startControllerManager({ serviceAccountKey, ...common }) {
  return startKubeComponent({
    ...common,
    what: 'kube-controller-manager',
    args: [
      '--controllers=*,-node-lifecycle-controller,-node-ipam-controller',
      `--root-ca-file=${common.pki.ca.crt}`,
      `--service-account-private-key-file=${serviceAccountKey}`,
      '--use-service-account-credentials=false',
    ],
  });
}

/** kube-scheduler: binds the pods a DaemonSet makes. */
export function startScheduler(common) {
  return startKubeComponent({ ...common, what: 'kube-scheduler', args: [] });
}

/** /healthz of a component serving its own self-signed certificate (not verified: loopback, ours). */
function httpsHealthy(port, pki) {
  return new Promise((resolve) => {
    const req = request(
      `https://127.0.0.1:${port}/healthz`,
      { rejectUnauthorized: false, cert: readFileSync(pki.admin.crt), key: readFileSync(pki.admin.key), timeout: 2000 },
      (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      },
    );
    req.once('error', () => resolve(false));
    req.once('timeout', () => req.destroy());
    req.end();
  });
}
