// Runs once before the real-cluster suite: builds the plugin from the tree and the cluster's
// peers (cached after the first time; a cold build takes tens of minutes on 2 cores), then
// starts etcd, kube-apiserver, containerd and a kubelet. Each test file brings its own edge
// and registry and restarts the kubelet with the config generate-config prints for them.
// Missing tools fail the run; nothing is skipped.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { NEWEST, RELEASES } from '../../../cluster/lib/build.mjs';
import { down, up } from '../../../cluster/lib/cluster.mjs';
import { which } from '../../e2e/support/processes.mjs';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const TOOLS = { 'docker-registry': 'docker-registry', skopeo: 'skopeo', umoci: 'umoci', runc: 'runc', openssl: 'openssl', gcc: 'gcc', go: 'golang' };

export default async function setup(project) {
  const missing = Object.keys(TOOLS).filter((t) => !which(t));
  if (missing.length) throw new Error(`cluster suite: missing ${missing.join(', ')} on PATH (.ci/run installs them; Go comes with the machine)`);
  if (process.getuid?.() !== 0) throw new Error('cluster suite: the kubelet and containerd need root; run it as root (CI does)');
  const release = process.env.ECP_CLUSTER_RELEASE ?? NEWEST;
  if (!RELEASES[release]) throw new Error(`ECP_CLUSTER_RELEASE must be one of ${Object.keys(RELEASES).join(', ')}`);
  const dir = `/tmp/ecp-cluster-test-${process.pid}`;
  execFileSync(process.execPath, ['plugin/build.mjs'], { cwd: ROOT, stdio: 'inherit', timeout: 120_000 });
  const started = Date.now();
  const cluster = await up({
    dir,
    release,
    provider: null,
    log: (s) => process.stderr.write(`[cluster] ${s}`),
    verboseBuild: false,
    retain: Boolean(process.env.ECP_CLUSTER_RETAIN),
  });
  process.stderr.write(`[cluster] ${release} up in ${Math.round((Date.now() - started) / 1000)} s: ${cluster.issuer}\n`);
  cluster.api.close();
  project.provide('clusterDir', dir);
  project.provide('clusterRelease', release);
  return async () => {
    // ECP_CLUSTER_RETAIN=1 keeps the directory (logs, kubelet state) for debugging.
    for (const line of await down(dir, { retain: Boolean(process.env.ECP_CLUSTER_RETAIN) })) process.stderr.write(`[cluster] ${line}\n`);
  };
}
