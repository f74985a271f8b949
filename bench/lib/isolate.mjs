// A fresh isolate of a built Worker bundle, for the cold-start rows (sections/startup.mjs).
//
// It runs under Miniflare, the copy wrangler itself uses (so the same workerd as `wrangler
// dev` and `wrangler check startup`), one workerd process per isolate. The bundle is not the
// main module: a small wrapper is, and imports the bundle on the first request that needs it,
// as `wrangler check startup` does. The bundle's start-up (compile, evaluate its top level)
// therefore happens inside a request, whose CPU time we read from /proc like every other
// figure of the bench. Workers does the same work when a request reaches a location with no
// isolate for the Worker.
import http from 'node:http';
import { createRequire } from 'node:module';
import { descendants, threadCpuSeconds } from './proc.mjs';

const fromWrangler = createRequire(createRequire(import.meta.url).resolve('wrangler/package.json'));
const { Miniflare, convertV4MiniflareOptions } = fromWrangler('miniflare');

/** Answers once the bundle is imported, without calling it: start-up alone. */
export const LOAD_PATH = '/__bench/load';

const WRAPPER = `
let worker;
export default {
  async fetch(req, env, ctx) {
    worker ??= (await import('./worker.js')).default;
    if (new URL(req.url).pathname === '${LOAD_PATH}') return new Response('loaded');
    return worker.fetch(req, env, ctx);
  },
};`;

/**
 * Starts a fresh isolate running `code` (an ES module bundle).
 * @param {{ code: string, modules?: Array<{ path: string, contents: string }>, compatibilityDate: string, bindings?: Record<string, string>,
 *   kv?: string[], persistDir?: string, inspect?: boolean, adminWriter?: boolean }} o kv: KV binding names, stored under persistDir
 *   (shared by every isolate started with the same directory, like `wrangler dev --persist-to`)
 * @returns {Promise<{ url: string, pid: number, mf: object,
 *   request: (path: string, init?: { method?: string, headers?: object, body?: string }) => Promise<{ status: number, text: string, cpuMs: number }>,
 *   stop: () => Promise<void> }>}
 */
export async function startIsolate(o) {
  const before = new Set(descendants(process.pid).map((p) => p.pid));
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      name: 'bench',
      compatibilityDate: o.compatibilityDate,
      modulesRoot: '/',
      modules: [
        { type: 'ESModule', path: '/bench-wrapper.mjs', contents: o.adminWriter ? `${WRAPPER}\nexport { AdminWriter } from './worker.js';` : WRAPPER },
        { type: 'ESModule', path: '/worker.js', contents: o.code },
        // The modules the bundle imports (a split build's chunks), by their paths relative to it.
        ...(o.modules ?? []).map((m) => ({ type: 'ESModule', path: `/${m.path}`, contents: m.contents })),
      ],
      bindings: o.bindings ?? {},
      kvNamespaces: Object.fromEntries((o.kv ?? []).map((name) => [name, `bench-${name.toLowerCase()}`])),
      // adminWriter: the edge's admin writer Durable Object, for an isolate that writes through the
      // admin API as production does (its wrapper imports the bundle at start-up to export the class).
      ...(o.adminWriter ? { durableObjects: { ADMIN_WRITER: 'AdminWriter' } } : {}),
      ...(o.persistDir ? { resourcePersistencePath: o.persistDir } : {}),
      handleStructuredLogs: () => {},
      // inspect: workerd's inspector on a free port, for a profile of a request (bench/first-profile.mjs).
      ...(o.inspect ? { inspectorPort: 0 } : {}),
    }),
  );
  let url;
  try {
    url = await mf.ready;
  } catch (err) {
    await mf.dispose().catch(() => {});
    throw err;
  }
  const workerds = descendants(process.pid).filter((p) => p.comm === 'workerd' && !before.has(p.pid));
  if (workerds.length !== 1) {
    await mf.dispose();
    throw new Error(`expected one new workerd for the isolate, found ${workerds.length}`);
  }
  const pid = workerds[0].pid;
  // One connection for all requests, as a client in production keeps one.
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const request = (path, init = {}) =>
    new Promise((resolve, reject) => {
      const c0 = threadCpuSeconds(pid);
      const headers = { ...init.headers, ...(init.body !== undefined ? { 'content-length': Buffer.byteLength(init.body) } : {}) };
      const req = http.request(new URL(path, url), { method: init.method ?? 'GET', headers, agent }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode, text, cpuMs: (threadCpuSeconds(pid) - c0) * 1e3 }));
      });
      req.on('error', reject);
      req.end(init.body);
    });
  // workerd names the user Worker's inspector target core:user:<name>.
  const inspectorUrl = o.inspect ? new URL('/core:user:bench', (await mf.getInspectorURL()).href.replace(/^http/, 'ws')).href : undefined;
  return {
    url: url.href.replace(/\/$/, ''),
    pid,
    inspectorUrl,
    mf,
    request,
    stop: async () => {
      agent.destroy();
      await mf.dispose();
    },
  };
}
