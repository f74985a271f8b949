#!/usr/bin/env node
// The Worker's size as wrangler uploads it: src/index.ts built by the Worker's build
// (scripts/lib/worker-build.mjs, what `npm run build` writes to dist/worker/), each module with
// its size and whether it is in the start-up set (compiled on every fresh isolate) or loaded on
// first use, then the start-up set by package and its largest inputs, from esbuild's metafile.
// Cross-check: `npx wrangler deploy --dry-run --outdir <dir>` prints the same "Total Upload".
//
//   node bench/bundle-size.mjs [--top N] [--json]
//
// Exits 0 after printing; 1 if the build fails.
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { BUILD_OPTIONS, buildWorker } from '../scripts/lib/worker-build.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const topAt = args.indexOf('--top');
const top = (topAt >= 0 && Number(args[topAt + 1])) || 15;
const asJson = args.includes('--json');

let built;
let inputs;
try {
  built = await buildWorker('src/index.ts', { cwd: root });
  // The inputs of the start-up set's modules, for the largest-inputs list.
  const meta = await build({ ...BUILD_OPTIONS, entryPoints: { index: 'src/index.ts' }, absWorkingDir: root, outdir: 'out', write: false, metafile: true });
  const startup = new Set(built.files.filter((f) => f.startup).map((f) => `out/${f.path}`));
  inputs = Object.entries(meta.metafile.outputs)
    .filter(([path]) => startup.has(path))
    .flatMap(([, o]) => Object.entries(o.inputs).map(([path, { bytesInOutput }]) => ({ path, bytes: bytesInOutput })));
} catch {
  process.exit(1);
}
const largest = inputs.sort((a, b) => b.bytes - a.bytes).slice(0, top);
const modules = built.files.map((f) => ({ path: f.path, bytes: f.bytes, startup: f.startup }));

if (asJson) {
  console.log(JSON.stringify({ startup: built.startup, total: built.total, modules, inputs: largest }, null, 2));
} else {
  const kb = (n) => `${(n / 1024).toFixed(1)} KiB`;
  console.log(
    `src/index.ts: start-up set ${kb(built.startup.bytes)} minified, ${kb(built.startup.gzipBytes)} gzip; ${kb(built.total.bytes)} in all ${modules.length} modules`,
  );
  console.log('\nmodules:');
  for (const m of modules) console.log(`  ${kb(m.bytes).padStart(9)}  ${m.path}${m.startup ? '  (start-up)' : ''}`);
  console.log('\nstart-up set by package:');
  for (const [name, bytes] of built.startup.byGroup) console.log(`  ${kb(bytes).padStart(9)}  ${name}`);
  console.log(`\nlargest inputs of the start-up set (top ${top}):`);
  for (const f of largest) console.log(`  ${kb(f.bytes).padStart(9)}  ${f.path}`);
}
