#!/usr/bin/env node
// Measures what the installer image's single executable is made of and what could be cut:
// Node's binary as npm ships it, stripped, with the plugin injected; the ICU data inside it;
// the layer under each compression a registry and containerd accept (gzip, zstd) and xz for
// reference; the time to unpack each and to start the executable. Reads the SEAs from a
// built layout (npm run build:installer first) and Node from the installer cache.
//   node installer/measure.mjs [--out DIR]      (DIR as given to build.mjs; default installer/dist)
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync, zstdCompressSync, zstdDecompressSync, constants } from 'node:zlib';
import { DEFAULT_OUT, IMAGE_SEA } from './build.mjs';
import { ensureNode } from './fetch.mjs';

const MiB = (n) => `${(n / 1024 / 1024).toFixed(1)} MiB`;

/** The bytes of `path` in a gzipped tar layer. */
function fileInLayer(gz, path) {
  const tar = gunzipSync(gz);
  for (let at = 0; at + 512 <= tar.length; ) {
    const name = tar
      .subarray(at, at + 100)
      .toString('utf8')
      .replace(/\0.*$/s, '');
    const size = Number.parseInt(
      tar
        .subarray(at + 124, at + 136)
        .toString('ascii')
        .replace(/\0.*$/s, '')
        .trim() || '0',
      8,
    );
    if (name === path) return tar.subarray(at + 512, at + 512 + size);
    if (!name) break;
    at += 512 + Math.ceil(size / 512) * 512;
  }
  throw new Error(`${path} not in the layer`);
}

function seaOf(layout, arch) {
  const blob = (d) => readFileSync(join(layout, 'blobs', 'sha256', d.replace('sha256:', '')));
  const top = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8'));
  const index = JSON.parse(blob(top.manifests[0].digest));
  const manifest = JSON.parse(blob(index.manifests.find((m) => m.platform.architecture === arch).digest));
  return fileInLayer(blob(manifest.layers.at(-1).digest), IMAGE_SEA.slice(1));
}

const timed = (fn) => {
  const t0 = performance.now();
  const value = fn();
  return { value, ms: performance.now() - t0 };
};

function medianStart(file, args, runs = 15) {
  spawnSync(file, args);
  const times = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    spawnSync(file, args, { stdio: 'ignore' });
    times.push(performance.now() - t0);
  }
  return times.sort((a, b) => a - b)[Math.floor(runs / 2)];
}

function icuBytes(bin) {
  const out = spawnSync('nm', ['-S', bin], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 }).stdout ?? '';
  const line = out.split('\n').find((l) => / icudt\d+_dat$/.test(l));
  return line ? Number.parseInt(line.split(/\s+/)[1], 16) : undefined;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const out = process.argv.includes('--out') ? process.argv[process.argv.indexOf('--out') + 1] : DEFAULT_OUT;
  const layout = join(out, 'oci');
  const work = mkdtempSync(join(tmpdir(), 'ecp-measure-'));
  try {
    console.log('| | amd64 | arm64 |\n|---|---|---|');
    const rows = { npm: [], icu: [], stripped: [], sea: [] };
    const seas = {};
    for (const arch of ['amd64', 'arm64']) {
      const node = ensureNode(arch);
      rows.npm.push(statSync(node.bin).size);
      rows.icu.push(icuBytes(node.bin));
      const stripped = join(work, `stripped-${arch}`);
      execFileSync('cp', [node.bin, stripped]);
      execFileSync(arch === 'amd64' ? 'strip' : 'llvm-strip', [stripped]);
      rows.stripped.push(statSync(stripped).size);
      seas[arch] = seaOf(layout, arch);
      rows.sea.push(seas[arch].length);
    }
    const row = (label, values) => console.log(`| ${label} | ${values.map((v) => (v === undefined ? 'n/a' : `${v} (${MiB(v)})`)).join(' | ')} |`);
    row("Node's binary as npm ships it", rows.npm);
    row('of which ICU data (icudt*_dat)', rows.icu);
    row('stripped', rows.stripped);
    row('SEA (stripped + the plugin blob)', rows.sea);

    const sea = seas.amd64;
    console.log('\n| amd64 SEA compressed as | bytes | compress | decompress |\n|---|---|---|---|');
    const report = (label, size, c, d) => console.log(`| ${label} | ${size} (${MiB(size)}) | ${c.toFixed(0)} ms | ${d.toFixed(0)} ms |`);
    for (const level of [6, 9]) {
      const c = timed(() => gzipSync(sea, { level }));
      const d = timed(() => gunzipSync(c.value));
      report(`gzip -${level} (tar+gzip, every runtime)`, c.value.length, c.ms, d.ms);
    }
    for (const level of [3, 19]) {
      const c = timed(() => zstdCompressSync(sea, { params: { [constants.ZSTD_c_compressionLevel]: level } }));
      const d = timed(() => zstdDecompressSync(c.value));
      report(`zstd -${level} (tar+zstd, containerd >= 1.5)`, c.value.length, c.ms, d.ms);
    }
    const raw = join(work, 'sea');
    writeFileSync(raw, sea);
    const xc = timed(() => execFileSync('xz', ['-6', '-T1', '-k', '-f', raw]));
    const xzSize = statSync(`${raw}.xz`).size;
    const xd = timed(() => execFileSync('xz', ['-d', '-c', `${raw}.xz`], { maxBuffer: 512 * 1024 * 1024 }));
    report('xz -6 (reference: no OCI layer type)', xzSize, xc.ms, xd.ms);

    const bin = join(work, 'sea-amd64');
    writeFileSync(bin, sea, { mode: 0o755 });
    const script = fileURLToPath(new URL('../plugin/dist/edge-credential-provider', import.meta.url));
    console.log('\n| start (`--version`, median of 15) | ms |\n|---|---|');
    console.log(`| SEA, amd64 | ${medianStart(bin, ['--version']).toFixed(0)} |`);
    console.log(`| script build on Node ${process.version} | ${medianStart(process.execPath, [script, '--version']).toFixed(0)} |`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
