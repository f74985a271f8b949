#!/usr/bin/env node
// The Worker's deployed bundle size: src/index.ts bundled by esbuild as `wrangler deploy --minify`
// bundles it (ESM, esbuild's browser platform with the workerd/worker/browser conditions, minified,
// names kept, NODE_ENV=production, cloudflare:* and node:* external), then the total in KB, gzipped,
// and what takes the bytes, from esbuild's metafile. Every byte is parsed at cold start.
// Cross-check: `npx wrangler deploy --dry-run --minify --outdir <dir>` prints the same "Total Upload".
//
//   node bench/bundle-size.mjs [--top N] [--json]
//
// Exits 0 after printing; 1 if the build fails.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const topAt = args.indexOf('--top');
const top = (topAt >= 0 && Number(args[topAt + 1])) || 15;
const asJson = args.includes('--json');

let result;
try {
  result = await build({
    absWorkingDir: root,
    entryPoints: ['src/index.ts'],
    bundle: true,
    write: false,
    outfile: 'index.js',
    format: 'esm',
    platform: 'browser', // wrangler's default (WRANGLER_BUILD_PLATFORM unset)
    conditions: ['workerd', 'worker', 'browser'],
    target: 'es2022',
    minify: true,
    keepNames: true, // wrangler's default (keep_names): errors' `constructor.name` survives minification
    define: { 'process.env.NODE_ENV': '"production"' },
    external: ['cloudflare:*', 'node:*'],
    metafile: true,
    logLevel: 'error',
  });
} catch {
  process.exit(1);
}

const [output] = result.outputFiles;
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
  const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
  console.log(`src/index.ts bundle: ${kb(bytes)} minified, ${kb(gzip)} gzip`);
  console.log('\nby package:');
  for (const g of packages) console.log(`  ${kb(g.bytes).padStart(9)}  ${g.name}`);
  console.log(`\nlargest inputs (top ${top}):`);
  for (const f of largest) console.log(`  ${kb(f.bytes).padStart(9)}  ${f.path}`);
}
