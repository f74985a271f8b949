// A load scenario: warm up, then `runs` autocannon runs per concurrency, medians reported.
import { isRestart } from './context.mjs';
import { runLoad } from './load.mjs';
import { median } from './stats.mjs';

/**
 * @param {import('./context.mjs').BenchContext} ctx
 * @param {{ name: string, url: string, method?: string, headers?: Record<string,string>,
 *   bodies?: string[], paths?: string[], target: { pids: object, refresh: () => Promise<void> },
 *   concurrency: number[], seconds: number, expectStatus?: number, runs?: number }} s
 */
export async function loadScenario(ctx, s) {
  const runs = s.runs ?? ctx.runs;
  const base = { url: s.url, method: s.method, headers: s.headers, bodies: s.bodies, paths: s.paths, expectStatus: s.expectStatus };
  const pids = () => ({ user: s.target.pids.user, proxy: s.target.pids.proxy, node: s.target.pids.node });
  const warmUp = (connections) => runLoad({ ...base, pids: pids(), connections, duration: 1 });
  // A run during which wrangler dev restarted the Worker measured nothing: find the new
  // process, warm it up, and run again (once).
  const measure = async (connections, duration) => {
    try {
      return await runLoad({ ...base, pids: pids(), connections, duration });
    } catch (err) {
      if (!isRestart(err)) throw err;
      await s.target.refresh();
      await warmUp(connections);
      return runLoad({ ...base, pids: pids(), connections, duration });
    }
  };
  // Warm-up: JIT, connection setup, isolate caches. Not counted.
  await measure(Math.max(...s.concurrency), 1);
  const out = [];
  for (const c of s.concurrency) {
    const all = [];
    for (let r = 0; r < runs; r++) all.push(await measure(c, s.seconds));
    const m = (f) => median(all.map(f));
    const row = {
      name: s.name,
      connections: c,
      runs,
      seconds: s.seconds,
      requests: all.reduce((n, r) => n + r.completed, 0),
      failed: all.reduce((n, r) => n + r.failed, 0),
      statuses: all.map((r) => r.statuses),
      rps: m((r) => r.rps),
      p50: m((r) => r.p50),
      p99: m((r) => r.p99),
      cpuUs: { user: m((r) => r.cpuPerReqUs.user), proxy: m((r) => r.cpuPerReqUs.proxy), node: m((r) => r.cpuPerReqUs.node) },
      // Each run's edge workerd CPU per request: a difference of two rows is only reported
      // when their runs do not overlap (report.mjs, httpNet).
      cpuUsRuns: all.map((r) => r.cpuPerReqUs.user),
    };
    ctx.log(
      `  ${s.name} c=${c}: ${row.rps.toFixed(0)} req/s, p50 ${row.p50.toFixed(2)} ms, p99 ${row.p99.toFixed(2)} ms, workerd ${row.cpuUs.user.toFixed(0)} µs/req, proxy ${row.cpuUs.proxy.toFixed(0)}, node ${row.cpuUs.node.toFixed(0)}${row.failed ? `, FAILED ${row.failed}` : ''}`,
    );
    out.push(row);
  }
  return out;
}
