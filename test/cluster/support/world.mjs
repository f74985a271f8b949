// What the real-cluster tests share: the edge (wrangler dev), a distribution registry whose
// token realm is the edge, and the single-node cluster of cluster/ whose kubelet runs the
// built plugin with the config generate-config prints. The global setup starts them once;
// each test file attaches to them through the description it provides (world()).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { attach } from '../../../cluster/lib/cluster.mjs';
import { NODE } from '../../../cluster/lib/components.mjs';
import { sleep } from '../../../cluster/lib/daemon.mjs';
import { runOk } from '../../e2e/support/processes.mjs';
import { eventLines } from '../../support/log-lines.mjs';
import { skopeoPush } from '../../e2e/support/runtime.mjs';

export const AUDIENCE = 'edge-credential-provider';
export const RECORD = 'real-cluster';

/**
 * A one-layer OCI image whose entrypoint is kubernetes' pause binary (it runs until stopped),
 * plus a file naming `tag`, so every tag is a distinct image. Returns skopeo's source ref.
 */
export async function buildImage(dir, pauseBinary, tag) {
  const layout = join(dir, `layout-${tag}`);
  const marker = join(dir, `marker-${tag}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(marker, `edge-credential-provider cluster test image ${tag}\n`);
  await runOk('umoci', ['init', '--layout', layout]);
  await runOk('umoci', ['new', '--image', `${layout}:${tag}`]);
  await runOk('umoci', ['insert', '--image', `${layout}:${tag}`, pauseBinary, '/pause']);
  await runOk('umoci', ['insert', '--image', `${layout}:${tag}`, marker, '/image.txt']);
  await runOk('umoci', ['config', '--image', `${layout}:${tag}`, '--config.entrypoint', '/pause']);
  return `oci:${layout}:${tag}`;
}

/** A service-account token from the real API server's TokenRequest (what the kubelet asks for). */
export async function requestToken(api, namespace, serviceAccount, { audience = AUDIENCE, seconds = 600 } = {}) {
  const res = await api.call('POST', `/api/v1/namespaces/${namespace}/serviceaccounts/${serviceAccount}/token`, {
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'TokenRequest',
    spec: { audiences: [audience], expirationSeconds: seconds },
  });
  if (res.status !== 201) throw new Error(`TokenRequest ${namespace}/${serviceAccount}: ${res.status} ${res.body}`);
  return res.json.status.token;
}

/**
 * Creates namespaces and service accounts (existing ones are kept); returns the accounts' uids.
 * @param {Record<string, string[]>} accounts namespace -> account names
 * @returns {Promise<Record<string, string>>} "namespace/name" -> uid
 */
export async function ensureAccounts(api, accounts) {
  const uids = {};
  for (const [namespace, names] of Object.entries(accounts)) {
    await api.create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } });
    for (const name of names) {
      await api.create(`/api/v1/namespaces/${namespace}/serviceaccounts`, {
        apiVersion: 'v1',
        kind: 'ServiceAccount',
        metadata: { name },
        automountServiceAccountToken: false,
      });
      uids[`${namespace}/${name}`] = (await api.get(`/api/v1/namespaces/${namespace}/serviceaccounts/${name}`)).metadata.uid;
    }
  }
  return uids;
}

/**
 * A pod bound to the node (no scheduler runs), host network (no CNI), no service-account
 * token volume (no controller-manager publishes kube-root-ca.crt), gone at once on delete.
 */
export function podManifest({ name, serviceAccount, image, pullPolicy = 'IfNotPresent' }) {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: { app: 'ecp-cluster-test' } },
    spec: {
      nodeName: NODE,
      serviceAccountName: serviceAccount,
      automountServiceAccountToken: false,
      hostNetwork: true,
      terminationGracePeriodSeconds: 0,
      restartPolicy: 'Always',
      containers: [{ name: 'app', image, imagePullPolicy: pullPolicy }],
    },
  };
}

/**
 * Where a pod's container stands: 'running', or the waiting reason (ErrImagePull,
 * ImagePullBackOff, ContainerCreating, ...), or 'pending' before the kubelet reported.
 */
export async function podPhase(api, namespace, name) {
  const pod = await api.get(`/api/v1/namespaces/${namespace}/pods/${name}`);
  const cs = pod.status?.containerStatuses?.[0];
  if (cs?.state?.running) return 'running';
  return cs?.state?.waiting?.reason ?? cs?.state?.terminated?.reason ?? 'pending';
}

/** Creates a pod and waits until its container runs or its phase is one of `until`. */
export async function runPod(api, namespace, spec, { until = ['running'], timeoutMs = 90_000 } = {}) {
  await api.remove(`/api/v1/namespaces/${namespace}/pods/${spec.name}`, { gracePeriodSeconds: 0 });
  await waitGone(api, namespace, spec.name);
  const created = await api.call('POST', `/api/v1/namespaces/${namespace}/pods`, podManifest(spec));
  if (created.status !== 201) throw new Error(`create pod ${namespace}/${spec.name}: ${created.status} ${created.body}`);
  return waitPhase(api, namespace, spec.name, until, timeoutMs);
}

export async function waitPhase(api, namespace, name, until, timeoutMs = 90_000) {
  const deadline = Date.now() + timeoutMs;
  let phase = 'pending';
  while (Date.now() < deadline) {
    phase = await podPhase(api, namespace, name);
    if (until.includes(phase)) return phase;
    await sleep(500);
  }
  const events = await podEvents(api, namespace, name);
  throw new Error(`pod ${namespace}/${name} is ${phase}, not ${until.join('|')}, after ${timeoutMs / 1000} s; events:\n${events.join('\n')}`);
}

/** Deletes a pod now and waits until the API server has forgotten it. */
export async function deletePod(api, namespace, name) {
  await api.remove(`/api/v1/namespaces/${namespace}/pods/${name}`, { gracePeriodSeconds: 0 });
  await waitGone(api, namespace, name);
}

async function waitGone(api, namespace, name) {
  for (let i = 0; i < 120; i++) {
    if ((await api.call('GET', `/api/v1/namespaces/${namespace}/pods/${name}`)).status === 404) return;
    await sleep(250);
  }
  throw new Error(`pod ${namespace}/${name} was not deleted`);
}

/** The pod's events, "reason: message" each. */
export async function podEvents(api, namespace, name) {
  const list = await api.get(`/api/v1/namespaces/${namespace}/events?fieldSelector=involvedObject.name=${name}`);
  return list.items.map((e) => `${e.reason}: ${e.message}`);
}

/** The kubelet's own metrics (its HTTPS port, our client certificate), as text. */
export async function kubeletMetrics(cluster) {
  const { request } = await import('node:https');
  const { readFileSync } = await import('node:fs');
  const pki = cluster.state.pki;
  return new Promise((resolve, reject) => {
    const req = request(
      `https://127.0.0.1:${cluster.state.kubeletPorts.kubelet}/metrics`,
      { ca: readFileSync(pki.ca.crt), cert: readFileSync(pki.admin.crt), key: readFileSync(pki.admin.key) },
      (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve(text));
      },
    );
    req.once('error', reject);
    req.end();
  });
}

/** A metric's value from Prometheus text: the sum over series matching every `labels` pair. */
export function metric(text, name, labels = {}) {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([^{\s]+)(?:\{([^}]*)\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) total += Number(m[3]);
  }
  return total;
}

/** Edge audit lines since `mark` (an offset into its log) whose event is `event`. */
export function edgeEvents(edgeLogs, mark, event) {
  return eventLines(edgeLogs().slice(mark), event);
}

/** Pushes `source` to the registry as `ref`, with credentials the edge gave a pusher's real token. */
export async function push(dir, source, ref, creds) {
  const out = await skopeoPush(dir, source, ref, creds);
  if (out.code !== 0) throw new Error(`skopeo push ${ref}: ${out.stderr}`);
}

export { attach };

/**
 * One test file's world: its own edge and registry (realm = the edge), the kubelet restarted
 * with generate-config's output for them, the namespaces and accounts, and a trust record
 * whose keys are the cluster's own JWKS (read from the API server as `kubectl get --raw
 * /openid/v1/jwks` does). `rules(registryHost)` gives the record's rules.
 * @param {{ dir: string, clusterDir: string, accounts: Record<string, string[]>, rules: (registry: string) => object[],
 *   provider?: object, kubeletExtra?: object, edgeVars?: Record<string, string>, matchImages?: string[] }} opts
 *   edgeVars: the edge's extra bindings (a static upstream's secret). matchImages: hosts the
 *   kubelet's provider matches besides the world's registry (another registry's). Default none.
 */
export async function startWorld({ dir, clusterDir, accounts, rules, provider = {}, kubeletExtra, edgeVars, matchImages = [] }) {
  const { startEdge } = await import('../../support/edge.mjs');
  const { startRegistry } = await import('../../e2e/support/registry.mjs');
  const { certificateBundle } = await import('../../../scripts/lib/keys.mjs');
  const { edgeAdmin } = await import('../../support/kit.mjs');
  const cluster = await attach(clusterDir);
  const stops = [];
  try {
    const edge = await startEdge(edgeVars ? { vars: edgeVars } : {});
    stops.push(() => edge.stop());
    mkdirSync(join(dir, 'registry'), { recursive: true });
    const registry = await startRegistry({
      dir: join(dir, 'registry'),
      realm: `${edge.url}/token`,
      issuer: `${edge.url}/registry-token`,
      bundle: certificateBundle(edge.keyRing),
    });
    stops.push(() => registry.stop());
    cluster.allowPlainHttp(registry.host);
    const uids = await ensureAccounts(cluster.api, { ci: ['pusher'], ...accounts });
    const jwks = JSON.parse(await cluster.api.raw('/openid/v1/jwks'));
    const record = {
      issuer: cluster.issuer,
      audiences: [AUDIENCE],
      keys: { type: 'inline', jwks },
      rules: [
        {
          name: 'ci-push',
          namespaces: ['ci'],
          serviceAccounts: ['pusher'],
          registry: registry.host,
          repositories: ['**'],
          actions: ['pull', 'push'],
          ttl: 600,
        },
        ...rules(registry.host),
      ],
    };
    const admin = edgeAdmin(edge);
    await admin.register(RECORD, record);
    const fullProvider = { edge: edge.url, matchImages: [registry.host, ...matchImages], audience: AUDIENCE, ...provider };
    const kubelet = await cluster.restartKubelet({ provider: fullProvider, ...(kubeletExtra ? { extra: kubeletExtra } : {}) });
    const world = {
      cluster,
      api: cluster.api,
      edge,
      registry,
      admin,
      record,
      uids,
      jwks,
      configText: kubelet.configText,
      /** Stops the registry and the edge (the one running now: a test may have restarted it). */
      async stop() {
        const errors = [];
        for (const s of [() => world.registry.stop(), () => world.edge.stop()]) await s().catch((e) => errors.push(e));
        cluster.api.close();
        if (errors.length) throw new Error(errors.join('\n'));
      },
    };
    return world;
  } catch (err) {
    for (const s of stops.reverse()) await s().catch(() => {});
    cluster.api.close();
    throw err;
  }
}

/** Credentials for `ci/pusher` from the edge, through the built plugin, for a real token. */
export async function pusherCredentials(world, repo) {
  const { kubeletRequest, runPlugin } = await import('../../e2e/support/cluster.mjs');
  const token = await requestToken(world.api, 'ci', 'pusher');
  const out = await runPlugin(world.edge.url, kubeletRequest(`${world.registry.host}/${repo}`, token));
  if (out.code !== 0) throw new Error(`plugin for ci/pusher: ${out.stderr}`);
  return JSON.parse(out.stdout).auth[world.registry.host];
}

/**
 * A distribution registry with no authentication on 127.0.0.1: where the installer image
 * lives, as a public registry or one behind imagePullSecrets would (the installer cannot
 * depend on the plugin it installs).
 */
export async function startPlainRegistry(dir) {
  const { freePort } = await import('../../support/edge.mjs');
  const { startService, waitFor } = await import('../../e2e/support/processes.mjs');
  mkdirSync(dir, { recursive: true });
  const host = `127.0.0.1:${await freePort()}`;
  const config = join(dir, 'config.yml');
  writeFileSync(
    config,
    JSON.stringify({ version: 0.1, log: { level: 'warn' }, storage: { filesystem: { rootdirectory: join(dir, 'data') } }, http: { addr: host } }),
  );
  const svc = startService('docker-registry', ['serve', config], { env: { ...process.env, OTEL_TRACES_EXPORTER: 'none' } });
  await waitFor(async () => (await fetch(`http://${host}/v2/`)).status === 200, {
    timeoutMs: 20_000,
    describe: () => `plain registry on ${host}:\n${svc.logs()}`,
  });
  return { host, stop: svc.stop, logs: svc.logs };
}
