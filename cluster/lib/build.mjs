// Builds the cluster's real parts from the Go module proxy, once, into a cache outside the
// repository: kube-apiserver and the kubelet (k8s.io/kubernetes at a pinned release), etcd,
// containerd v2 with its runc shim and ctr, the pause binary (kubernetes' own pause.c, static,
// by gcc), and Helm for the chart tests. A build is reused while its inputs (the wrapper
// module's go.mod and go.sum, the flags) are unchanged; Go's own build cache makes a rebuild
// after a change quick.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const PEERS = fileURLToPath(new URL('../peers/', import.meta.url));

/**
 * The releases the harness runs: the two newest the Go module proxy serves in full (every
 * staging module at the matching v0 release). etcd and containerd are shared: etcd 3.7
 * serves the 3.6 client API that 1.36 speaks, containerd 2.4 supports both kubelets.
 */
export const RELEASES = {
  1.37: { kubernetes: 'v1.37.2', module: 'kubernetes-1.37' },
  1.36: { kubernetes: 'v1.36.3', module: 'kubernetes-1.36' },
};
export const NEWEST = '1.37';
export const ETCD = { version: 'v3.7.3', module: 'etcd', packages: ['go.etcd.io/etcd/server/v3'] };
export const CONTAINERD = {
  version: 'v2.4.2',
  module: 'containerd',
  packages: ['cmd/containerd', 'cmd/containerd-shim-runc-v2', 'cmd/ctr'].map((p) => `github.com/containerd/containerd/v2/${p}`),
};

/** Helm for the chart tests (charts/), from `peers/helm/`; its version variable set as Helm's Makefile does. */
export const HELM = { version: 'v4.3.2', module: 'helm', packages: ['helm.sh/helm/v4/cmd/helm'] };

/** `$XDG_CACHE_HOME/edge-credential-provider/cluster` (default ~/.cache/...). */
export function cacheDir() {
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'edge-credential-provider', 'cluster');
}

/** Runs a command, its output going to `log` (a function), and rejects on a non-zero exit. */
function exec(cmd, args, { cwd, env, log }) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let tail = '';
    const keep = (d) => {
      tail = (tail + d).slice(-8000);
      log?.(String(d));
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}:\n${tail}`))));
  });
}

/**
 * Builds `packages` of the wrapper module `module` into a directory keyed by the inputs'
 * hash; returns that directory. `-trimpath` and CGO off make the binaries independent of
 * this machine's paths and libc.
 */
async function goBuild({ module, packages, ldflags = '', log }) {
  const modDir = join(PEERS, module);
  const inputs = [readFileSync(join(modDir, 'go.mod')), readFileSync(join(modDir, 'go.sum')), packages.join(' '), ldflags];
  const stamp = createHash('sha256').update(inputs.join('\0')).digest('hex').slice(0, 16);
  const out = join(cacheDir(), 'bin', `${module}-${stamp}`);
  if (existsSync(join(out, '.complete'))) return out;
  const tmp = `${out}.partial`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  log?.(`building ${packages.join(', ')} (${module}) into ${out}\n`);
  const started = Date.now();
  await exec('go', ['build', '-trimpath', `-ldflags=-s -w ${ldflags}`, '-o', `${tmp}/`, ...packages], {
    cwd: modDir,
    env: { CGO_ENABLED: '0', GOFLAGS: '-mod=readonly -buildvcs=false' },
    log,
  });
  writeFileSync(join(tmp, '.complete'), `${Math.round((Date.now() - started) / 1000)} s\n`);
  rmSync(out, { recursive: true, force: true });
  renameSync(tmp, out);
  return out;
}

/** The version variables kubernetes' hack/lib/version.sh sets, so /version tells the release. */
function versionFlags(v) {
  const [, major, minor] = /^v(\d+)\.(\d+)\./.exec(v) ?? [];
  const vars = { gitVersion: v, gitMajor: major, gitMinor: minor, gitTreeState: 'clean', buildDate: '1970-01-01T00:00:00Z' };
  return ['k8s.io/component-base/version', 'k8s.io/client-go/pkg/version']
    .flatMap((pkg) => Object.entries(vars).map(([k, val]) => `-X ${pkg}.${k}=${val}`))
    .join(' ');
}

/**
 * kube-controller-manager and kube-scheduler of a release, built on demand (`up` with
 * `controllers`): what a DaemonSet needs (its controller makes the pods, the scheduler binds
 * them). The suite's own pods are bound to the node and need neither.
 */
export async function buildControllers({ release, log }) {
  const r = RELEASES[release];
  const dir = await goBuild({
    module: r.module,
    packages: ['k8s.io/kubernetes/cmd/kube-controller-manager', 'k8s.io/kubernetes/cmd/kube-scheduler'],
    ldflags: versionFlags(r.kubernetes),
    log,
  });
  return { controllerManager: join(dir, 'kube-controller-manager'), scheduler: join(dir, 'kube-scheduler') };
}

/** pause.c from the k8s.io/kubernetes module in Go's module cache, built static. */
async function buildPause({ kubernetes, log }) {
  const out = join(cacheDir(), 'bin', 'pause');
  const binary = join(out, 'pause');
  if (existsSync(binary)) return binary;
  const modCache = await new Promise((resolve, reject) => {
    const child = spawn('go', ['env', 'GOMODCACHE'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let s = '';
    child.stdout.on('data', (d) => (s += d));
    child.once('close', (code) => (code === 0 ? resolve(s.trim()) : reject(new Error('go env GOMODCACHE failed'))));
  });
  const source = join(modCache, `k8s.io/kubernetes@${kubernetes}`, 'build/pause/linux/pause.c');
  if (!existsSync(source)) throw new Error(`pause.c not found at ${source} (the kubernetes module is downloaded by its build)`);
  mkdirSync(out, { recursive: true });
  await exec('gcc', ['-Os', '-Wall', '-Werror', '-static', '-DVERSION=ecp', '-o', `${binary}.tmp`, source], { log });
  await exec('strip', [`${binary}.tmp`], { log });
  renameSync(`${binary}.tmp`, binary);
  return binary;
}

/**
 * Everything one release needs, built or found in the cache.
 * @param {{ release: string, log?: (text: string) => void }} opts
 * @returns {Promise<{ kubeApiserver: string, kubelet: string, etcd: string, containerd: string, shim: string, ctr: string, containerdBin: string, pause: string }>}
 */
export async function buildPeers({ release, log }) {
  const r = RELEASES[release];
  if (!r) throw new Error(`unsupported release ${release}: one of ${Object.keys(RELEASES).join(', ')}`);
  const k8s = await goBuild({
    module: r.module,
    packages: ['k8s.io/kubernetes/cmd/kube-apiserver', 'k8s.io/kubernetes/cmd/kubelet'],
    ldflags: versionFlags(r.kubernetes),
    log,
  });
  const etcd = await goBuild({ module: ETCD.module, packages: ETCD.packages, log });
  const containerd = await goBuild({ module: CONTAINERD.module, packages: CONTAINERD.packages, log });
  const pause = await buildPause({ kubernetes: r.kubernetes, log });
  return {
    kubeApiserver: join(k8s, 'kube-apiserver'),
    kubelet: join(k8s, 'kubelet'),
    etcd: join(etcd, 'server'), // go build names it after the module path without its /v3
    containerd: join(containerd, 'containerd'),
    shim: join(containerd, 'containerd-shim-runc-v2'),
    ctr: join(containerd, 'ctr'),
    containerdBin: containerd,
    pause,
  };
}

/**
 * The pinned Helm CLI, built or found in the cache
 * (`<cache>/bin/helm-<hash>/helm`); `helm version` names v4.3.2 and the client-go it links.
 * @param {{ log?: (text: string) => void }} [opts]
 * @returns {Promise<string>} the path of the helm binary
 */
export async function buildHelm({ log } = {}) {
  const dir = await goBuild({
    module: HELM.module,
    packages: HELM.packages,
    ldflags: `-X helm.sh/helm/v4/internal/version.version=${HELM.version}`,
    log,
  });
  return join(dir, 'helm');
}
