#!/usr/bin/env node
// `npm run build`: the Worker, as wrangler uploads it, into dist/worker/ (scripts/lib/worker-build.mjs).
// wrangler runs this itself before `wrangler dev` and `wrangler deploy` (wrangler.toml [build]).
import { fileURLToPath } from 'node:url';
import { buildWorker, writeWorker } from './lib/worker-build.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const OUT = fileURLToPath(new URL('../dist/worker', import.meta.url));
const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;

const built = await buildWorker('src/index.ts', { cwd: ROOT });
writeWorker(OUT, built.files);
const lazy = built.files.filter((f) => !f.startup).length;
console.log(
  `build-worker: dist/worker: start-up set ${kib(built.startup.bytes)} (${built.files.length - lazy} modules), ${lazy} more loaded on first use; ${kib(built.total.bytes)} in all`,
);
