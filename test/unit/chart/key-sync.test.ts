/**
 * The chart's key sync (values keySync, templates/key-sync.yaml): off by default; on, the
 * service account the record names, its issuer-discovery binding, the bundled CLI as a
 * ConfigMap (the bytes `npm run build:cli` builds, copied into the chart's files/) and the
 * CronJob with a projected token of the key-sync audience. The rendered command is run as the
 * pod would run it (the ConfigMap laid out as the kubelet mounts one: through a ..data symlink)
 * against the real local edge, and pushes the keys. Refusals: the pull audience, a typo, a
 * chart without the CLI file.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair } from 'jose';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCli, CHART_CLI_FILE } from '../../../scripts/build-cli.mjs';
import { run } from '../../e2e/support/processes.mjs';
import { startEdge } from '../../support/edge.mjs';
import { edgeAdmin, makeCluster, trustRecord } from '../../support/kit.mjs';
import { CHART, Helm, type Manifest, manifests, one, ROOT, valuesOf } from './support/helm';

/** The first build of Helm takes minutes on a busy 2-core machine; later runs find it cached. */
const BUILD_TIMEOUT_MS = 45 * 60_000;
const NODE = join(ROOT, 'node_modules', 'node', 'bin', 'node');
const EXAMPLE = join(CHART, 'examples', 'key-sync.yaml');
const MINIMAL = join(CHART, 'examples', 'minimal.yaml');

let helm: Helm;
let dir: string;
beforeAll(async () => {
  helm = await Helm.start();
  await buildCli({ outfile: CHART_CLI_FILE });
  dir = mkdtempSync(join(tmpdir(), 'ecp-chart-key-sync-'));
}, BUILD_TIMEOUT_MS);
afterAll(() => {
  helm?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function render(files: string[], set: string[] = []): Promise<Manifest[]> {
  const r = await helm.template({ files, set });
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return manifests(r.stdout);
}

const keySyncObjects = (objects: Manifest[]) =>
  objects.filter((o) => ['ServiceAccount', 'ConfigMap', 'CronJob', 'ClusterRoleBinding'].includes(o.kind) && /key-sync/.test(JSON.stringify(o)));
const podOf = (objects: Manifest[]) => one(objects, 'CronJob').spec.jobTemplate.spec.template;

describe('the chart, key sync', { timeout: 120_000 }, () => {
  it('renders no key-sync object by default', async () => {
    const objects = await render([MINIMAL]);
    expect(keySyncObjects(objects)).toEqual([]);
    expect(objects.map((o) => o.kind)).not.toContain('CronJob');
  });

  it('renders the account the record names, its issuer-discovery binding, the CLI and the CronJob (examples/key-sync.yaml)', async () => {
    const v = valuesOf('key-sync.yaml');
    const objects = await render([EXAMPLE]);
    expect(keySyncObjects(objects).map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([
      'ServiceAccount/edge-key-sync',
      'ConfigMap/ecp-edge-credential-provider-key-sync',
      'ClusterRoleBinding/ecp-edge-credential-provider-key-sync-jwks',
      'CronJob/ecp-edge-credential-provider-key-sync',
    ]);
    expect(one(objects, 'ServiceAccount').metadata).toMatchObject({ name: v.keySync.serviceAccountName, namespace: 'kube-system' });
    const binding = objects.find((o) => o.kind === 'ClusterRoleBinding' && o.metadata.name.endsWith('key-sync-jwks')) as Manifest;
    expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:service-account-issuer-discovery' });
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'edge-key-sync', namespace: 'kube-system' }]);

    // The ConfigMap holds the built CLI byte for byte, the same bytes a fresh build gives.
    const shipped = Buffer.from(one(objects, 'ConfigMap').binaryData['ecp.mjs'], 'base64');
    const fresh = await buildCli({ outfile: join(dir, 'fresh', 'ecp.mjs') });
    expect(shipped.equals(readFileSync(fresh.outfile))).toBe(true);

    const cron = one(objects, 'CronJob');
    expect(cron.spec).toMatchObject({ schedule: '*/15 * * * *', concurrencyPolicy: 'Forbid' });
    const pod = podOf(objects);
    expect(pod.spec.serviceAccountName).toBe('edge-key-sync');
    expect(pod.spec.automountServiceAccountToken).toBe(true);
    const [c, ...others] = pod.spec.containers;
    expect(others).toEqual([]);
    expect(c.image).toBe(`${v.keySync.image.repository}@${v.keySync.image.digest}`);
    expect(c.command).toEqual(['node', '/opt/edge-key-sync/ecp.mjs', 'keys-sync', '--jwks-from', 'in-cluster']);
    expect(c.env).toEqual([
      { name: 'EDGE_URL', value: 'https://ecp.example.com' },
      { name: 'KEY_SYNC_TOKEN_FILE', value: '/var/run/secrets/edge-key-sync/token' },
    ]);
    expect(c.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    expect(pod.spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65534 });
    const token = pod.spec.volumes.find((vol: Manifest) => vol.projected).projected.sources[0].serviceAccountToken;
    expect(token).toEqual({ audience: 'edge-key-sync', expirationSeconds: 600, path: 'token' });
    expect(pod.spec.volumes.find((vol: Manifest) => vol.configMap).configMap.name).toBe(one(objects, 'ConfigMap').metadata.name);

    // The installer DaemonSet's selector does not take these pods for its own.
    const selector = one(objects, 'DaemonSet').spec.selector.matchLabels as Record<string, string>;
    expect(Object.entries(selector).every(([k, val]) => pod.metadata.labels[k] === val)).toBe(false);
  });

  it('renders what examples/key-sync/cronjob.yaml (the same without Helm) has: command, account, audience, RBAC', async () => {
    const plain = parseAllDocuments(readFileSync(join(ROOT, 'examples', 'key-sync', 'cronjob.yaml'), 'utf8')).map((d) => d.toJS() as Manifest);
    const objects = await render([MINIMAL], ['keySync.enabled=true']);
    const [ours, theirs] = [podOf(objects), podOf(plain)];
    expect(theirs.spec.containers[0].command).toEqual(ours.spec.containers[0].command);
    expect(theirs.spec.containers[0].env.map((e: Manifest) => e.name)).toEqual(ours.spec.containers[0].env.map((e: Manifest) => e.name));
    expect(theirs.spec.serviceAccountName).toBe(ours.spec.serviceAccountName);
    const audience = (pod: Manifest) => pod.spec.volumes.find((vol: Manifest) => vol.projected).projected.sources[0].serviceAccountToken;
    expect(audience(theirs)).toEqual(audience(ours));
    expect(one(plain, 'ClusterRoleBinding').roleRef).toEqual(objects.find((o) => o.metadata.name.endsWith('key-sync-jwks'))?.roleRef);
    expect(one(plain, 'ClusterRoleBinding').subjects).toEqual(objects.find((o) => o.metadata.name.endsWith('key-sync-jwks'))?.subjects);
  });

  it('leaves the issuer-discovery binding out when keySync.rbac.create is false', async () => {
    const objects = await render([EXAMPLE], ['keySync.rbac.create=false']);
    expect(objects.filter((o) => o.kind === 'ClusterRoleBinding').map((o) => o.metadata.name)).toEqual(['ecp-edge-credential-provider-node-audience']);
    expect(objects.map((o) => o.kind)).toContain('CronJob');
  });

  it('runs the rendered command from the ConfigMap as the kubelet mounts it, and the edge takes the pushed keys', async () => {
    const edge = await startEdge();
    try {
      const cluster = await makeCluster();
      const objects = await render([EXAMPLE], [`edgeURL=${edge.url}`]);
      const pod = podOf(objects);
      const [c] = pod.spec.containers;
      const projected = pod.spec.volumes.find((vol: Manifest) => vol.projected);
      const token = projected.projected.sources[0].serviceAccountToken;
      const account = { namespace: one(objects, 'ServiceAccount').metadata.namespace, name: pod.spec.serviceAccountName };
      await edgeAdmin(edge).register('private', trustRecord(cluster, { keySync: { audience: token.audience, serviceAccount: account } }));

      // The ConfigMap volume: each key a symlink through ..data into a timestamped directory.
      const cliMount = c.volumeMounts.find((m: Manifest) => m.name === 'cli').mountPath;
      const volume = join(dir, 'cli-volume');
      mkdirSync(join(volume, '..2026_12_03_11_00_00.1'), { recursive: true });
      for (const [key, b64] of Object.entries(one(objects, 'ConfigMap').binaryData as Record<string, string>)) {
        writeFileSync(join(volume, '..2026_12_03_11_00_00.1', key), Buffer.from(b64, 'base64'));
        symlinkSync(join('..data', key), join(volume, key));
      }
      symlinkSync('..2026_12_03_11_00_00.1', join(volume, '..data'));
      // The projected token, where KEY_SYNC_TOKEN_FILE says, moved under the temporary directory.
      const tokenMount = c.volumeMounts.find((m: Manifest) => m.name === projected.name).mountPath;
      mkdirSync(join(dir, 'token-volume'));
      writeFileSync(
        join(dir, 'token-volume', token.path),
        await cluster.token({ namespace: account.namespace, serviceAccount: account.name, audience: token.audience }),
      );
      // The API server's JWKS (what in-cluster reads with the pod's own token) with a new key added.
      const next = { ...(await exportJWK((await generateKeyPair('ES256', { extractable: true })).publicKey)), kid: 'next', alg: 'ES256', use: 'sig' };
      writeFileSync(join(dir, 'jwks.json'), JSON.stringify({ keys: [...cluster.jwks.keys, next] }));

      const env = Object.fromEntries(c.env.map((e: Manifest) => [e.name, String(e.value).replace(tokenMount, join(dir, 'token-volume'))]));
      expect(env.EDGE_URL).toBe(edge.url);
      const [program, script, ...args] = c.command as string[];
      expect(program).toBe('node');
      const moved = args.map((a) => (a === 'in-cluster' ? join(dir, 'jwks.json') : a));
      const out = await run(NODE, [(script as string).replace(cliMount, volume), ...moved], { env: { PATH: process.env.PATH, ...env }, cwd: dir });
      expect(out.stderr).toBe('');
      expect(out.stdout).toBe(`keys-sync: record private: keys changed (version 2); keys: ${cluster.jwks.keys.map((k) => k.kid).join(', ')}, next\n`);
      expect(out.code).toBe(0);
    } finally {
      await edge.stop();
    }
  });

  it('prints NOTES with the record keySync block for this account and audience, and how to push now', async () => {
    const r = await helm.run(['install', 'ecp', CHART, '--dry-run=client', '--namespace', 'kube-system', '--values', EXAMPLE]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const notes = r.stdout.slice(r.stdout.indexOf('NOTES:'));
    expect(notes).toContain('"keySync": { "audience": "edge-key-sync", "serviceAccount": { "namespace": "kube-system", "name": "edge-key-sync" } }');
    expect(notes).toContain('kubectl -n kube-system create job --from=cronjob/ecp-edge-credential-provider-key-sync edge-key-sync-now');
  });

  it.each([
    [
      'the pull audience as the key-sync audience',
      ['keySync.audience=edge-credential-provider'],
      'keySync.audience "edge-credential-provider" is also audience',
    ],
    ['a misspelt key-sync value', ['keySync.shedule=@hourly'], 'shedule'],
    ['a token shorter than the API server allows', ['keySync.tokenExpirationSeconds=60'], 'tokenExpirationSeconds'],
    ['a service account name that is no DNS subdomain', ['keySync.serviceAccountName=Edge_Sync'], 'serviceAccountName'],
  ])('refuses %s', async (_what, set, message) => {
    const r = await helm.template({ files: [EXAMPLE], set });
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(message);
    expect(r.code).not.toBe(0);
  });

  it('packages the CLI with the chart (helm package), so the packaged chart renders key sync on its own', async () => {
    const out = join(dir, 'package');
    const packed = await helm.run(['package', CHART, '--destination', out]);
    expect(packed.code).toBe(0);
    const tgz = join(out, 'edge-credential-provider-0.1.0.tgz');
    const r = await helm.run(['template', 'ecp', tgz, '--namespace', 'kube-system', '--values', EXAMPLE]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const shipped = Buffer.from(one(manifests(r.stdout), 'ConfigMap').binaryData['ecp.mjs'], 'base64');
    expect(shipped.equals(readFileSync(CHART_CLI_FILE))).toBe(true);
  });

  it('refuses key sync in a chart without files/ecp.mjs, saying to run npm run build:cli', async () => {
    const bare = join(dir, 'bare-chart');
    cpSync(CHART, bare, { recursive: true, filter: (src) => !src.includes(`${CHART}/files`) });
    const off = await helm.run(['template', 'ecp', bare, '--namespace', 'kube-system', '--values', MINIMAL]);
    expect(off.code).toBe(0);
    const on = await helm.run(['template', 'ecp', bare, '--namespace', 'kube-system', '--values', EXAMPLE]);
    expect(on.stderr).toContain('keySync.enabled needs files/ecp.mjs in the chart');
    expect(on.stderr).toContain('npm run build:cli');
    expect(on.code).not.toBe(0);
  });
});
