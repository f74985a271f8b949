// One load run with autocannon against a Worker under wrangler dev, with the CPU time of
// each process of that wrangler dev over the run (from /proc) and exact latencies (taken
// from autocannon's per-response event: its own histogram rounds to whole milliseconds).
import autocannon from 'autocannon';
import { alive, cpuDelta, cpuSnapshot } from './proc.mjs';
import { percentile } from './stats.mjs';

/**
 * @param {{
 *   url: string, method?: string, headers?: Record<string,string>,
 *   bodies?: string[], paths?: string[], connections: number,
 *   duration?: number, amount?: number, pids: Record<string, number|number[]>,
 *   expectStatus?: number,
 * }} o duration in seconds; bodies/paths rotate per request
 */
export async function runLoad(o) {
  const latencies = [];
  const statuses = {};
  let i = 0;
  const rotate = (o.bodies?.length ?? 0) > 1 || (o.paths?.length ?? 0) > 1;
  const request = {
    method: o.method ?? 'GET',
    ...(o.headers ? { headers: o.headers } : {}),
    ...(o.bodies ? { body: o.bodies[0] } : {}),
    ...(o.paths ? { path: o.paths[0] } : {}),
    ...(rotate
      ? {
          setupRequest: (req) => {
            const k = i++;
            if (o.bodies) req.body = o.bodies[k % o.bodies.length];
            if (o.paths) req.path = o.paths[k % o.paths.length];
            return req;
          },
        }
      : {}),
  };
  const before = cpuSnapshot(o.pids);
  const started = process.hrtime.bigint();
  const instance = autocannon({
    url: o.url,
    connections: o.connections,
    pipelining: 1,
    timeout: 30,
    ...(o.amount ? { amount: o.amount } : { duration: o.duration ?? 5 }),
    requests: [request],
  });
  instance.on('response', (_client, status, _bytes, ms) => {
    latencies.push(ms);
    statuses[status] = (statuses[status] ?? 0) + 1;
  });
  const result = await instance;
  const wallS = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = cpuDelta(before, cpuSnapshot(o.pids));
  for (const [name, pid] of Object.entries(o.pids)) {
    for (const p of [pid].flat()) {
      if (p && !alive(p))
        throw new Error(`the ${name} process (pid ${p}) is gone after the run: wrangler dev restarted the Worker? (it does when a bundled source changes)`);
    }
  }
  const expect = String(o.expectStatus ?? 200);
  const ok = statuses[expect] ?? 0;
  const completed = latencies.length;
  const failed = completed - ok + result.errors + result.timeouts;
  const perReqUs = Object.fromEntries(Object.entries(cpu).map(([k, s]) => [k, completed ? (s * 1e6) / completed : NaN]));
  return {
    connections: o.connections,
    completed,
    ok,
    failed,
    statuses,
    errors: result.errors,
    timeouts: result.timeouts,
    wallS,
    rps: completed / wallS,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    cpuS: cpu,
    cpuPerReqUs: perReqUs,
  };
}
