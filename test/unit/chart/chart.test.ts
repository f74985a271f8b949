/**
 * charts/edge-credential-provider, rendered by the pinned Helm (built from the Go module proxy
 * by cluster/lib/build.mjs; minutes the first time, cached afterwards): lint, the defaults and
 * every example values file, the schema, the checks across values, one audience in every
 * object, and the config the installer writes, by running the rendered install command with
 * the built plugin and comparing it with what generate-config prints for the same values.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { buildCli, CHART_CLI_FILE } from '../../../scripts/build-cli.mjs';
import { CHART, EXAMPLES, Helm, type Manifest, manifests, one, PLUGIN, run, valuesOf } from './support/helm';

/** The first build of Helm takes minutes on a busy 2-core machine; later runs find it cached. */
const BUILD_TIMEOUT_MS = 45 * 60_000;
const AUDIENCE = 'ecp.prod-eu1.example.com';
const example = (name: string) => join(CHART, 'examples', name);
const MINIMAL = example('minimal.yaml');

let helm: Helm;
beforeAll(async () => {
  helm = await Helm.start();
  await buildCli({ outfile: CHART_CLI_FILE }); // examples/key-sync.yaml's CronJob ships it
}, BUILD_TIMEOUT_MS);
afterAll(() => helm?.stop());

async function render(values: Parameters<Helm['template']>[0]): Promise<Manifest[]> {
  const r = await helm.template(values);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return manifests(r.stdout);
}

const installer = (objects: Manifest[]) => one(objects, 'DaemonSet').spec.template.spec;
/** What the init container runs: command and args. */
const installCommand = (objects: Manifest[]): string[] => {
  const c = installer(objects).initContainers[0];
  return [...c.command, ...c.args];
};
/** The image's single executable (installer/build.mjs IMAGE_SEA; examples/kubelet/Dockerfile). */
const IMAGE_SEA = '/opt/edge-credential-provider/edge-credential-provider';

/** The flags generate-config takes for these values, written from the values, not from the chart. */
function generateFlags(v: Manifest): string[] {
  const minor = Number(String(v.kubernetesVersion).replace(/^v?1\./, ''));
  return [
    `--url=${v.edgeURL}`,
    ...v.matchImages.map((m: string) => `--match-image=${m}`),
    `--audience=${v.audience}`,
    `--kubernetes-version=${v.kubernetesVersion}`,
    ...(minor >= 34 ? [`--cache-type=${v.cacheType}`] : []),
    ...v.serviceAccountAnnotations.required.map((k: string) => `--required-annotation=${k}`),
    ...v.serviceAccountAnnotations.optional.map((k: string) => `--optional-annotation=${k}`),
  ];
}

// Each test runs Helm or the plugin a few times (0.1 to 0.6 s each here); a loaded CI machine gets room.
describe('the chart', { timeout: 60_000 }, () => {
  it.each(EXAMPLES)('passes helm lint --strict with examples/%s', async (file) => {
    const r = await helm.run(['lint', '--strict', CHART, '--values', example(file)]);
    expect(r.stdout + r.stderr).toContain('1 chart(s) linted, 0 chart(s) failed');
    expect(r.code).toBe(0);
  });

  it('refuses to render the bare defaults, saying which value to set and how', async () => {
    const r = await helm.template();
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('edgeURL is required');
    expect(r.stderr).toContain('--set edgeURL=https://ecp.example.com');
  });

  it('renders the defaults with only the values that have none set (examples/minimal.yaml)', async () => {
    const objects = await render({ files: [MINIMAL] });
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual([
      'ClusterRole/ecp-edge-credential-provider-node-audience',
      'ClusterRoleBinding/ecp-edge-credential-provider-node-audience',
      'DaemonSet/ecp-edge-credential-provider-installer',
      'ValidatingAdmissionPolicy/ecp-edge-credential-provider-audience',
      'ValidatingAdmissionPolicyBinding/ecp-edge-credential-provider-audience',
    ]);
    const pod = installer(objects);
    expect(pod.initContainers[0].image).toBe('registry.example.com/platform/edge-credential-provider-installer:0.1.0');
    expect(pod.volumes.map((v: Manifest) => v.hostPath.path)).toEqual(['/etc/kubernetes/image-credential-provider', '/etc/kubernetes/credential-provider']);
    expect(installCommand(objects)).toEqual([
      IMAGE_SEA,
      'install',
      '--config=/host/config/config.yaml',
      '--copy-binary-to=/host/bin',
      '--url=https://ecp.example.com',
      '--match-image=registry.example.com',
      '--audience=edge-credential-provider',
      '--kubernetes-version=1.34',
      '--cache-type=ServiceAccount',
    ]);
  });

  it.each(EXAMPLES)('renders examples/%s to an installer that mounts only the two directories it writes', async (file) => {
    const v = valuesOf(file);
    const objects = await render({ files: [example(file)] });
    const pod = installer(objects);
    const [install, ...otherInits] = pod.initContainers;
    expect(otherInits).toEqual([]);
    // Only the bin dir and the config's directory (or the config directory itself), nothing else of the host.
    const configDir = v.node.configPath.endsWith('/') ? v.node.configPath.replace(/\/$/, '') : dirname(v.node.configPath);
    expect(pod.volumes).toEqual([
      { name: 'host-bin', hostPath: { path: v.node.binDir, type: 'DirectoryOrCreate' } },
      { name: 'host-config', hostPath: { path: configDir, type: 'DirectoryOrCreate' } },
    ]);
    expect(install.volumeMounts.map((m: Manifest) => m.mountPath)).toEqual(['/host/bin', '/host/config']);
    expect(installCommand(objects).slice(0, 4)).toEqual([
      IMAGE_SEA,
      'install',
      `--config=/host/config/${v.node.configPath.endsWith('/') ? '' : basename(v.node.configPath)}`,
      '--copy-binary-to=/host/bin',
    ]);
    expect(install.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(install.securityContext.privileged).toBeUndefined();
    expect(install.securityContext.capabilities.add).toBeUndefined();
    // The long-running container mounts nothing and runs as nobody.
    const [pause, ...others] = pod.containers;
    expect(others).toEqual([]);
    expect(pause.volumeMounts).toBeUndefined();
    expect(pause.securityContext).toMatchObject({ runAsNonRoot: true, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    expect(pod.hostNetwork).toBeUndefined();
    expect(pod.hostPID).toBeUndefined();
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.nodeSelector).toEqual(v.nodeSelector);
    expect(pod.tolerations).toEqual(v.tolerations);
    expect(install.image).toBe(v.image.digest ? `${v.image.repository}@${v.image.digest}` : `${v.image.repository}:${v.image.tag || '0.1.0'}`);
    const kinds = objects.map((o) => o.kind);
    expect(kinds.includes('ValidatingAdmissionPolicy')).toBe(v.admissionPolicy.enabled);
    expect(kinds.includes('ClusterRole')).toBe(v.nodeRBAC.create);
  });

  it.each(EXAMPLES)('makes the installer write, for examples/%s, the config generate-config prints for the same values', async (file) => {
    const v = valuesOf(file);
    const dir = mkdtempSync(join(tmpdir(), 'ecp-chart-'));
    try {
      const isDir = v.node.configPath.endsWith('/');
      const written = isDir ? join(dir, 'config', 'edge-credential-provider.yaml') : join(dir, 'config', basename(v.node.configPath));
      const copied = join(dir, 'bin', 'edge-credential-provider');
      // The rendered command as the init container runs it (the built script in place of the
      // image's executable), with the two host mounts moved to a temporary directory.
      const [executable, ...args] = installCommand(await render({ files: [example(file)] }));
      expect(executable).toBe(IMAGE_SEA);
      const moved = args.map((a) =>
        a.replace(/^--config=\/host\/config\//, `--config=${dir}/config/`).replace(/^--copy-binary-to=\/host\/bin$/, `--copy-binary-to=${dir}/bin`),
      );
      expect(moved.filter((a, i) => a !== args[i])).toHaveLength(2);
      expect(moved.join(' ')).not.toContain('/host/');
      const install = await run(process.execPath, [PLUGIN, ...moved]);
      expect(install.stderr).toBe(`edge-credential-provider: copied ${PLUGIN} to ${copied}\n`);
      expect(install.stdout).toBe(`changed: ${written}\n`);
      expect(install.code).toBe(0);
      expect(readFileSync(copied).equals(readFileSync(PLUGIN))).toBe(true);
      const format = written.endsWith('.json') ? 'json' : 'yaml';
      const generated = await run(process.execPath, [PLUGIN, 'generate-config', ...generateFlags(v), `--format=${format}`]);
      expect(generated.stderr).toBe('');
      expect(generated.code).toBe(0);
      expect(parse(readFileSync(written, 'utf8'))).toEqual(parse(generated.stdout));
      expect(parse(generated.stdout).providers[0].tokenAttributes.serviceAccountTokenAudience).toBe(v.audience);
      // A second run of the same command changes nothing: a restarted pod does not ask for a kubelet restart.
      const again = await run(process.execPath, [PLUGIN, ...moved]);
      expect(again.stdout).toBe(`unchanged: ${written}\n`);
      expect(again.stderr).toBe(`edge-credential-provider: ${copied} is already this executable\n`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('uses one audience in the installer, the node RBAC and the admission policy', async () => {
    const objects = await render({ files: [MINIMAL], set: [`audience=${AUDIENCE}`] });
    expect(installCommand(objects).filter((a) => a.startsWith('--audience'))).toEqual([`--audience=${AUDIENCE}`]);
    expect(one(objects, 'ClusterRole').rules).toEqual([{ apiGroups: [''], resources: [AUDIENCE], verbs: ['request-serviceaccounts-token-audience'] }]);
    expect(one(objects, 'ClusterRoleBinding')).toMatchObject({
      roleRef: { kind: 'ClusterRole', name: one(objects, 'ClusterRole').metadata.name },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'system:nodes' }],
    });
    const policy = one(objects, 'ValidatingAdmissionPolicy');
    expect(policy.spec.variables).toEqual([{ name: 'audience', expression: `'${AUDIENCE}'` }]);
    expect(one(objects, 'ValidatingAdmissionPolicyBinding').spec).toEqual({
      policyName: policy.metadata.name,
      validationActions: ['Deny'],
    });
    // The default audience is left nowhere an audience goes (it stays only in names and labels).
    const text = JSON.stringify(objects);
    expect(text).not.toMatch(/--audience=edge-credential-provider|'edge-credential-provider'|"resources":\["edge-credential-provider"\]/);
  });

  it('prints NOTES with the trust record for the audience, the kubelet flags and when to restart the kubelet', async () => {
    // A client-side dry run asks no API server, so NOTES say the admission policy was not created.
    const r = await helm.run(['install', 'ecp', CHART, '--dry-run=client', '--namespace', 'kube-system', '--values', MINIMAL, '--set', `audience=${AUDIENCE}`]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const notes = r.stdout.slice(r.stdout.indexOf('NOTES:'));
    expect(notes).toContain(`"audiences": ["${AUDIENCE}"]`);
    expect(notes).toContain('"registry": "registry.example.com"');
    expect(notes).toContain('--image-credential-provider-config=/etc/kubernetes/credential-provider/config.yaml');
    expect(notes).toContain('--image-credential-provider-bin-dir=/etc/kubernetes/image-credential-provider');
    expect(notes).toContain('"changed: <file>" means');
    expect(notes).toContain('restart the kubelet');
    expect(notes).toContain('docs/plugin.md');
    expect(notes).toContain('This API server does not serve admissionregistration.k8s.io/v1 ValidatingAdmissionPolicy');
    expect(notes).toContain('kubectl -n kube-system logs daemonset/ecp-edge-credential-provider-installer -c install');
  });

  it.each([
    ['it is turned off', { set: ['admissionPolicy.enabled=false'] }],
    ['the API server does not serve ValidatingAdmissionPolicy', { apiVersions: ['admissionregistration.k8s.io/v1'] }],
  ])('leaves out the admission policy when %s', async (_when, values) => {
    const kinds = (await render({ files: [MINIMAL], ...values })).map((o) => o.kind);
    expect(kinds).toContain('DaemonSet');
    expect(kinds).not.toContain('ValidatingAdmissionPolicy');
    expect(kinds).not.toContain('ValidatingAdmissionPolicyBinding');
  });

  it('keeps every name within 63 characters and selects pods by name and instance only', async () => {
    const objects = await render({ files: [MINIMAL], set: [`fullnameOverride=${'x'.repeat(70)}`] });
    for (const o of objects) expect(o.metadata.name.length, o.kind).toBeLessThanOrEqual(63);
    const ds = one(objects, 'DaemonSet');
    expect(ds.spec.selector.matchLabels).toEqual({ 'app.kubernetes.io/name': 'edge-credential-provider', 'app.kubernetes.io/instance': 'ecp' });
    expect(ds.spec.template.metadata.labels).toMatchObject(ds.spec.selector.matchLabels);
  });

  it.each([
    ['a misspelt top-level value', 'audeince=x', 'audeince'],
    ['a misspelt nested value', 'node.configPth=/etc/x/config.yaml', 'configPth'],
    ['a misspelt image field', 'image.tagg=0.1.0', 'tagg'],
    ['a cache type the kubelet does not know', 'cacheType=Pod', 'cacheType'],
  ])('refuses %s through the schema', async (_what, set, named) => {
    const r = await helm.template({ files: [MINIMAL], set: [set] });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/schema/i);
    expect(r.stderr).toContain(named);
  });

  it.each([
    [
      'no matchImages',
      ['matchImages=null'],
      "matchImages is empty: the kubelet would never run the plugin; list the registries the edge serves, e.g. --set 'matchImages={registry.example.com}'",
    ],
    ['an http:// edge that is not loopback', ['edgeURL=http://ecp.example.com'], 'edgeURL "http://ecp.example.com" must be https://'],
    ['an edge URL with credentials', ['edgeURL=https://user:pw@ecp.example.com'], 'without credentials, query or fragment'],
    ['a Token cache for 1.33 kubelets', ['cacheType=Token', 'kubernetesVersion=1.33'], 'cacheType Token needs kubernetesVersion 1.34 or newer'],
    ['kubelets older than 1.33', ['kubernetesVersion=1.32'], 'kubelets before 1.33 cannot send service-account tokens'],
    [
      'a config directory for 1.33 kubelets',
      ['kubernetesVersion=1.33', 'node.configPath=/etc/kubernetes/credential-provider.d/'],
      'only kubelets >= 1.34 read a config directory',
    ],
    ['a relative bin dir', ['node.binDir=bin'], 'node.binDir "bin" must be an absolute path on the node, e.g. --set node.binDir='],
    [
      'a config in /etc/kubernetes itself',
      ['node.configPath=/etc/kubernetes/config.yaml'],
      "node.configPath would mount the node's /etc/kubernetes read-write",
    ],
    [
      'an annotation both required and optional',
      ['serviceAccountAnnotations.required={a.example.com/x}', 'serviceAccountAnnotations.optional={a.example.com/x}'],
      '"a.example.com/x" is both required and optional',
    ],
    ['no installer image', ['image.repository='], 'image.repository is required'],
  ])('refuses %s, saying how to fix it', async (_what, set, message) => {
    const r = await helm.template({ files: [MINIMAL], set });
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(message);
    expect(r.code).not.toBe(0);
  });

  it('runs the installer in the host network only when asked (for nodes without a CNI)', async () => {
    expect(installer(await render({ files: [MINIMAL] })).hostNetwork).toBeUndefined();
    expect(installer(await render({ files: [MINIMAL], set: ['hostNetwork=true'] })).hostNetwork).toBe(true);
  });

  it('accepts an http:// edge on loopback', async () => {
    const objects = await render({ files: [MINIMAL], set: ['edgeURL=http://127.0.0.1:8787'] });
    expect(installCommand(objects)).toContain('--url=http://127.0.0.1:8787');
  });
});
