// The Worker's build: esbuild with the options wrangler itself uses for a modules Worker
// (wrangler 4.164, bundleWorker and COMMON_ESBUILD_OPTIONS, with our minify and no keep-names
// wrappers), plus code splitting. What a pull needs is the main module and the chunks it
// imports statically: the start-up set, which workerd compiles and evaluates on every fresh
// isolate. What only the admin API, key sync and a check of an unsealed value need (zod among
// it) is imported dynamically, so it sits in chunks of its own that an isolate loads on the
// first request that needs them (and workerd does not compile before: bench/FINDINGS.md, 11).
//
// Used by `npm run build` (scripts/build-worker.mjs, which wrangler runs before `dev` and
// `deploy`: wrangler.toml [build]), the size test and the bench.
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

export const BUILD_OPTIONS = Object.freeze({
  bundle: true,
  format: 'esm',
  splitting: true,
  entryNames: '[name]',
  chunkNames: 'chunks/[name]-[hash]',
  // .mjs: ES modules by wrangler's default module rules, so wrangler.toml needs no rule of its
  // own (one for **/*.js would also apply to the test pool's imports of node_modules).
  outExtension: { '.js': '.mjs' },
  // workerd's V8 runs ES2024 and these newer forms natively; esbuild must not lower them.
  target: 'es2024',
  supported: { 'import-source': true, using: true },
  loader: { '.js': 'jsx', '.mjs': 'jsx', '.cjs': 'jsx' },
  // Package exports chosen for workerd first: jose, hono and zod resolve to their browser/worker builds.
  conditions: ['workerd', 'worker', 'browser'],
  minify: true,
  // No `__name(fn, "...")` wrapper per function and class (esbuild's keepNames, on by default in
  // wrangler), run at every cold start. Nothing reads a function's name: errors are told apart
  // by their stable `code`, and no stack trace is ever sent.
  keepNames: false,
  // `cloudflare:*` imports (the admin writer's `cloudflare:workers`) are the runtime's.
  external: ['__STATIC_CONTENT_MANIFEST', 'cloudflare:*'],
  define: {
    // With the global_navigator compatibility flag (on at our compatibility date), wrangler
    // inlines the user agent, and esbuild drops the branches it decides.
    'navigator.userAgent': '"Cloudflare-Workers"',
    'process.env.NODE_ENV': '"production"',
    'global.process.env.NODE_ENV': '"production"',
    'globalThis.process.env.NODE_ENV': '"production"',
  },
  logLevel: 'silent',
});

/** Groups an input path: the npm package, or `src` / `bench` for our own code. */
function group(path) {
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
  if (m) return m[1];
  return path.split('/')[0];
}

const sum = (files) => files.reduce((n, f) => n + f.bytes, 0);

/**
 * Builds `entry` (relative to `cwd`) in memory.
 * @returns {Promise<{
 *   files: Array<{ path: string, text: string, bytes: number, startup: boolean }>,
 *   startup: { bytes: number, gzipBytes: number, byGroup: Array<[string, number]> },
 *   total: { bytes: number },
 * }>} files: `index.mjs` first, then the chunks (paths relative to the output directory); startup: the main
 *   module and every chunk it imports statically, with bytes per package (esbuild's metafile)
 */
export async function buildWorker(entry = 'src/index.ts', { cwd = process.cwd(), minify = true } = {}) {
  const outdir = join(cwd, '.worker-build');
  const result = await build({ ...BUILD_OPTIONS, minify, entryPoints: { index: entry }, absWorkingDir: cwd, outdir, write: false, metafile: true });
  const outputs = result.metafile.outputs;
  const key = (absolute) => relative(cwd, absolute);
  const main = Object.keys(outputs).find((p) => outputs[p].entryPoint);
  // The start-up set: the main module and what it imports statically, transitively.
  const startup = new Set();
  for (const queue = [main]; queue.length; ) {
    const p = queue.shift();
    if (startup.has(p)) continue;
    startup.add(p);
    for (const i of outputs[p].imports) if (i.kind === 'import-statement' && outputs[i.path]) queue.push(i.path);
  }
  const files = result.outputFiles
    .filter((f) => f.path.endsWith('.mjs'))
    .map((f) => ({ path: relative(outdir, f.path), text: f.text, bytes: f.contents.byteLength, startup: startup.has(key(f.path)) }))
    .sort((a, b) => (a.path === 'index.mjs' ? -1 : b.path === 'index.mjs' ? 1 : a.path.localeCompare(b.path)));
  const byGroup = new Map();
  for (const p of startup)
    for (const [input, { bytesInOutput }] of Object.entries(outputs[p].inputs)) byGroup.set(group(input), (byGroup.get(group(input)) ?? 0) + bytesInOutput);
  const startupFiles = files.filter((f) => f.startup);
  return {
    files,
    startup: {
      bytes: sum(startupFiles),
      gzipBytes: startupFiles.reduce((n, f) => n + gzipSync(f.text).byteLength, 0),
      byGroup: [...byGroup.entries()].sort((a, b) => b[1] - a[1]),
    },
    total: { bytes: sum(files) },
  };
}

/**
 * Writes a build's files under `outdir`, each changed file atomically (a temporary file, then a
 * rename), and removes the .mjs files the build no longer has. Builds of the same sources give
 * the same bytes, so several `wrangler dev` starting at once (the test suites) rewrite nothing.
 */
export function writeWorker(outdir, files) {
  const wanted = new Set(files.map((f) => f.path));
  for (const f of files) {
    const target = join(outdir, f.path);
    let current;
    try {
      current = readFileSync(target, 'utf8');
    } catch {
      current = undefined;
    }
    if (current === f.text) continue;
    mkdirSync(dirname(target), { recursive: true });
    const temporary = `${target}.${process.pid}.${createHash('sha256').update(f.text).digest('hex').slice(0, 8)}.tmp`;
    writeFileSync(temporary, f.text);
    renameSync(temporary, target);
  }
  const stale = (dir) =>
    readdirSync(join(outdir, dir), { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? stale(join(dir, e.name)) : e.name.endsWith('.mjs') && !wanted.has(join(dir, e.name)) ? [join(dir, e.name)] : [],
    );
  for (const path of stale('.')) rmSync(join(outdir, path), { force: true });
}
