// (1) The floor inside workerd, and the cost of each step of the edge's own code.
//
// Each operation runs n times in a loop inside the isolate (GET /run?op&n). Three clocks
// are read for every run:
//   cpu      CPU time of the workerd process that runs the Worker, over the request
//            (/proc/<pid>/task/*/schedstat, ns resolution): the figure reported
//   inside   performance.now() around the loop (1 ms resolution; the loop lasts 100s of ms)
//   outside  wall time of the request seen from Node, minus that of an n=0 request
// On a quiet machine all three agree. Wall clocks (inside, outside) also count the time the
// thread waits for a core, so they read high while other processes compete for the CPU;
// CPU time does not, which is why it is the figure used. In production workerd, timers only
// advance across I/O; should the local runtime freeze the clock, `inside` reads 0 and is dropped.
import { loadavg } from 'node:os';
import { alive, threadCpuSeconds } from '../lib/proc.mjs';
import { median } from '../lib/stats.mjs';

export const FLOOR_OPS = [
  'floor/webcrypto/RS256', 'floor/webcrypto/ES256', 'floor/jose/RS256', 'floor/jose/ES256',
  'floor/webcrypto/token', 'floor/jose/token',
  'crypto/verify/RS256', 'crypto/verify/ES256', 'crypto/sign/ES256',
];

async function call(w, op, n, retry = true) {
  const t = process.hrtime.bigint();
  const res = await fetch(`${w.url}/run?op=${encodeURIComponent(op)}&n=${n}`);
  const body = await res.json();
  const wallMs = Number(process.hrtime.bigint() - t) / 1e6;
  if (res.status === 409 && retry) {
    // The Worker lost its state: wrangler dev restarted it. Find the new process, set up again.
    await w.refresh();
    return call(w, op, n, false);
  }
  if (!res.ok) throw new Error(`op ${op}: ${res.status} ${JSON.stringify(body)}`);
  return { ...body, wallMs };
}

/** Median wall time of an empty request: what `outside` subtracts. */
async function emptyRequestMs(w) {
  const walls = [];
  for (let i = 0; i < 15; i++) walls.push((await call(w, 'crypto/randomUUID', 0)).wallMs);
  return median(walls);
}

/**
 * Runs `op` `runs` times with n sized for ~targetMs per run.
 * @returns {Promise<{ op, n, runs, insideUs, outsideUs, cpuUs, frozen }>}
 */
export async function measureOp(w, op, { targetMs, runs, baseMs }) {
  let n = 16;
  for (let probe = 0; probe < 12; probe++) {
    const r = await call(w, op, n);
    const ms = Math.max(r.ms, r.wallMs - baseMs); // wall: an upper bound of the loop's CPU
    if (ms >= targetMs / 4 || n >= 2_000_000) {
      n = Math.max(1, Math.min(2_000_000, Math.round((n * targetMs) / Math.max(ms, 0.5))));
      break;
    }
    n *= 8;
  }
  const inside = [];
  const outside = [];
  const cpu = [];
  let frozen = false;
  let restarts = 0;
  for (let i = 0; i < runs; i++) {
    const pid = w.pids.user;
    const c0 = threadCpuSeconds(pid);
    const r = await call(w, op, n);
    if (!alive(pid) || pid !== w.pids.user) {
      // Restarted during the run: its CPU time is lost with the old process. Run again.
      if (++restarts > 3) throw new Error(`the bench Worker keeps restarting during ${op}`);
      if (pid === w.pids.user) await w.refresh();
      i--;
      continue;
    }
    const c1 = threadCpuSeconds(pid);
    if (r.ms === 0 && r.wallMs - baseMs > 20) frozen = true;
    inside.push((r.ms * 1000) / n);
    outside.push(((r.wallMs - baseMs) * 1000) / n);
    cpu.push(((c1 - c0) * 1e6) / n);
  }
  return { op, n, runs, insideUs: frozen ? NaN : median(inside), outsideUs: median(outside), cpuUs: median(cpu), frozen };
}

/** The figure used: CPU time per iteration. */
export const usOf = (m) => m.cpuUs;

export async function floorSection(ctx) {
  const w = await ctx.floorWorker();
  const baseMs = await emptyRequestMs(w);
  const runs = Math.max(3, ctx.runs + 2);
  const floor = {};
  for (const op of FLOOR_OPS) {
    // Warm the JIT for this op first; the first loop of a new function is not the floor.
    await call(w, op, 200);
    floor[op] = await measureOp(w, op, { targetMs: ctx.quick ? 150 : 400, runs, baseMs });
    const m = floor[op];
    ctx.log(`  ${op.padEnd(24)} cpu ${m.cpuUs.toFixed(1)} µs, inside ${m.insideUs.toFixed(1)} µs, outside ${m.outsideUs.toFixed(1)} µs (n=${m.n} x ${runs})`);
  }
  // The whole app in the isolate, measured like the floor: these make the ratios.
  const steps = {};
  for (const op of w.ops.filter((o) => o.startsWith('app/'))) {
    await call(w, op, 200);
    steps[op] = await measureOp(w, op, { targetMs: ctx.quick ? 150 : 400, runs, baseMs });
    ctx.log(`  ${op.padEnd(24)} cpu ${steps[op].cpuUs.toFixed(1)} µs (n=${steps[op].n} x ${runs})`);
  }
  // A hostile /token (64 scopes of 255-character names against **/**/**/app) beside the
  // plain one: glob matching must stay linear in the name, whatever the client sends.
  const hostile = hostileTokenRatio(steps);
  if (hostile) ctx.log(`  GET /token, 64 hostile scopes / plain: ${hostile.ratio.toFixed(2)}x (${hostile.hostileUs.toFixed(1)} / ${hostile.plainUs.toFixed(1)} µs CPU)`);
  // Each step alone: where the time goes.
  for (const op of w.ops.filter((o) => !FLOOR_OPS.includes(o) && !o.startsWith('app/') && o !== 'crypto/randomUUID')) {
    await call(w, op, 50);
    steps[op] = await measureOp(w, op, { targetMs: ctx.quick ? 60 : 200, runs: 3, baseMs });
  }
  // Sanity: the two wall clocks (inside the isolate, outside from Node) must agree, which
  // shows performance.now() really advanced through the loop. CPU may read above wall time
  // (V8's GC and compiler threads work beside the isolate's thread: real cost, counted) or
  // below it (the thread waited for a core while other processes ran).
  const all = Object.values(floor);
  const apart = all.filter((m) => Math.abs(m.insideUs - m.outsideUs) > 0.1 * m.outsideUs + 0.5);
  const above = all.filter((m) => m.cpuUs > 1.05 * m.outsideUs).length;
  const below = all.filter((m) => m.cpuUs < 0.95 * m.outsideUs).length;
  const clockCheck = (apart.length
    ? `the isolate clock and the outside clock DISAGREE by over 10% on ${apart.map((m) => m.op).join(', ')}: read the outside and CPU columns`
    : 'the isolate clock agrees with the outside clock within 10% on every op, so performance.now() advanced through the loops')
    + `; CPU reads over 5% above wall time on ${above} of ${all.length} ops (V8 background GC/compiler threads) and over 5% below on ${below} (waiting for a core; load average ${loadavg()[0].toFixed(2)})`;
  return { baseMs, runs, floor, steps, tokenEndpoint: w.tokenEndpoint, clockCheck, hostile };
}

/** The hostile /token request's CPU over the plain one's, in the isolate; undefined without /token. */
function hostileTokenRatio(steps) {
  const plain = steps['app/token/GET'];
  const hostile = steps['app/token/GET/64-hostile-scopes'];
  if (!plain || !hostile) return undefined;
  return { plainUs: plain.cpuUs, hostileUs: hostile.cpuUs, ratio: hostile.cpuUs / plain.cpuUs };
}
