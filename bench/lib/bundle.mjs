// The Worker bundle as `wrangler deploy` builds it with our wrangler.toml (minified), by esbuild directly: the size
// test (test/integration/bundle/size.test.ts) needs it without spawning wrangler, and the
// bench checks that it still matches wrangler's own build byte for byte.
//
// The options are wrangler 4.164's (wrangler-dist/cli.js, bundleWorker and
// COMMON_ESBUILD_OPTIONS) for a modules-format Worker without nodejs_compat, as `wrangler
// deploy` runs it, with our wrangler.toml's `minify = true` and `keep_names = false`. When wrangler is upgraded, the bench's "same bytes" check says
// whether they changed.
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

/** wrangler's build options for `deploy` with our wrangler.toml (no source map: it is not uploaded by default). */
export const WRANGLER_BUILD_OPTIONS = Object.freeze({
  bundle: true,
  format: 'esm',
  // workerd's V8 runs ES2024 and these newer forms natively; esbuild must not lower them.
  target: 'es2024',
  supported: { 'import-source': true, using: true },
  loader: { '.js': 'jsx', '.mjs': 'jsx', '.cjs': 'jsx' },
  // Package exports chosen for workerd first: jose, hono and zod resolve to their browser/worker builds.
  conditions: ['workerd', 'worker', 'browser'],
  minify: true,
  // wrangler.toml sets `keep_names = false` (wrangler's default is true, which wraps every
  // function and class in a `__name` call run at start-up); both Workers are built without.
  keepNames: false,
  // wrangler's cloudflare-internal plugin leaves `cloudflare:*` imports (the admin writer's
  // `cloudflare:workers`) to the runtime; esbuild's wildcard does the same.
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

/** Groups an input path of the bundle: the npm package, or `src` / `bench` for our own code. */
function group(path) {
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
  if (m) return m[1];
  return path.split('/')[0];
}

/**
 * Bundles `entry` (relative to `cwd`) minified, in memory.
 * @returns {Promise<{ bytes: number, gzipBytes: number, text: string, byGroup: Array<[string, number]> }>}
 *   byGroup: bytes of the minified output per package, largest first (esbuild's metafile)
 */
export async function bundleWorker(entry, { cwd = process.cwd() } = {}) {
  const result = await build({ ...WRANGLER_BUILD_OPTIONS, entryPoints: [entry], absWorkingDir: cwd, outdir: 'out', write: false, metafile: true });
  const js = result.outputFiles.find((f) => f.path.endsWith('.js'));
  if (!js) throw new Error(`esbuild produced no JavaScript for ${entry}`);
  const byGroup = new Map();
  for (const output of Object.values(result.metafile.outputs)) {
    for (const [path, { bytesInOutput }] of Object.entries(output.inputs)) byGroup.set(group(path), (byGroup.get(group(path)) ?? 0) + bytesInOutput);
  }
  return {
    bytes: js.contents.byteLength,
    gzipBytes: gzipSync(js.contents).byteLength,
    text: js.text,
    byGroup: [...byGroup.entries()].sort((a, b) => b[1] - a[1]),
  };
}
