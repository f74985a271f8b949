// The Worker as `wrangler deploy` uploads it, built in memory by the Worker's own build
// (scripts/lib/worker-build.mjs, which wrangler runs before it uploads dist/worker/): the size
// test (test/integration/bundle/size.test.ts) needs it without spawning wrangler, and the bench
// checks that it matches wrangler's upload file by file. A Worker with no dynamic import (the
// minimal Worker) is one module, as wrangler's own bundling makes it.
import { buildWorker } from '../../scripts/lib/worker-build.mjs';

export { BUILD_OPTIONS } from '../../scripts/lib/worker-build.mjs';

/**
 * Builds `entry` (relative to `cwd`) minified, in memory.
 * @returns {Promise<{ bytes: number, gzipBytes: number, totalBytes: number, text: string,
 *   files: Array<{ path: string, text: string, bytes: number, startup: boolean }>, byGroup: Array<[string, number]> }>}
 *   bytes, gzipBytes, byGroup: the start-up set (the main module and the chunks it imports
 *   statically: what every fresh isolate compiles); totalBytes and text: every module
 */
export async function bundleWorker(entry, { cwd = process.cwd(), minify = true } = {}) {
  const built = await buildWorker(entry, { cwd, minify });
  return {
    bytes: built.startup.bytes,
    gzipBytes: built.startup.gzipBytes,
    totalBytes: built.total.bytes,
    text: built.files.map((f) => f.text).join('\n'),
    files: built.files,
    byGroup: built.startup.byGroup,
  };
}
