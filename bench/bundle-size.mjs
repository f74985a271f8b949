#!/usr/bin/env node
// The Worker's deployed bundle size: src/index.ts bundled by esbuild as `wrangler deploy` bundles
// it with our wrangler.toml (bench/lib/bundle.mjs: the same options, byte for byte), then the total
// in KiB, gzipped, and what takes the bytes, from esbuild's metafile. Every byte is parsed at cold start.
// Cross-check: `npx wrangler deploy --dry-run --outdir <dir>` prints the same "Total Upload".
//
//   node bench/bundle-size.mjs [--top N] [--json]
//
// Exits 0 after printing; 1 if the build fails.
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { WRANGLER_BUILD_OPTIONS } from './lib/bundle.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const topAt = args.indexOf('--top');
const top = (topAt >= 0 && Number(args[topAt + 1])) || 15;
const asJson = args.includes('--json');

let result;
try {
  result = await build({ ...WRANGLER_BUILD_OPTIONS, absWorkingDir: root, entryPoints: ['src/index.ts'], outdir: 'out', write: false, metafile: true });
} catch {
  process.exit(1);
}

const output = result.outputFiles.find((f) => f.path.endsWith('.js'));
const bytes = output.contents.byteLength;
const gzip = gzipSync(output.contents, { level: 9 }).byteLength;
const { inputs } = Object.values(result.metafile.outputs)[0];

const files = Object.entries(inputs).map(([path, { bytesInOutput }]) => ({ path, bytes: bytesInOutput }));
/** Bytes per npm package, and our own code (src/) as one line. */
const groups = new Map();
for (const { path, bytes: b } of files) {
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
  const key = m ? m[1] : path.startsWith('src/') ? 'src/ (our code)' : path;
  groups.set(key, (groups.get(key) ?? 0) + b);
}
const packages = [...groups].map(([name, b]) => ({ name, bytes: b })).sort((a, b) => b.bytes - a.bytes);
const largest = files.sort((a, b) => b.bytes - a.bytes).slice(0, top);

if (asJson) {
  console.log(JSON.stringify({ bytes, gzip, packages, inputs: largest }, null, 2));
} else {
  const kb = (n) => `${(n / 1024).toFixed(1)} KiB`;
  console.log(`src/index.ts bundle: ${kb(bytes)} minified, ${kb(gzip)} gzip`);
  console.log('\nby package:');
  for (const g of packages) console.log(`  ${kb(g.bytes).padStart(9)}  ${g.name}`);
  console.log(`\nlargest inputs (top ${top}):`);
  for (const f of largest) console.log(`  ${kb(f.bytes).padStart(9)}  ${f.path}`);
}
