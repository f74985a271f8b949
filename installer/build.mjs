#!/usr/bin/env node
// Builds the installer image without a container engine: an OCI image layout with one index
// over linux/amd64 and linux/arm64, each image the plugin's single executable for that CPU,
// the plugin's script build, and the glibc, libstdc++ and libgcc_s files the executable needs,
// taken from pinned Debian packages. No shell, no package manager. Reproducible: the same
// commit and pins give the same digests (layers sorted, owners 0:0, mtimes 0, times from
// SOURCE_DATE_EPOCH, default the commit's time). Writes, under --out (default installer/dist):
//   oci/                 the image layout; tag = package.json's version (skopeo: oci:<out>/oci:<version>)
//   sbom.spdx.json       the SBOM (SPDX 2.3)
//   <name>.oci.tar       with --tar: the layout as one tar (skopeo: oci-archive:<file>)
// Usage: node installer/build.mjs [--out DIR] [--arch amd64,arm64] [--tar]   (npm run build:installer)
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildPlugin } from '../plugin/build.mjs';
import { ensureAll, ensureNode, CACHE_DIR } from './fetch.mjs';
import { Layout } from './oci.mjs';
import { ARCHES, DEBIAN, NODE_VERSION } from './pins.mjs';
import { spdx } from './sbom.mjs';
import { HOST_ARCH, injectSea, makeBlob } from './sea.mjs';
import { entriesFrom, tarOf } from './tar.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..');
export const DEFAULT_OUT = join(HERE, 'dist');
export const IMAGE_NAME = 'edge-credential-provider-installer';

/** Where things are in the image; the chart and the DaemonSet depend on these staying put. */
export const IMAGE_DIR = '/opt/edge-credential-provider';
export const IMAGE_SEA = `${IMAGE_DIR}/edge-credential-provider`;
export const IMAGE_SCRIPT = `${IMAGE_DIR}/edge-credential-provider.js`;

const git = (...args) => {
  try {
    return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() || undefined;
  } catch {
    return undefined;
  }
};

/** SOURCE_DATE_EPOCH, else the commit's time; the revision; where the source is. */
export function provenance(env = process.env) {
  const epoch = env.SOURCE_DATE_EPOCH ?? git('log', '-1', '--format=%ct');
  if (!epoch || !/^\d+$/.test(epoch)) throw new Error('no SOURCE_DATE_EPOCH and no git commit to take the time from: set SOURCE_DATE_EPOCH');
  return {
    epoch: Number(epoch),
    created: new Date(Number(epoch) * 1000).toISOString().replace('.000Z', 'Z'),
    revision: env.ECP_IMAGE_REVISION ?? git('rev-parse', 'HEAD') ?? 'unknown',
    // The repository URL (org.opencontainers.image.source); from git's origin when not given.
    source: env.ECP_IMAGE_SOURCE ?? git('remote', 'get-url', 'origin'),
  };
}

/**
 * @param {{ out?: string, arches?: string[], tar?: boolean, log?: (line: string) => void, env?: Record<string, string | undefined> }} [opts]
 */
export async function buildInstaller({ out = DEFAULT_OUT, arches = ['amd64', 'arm64'], tar = false, log = () => {}, env = process.env } = {}) {
  for (const arch of arches) if (!ARCHES[arch]) throw new Error(`unknown architecture ${arch} (amd64, arm64)`);
  if (!HOST_ARCH) throw new Error(`the build runs on x64 or arm64 Linux, not ${process.arch}`);
  const prov = provenance(env);
  const version = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version;
  const inputs = ensureAll(arches);
  const hostNode = inputs[HOST_ARCH]?.node ?? ensureNode(HOST_ARCH);
  log(`inputs checked against installer/pins.mjs (cache ${CACHE_DIR})`);

  const work = mkdtempSync(join(tmpdir(), 'ecp-installer-'));
  try {
    const blob = await makeBlob(hostNode.bin, join(work, 'blob'));
    const script = await buildPlugin({ outfile: join(work, 'script', 'edge-credential-provider.js') });
    const layout = new Layout(join(out, 'oci'));
    const common = {
      'org.opencontainers.image.created': prov.created,
      ...(prov.source ? { 'org.opencontainers.image.source': prov.source } : {}),
      'org.opencontainers.image.revision': prov.revision,
      'org.opencontainers.image.version': version,
      'org.opencontainers.image.title': IMAGE_NAME,
      'org.opencontainers.image.description': `edge-credential-provider ${version} for the installer DaemonSet: ${IMAGE_SEA} install --copy-binary-to DIR --config PATH ...`,
      'org.opencontainers.image.licenses': 'Apache-2.0',
    };
    const manifests = [];
    const images = [];
    for (const arch of arches) {
      const { debian, triplet, variant } = ARCHES[arch];
      const { node, debs } = inputs[arch];
      const base = [];
      for (const { deb, path } of debs) {
        const root = join(work, `deb-${arch}`, deb.name);
        mkdirSync(root, { recursive: true });
        execFileSync('dpkg-deb', ['-x', path, root]);
        base.push(...entriesFrom(root, deb.files(triplet)));
      }
      const sea = injectSea({ arch, nodeBin: node.bin, blob, outfile: join(work, `sea-${arch}`) });
      const app = [
        { path: IMAGE_SEA.slice(1), type: 'file', mode: 0o755, data: readFileSync(sea.outfile) },
        { path: IMAGE_SCRIPT.slice(1), type: 'file', mode: 0o755, data: readFileSync(script) },
      ];
      const packages = debs.map(({ deb }) => `${deb.name}=${deb.version}`).join(' ');
      const platform = { architecture: arch, os: 'linux', ...(variant ? { variant } : {}) };
      const annotations = {
        ...common,
        // No base image: the files come from these Debian packages (the SBOM has their hashes).
        'edge-credential-provider.base.debian': `debian ${DEBIAN.version} (${DEBIAN.release}) ${debian}: ${packages}`,
        'edge-credential-provider.base.node': `${node.name}@${NODE_VERSION} ${node.integrity}`,
      };
      const descriptor = layout.image({
        platform,
        created: prov.created,
        annotations,
        config: {
          User: '0:0',
          Env: [`PATH=${IMAGE_DIR}`],
          Entrypoint: [IMAGE_SEA],
          Cmd: ['--help'],
          WorkingDir: '/',
          Labels: common,
        },
        layers: [
          { tar: tarOf(base), createdBy: `files of the Debian ${DEBIAN.release} ${debian} packages ${packages}` },
          {
            tar: tarOf(app),
            createdBy: `edge-credential-provider ${version}: ${IMAGE_SEA} (Node.js ${NODE_VERSION} ${node.name}, ${sea.strip ? `stripped by ${sea.strip}` : 'not stripped'}, plugin injected with postject) and ${IMAGE_SCRIPT} (the script build, Node >= 18)`,
          },
        ],
      });
      manifests.push(descriptor);
      images.push({ arch, digest: descriptor.digest, node, debs, debArch: debian, triplet });
      log(`linux/${arch}: ${descriptor.digest}`);
      rmSync(sea.outfile, { force: true });
    }
    const index = layout.index(manifests, common, version);
    const sbom = spdx({ name: IMAGE_NAME, version, created: prov.created, indexDigest: index.digest, revision: prov.revision, source: prov.source, images });
    writeFileSync(join(out, 'sbom.spdx.json'), `${JSON.stringify(sbom, null, 2)}\n`);
    let tarFile;
    if (tar) {
      tarFile = join(out, `${IMAGE_NAME}.oci.tar`);
      writeFileSync(tarFile, tarOfDir(layout.dir));
    }
    return { out, layout: layout.dir, tag: version, index, manifests, sbom: join(out, 'sbom.spdx.json'), tar: tarFile, ...prov };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** The layout directory as one reproducible tar (an oci-archive). */
function tarOfDir(dir) {
  const files = [];
  const walk = (rel) => {
    for (const e of readdirSync(join(dir, rel), { withFileTypes: true })) {
      const path = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(path);
      else files.push(path);
    }
  };
  walk('');
  return tarOf(entriesFrom(dir, files).map((e) => ({ ...e, mode: 0o644 })));
}

function parseArgs(argv) {
  const opts = {};
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split(/=(.*)/s, 2);
    const value = () => inline ?? argv[++i];
    if (flag === '--out') opts.out = value();
    else if (flag === '--arch') opts.arches = value().split(',');
    else if (flag === '--tar') opts.tar = true;
    else if (flag === '--help' || flag === '-h') {
      console.log('Usage: node installer/build.mjs [--out DIR] [--arch amd64,arm64] [--tar]');
      process.exit(0);
    } else throw new Error(`unknown flag ${argv[i]} (see --help)`);
  }
  return opts;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    const r = await buildInstaller({ ...parseArgs(process.argv.slice(2)), log: (line) => console.log(`build-installer: ${line}`) });
    console.log(`build-installer: index ${r.index.digest} (created ${r.created}, revision ${r.revision})`);
    console.log(`build-installer: layout ${r.layout} tag ${r.tag}; sbom ${r.sbom}${r.tar ? `; archive ${r.tar}` : ''}`);
    console.log(
      `push: skopeo copy --all oci:${relative(process.cwd(), r.layout) || '.'}:${r.tag} docker://registry.example.com/platform/${IMAGE_NAME}:${r.tag}`,
    );
  } catch (err) {
    console.error(`build-installer: ${err instanceof Error ? err.message : err}`);
    process.exit(1);
  }
}
