// (1) The floor inside workerd, the whole app in the isolate against the minimal Worker, and
// the cost of each step of the edge's own code.
//
// Each operation runs n times in a loop inside the isolate (GET /run?op&n). Three clocks
// are read for every run:
//   cpu      CPU time of the workerd process that runs the Worker, over the request
//            (/proc/<pid>/task/*/schedstat, ns resolution), minus that of an empty request:
//            the figure reported
//   inside   performance.now() around the loop (1 ms resolution; the loop lasts 100s of ms)
//   outside  wall time of the request seen from Node, minus that of an empty request
// On a quiet machine all three agree. Wall clocks (inside, outside) also count the time the
// thread waits for a core, so they read high while other processes compete for the CPU;
// CPU time does not, which is why it is the figure used. In production workerd, timers only
// advance across I/O; should the local runtime freeze the clock, `inside` reads 0 and is dropped.
//
// Stability (bench/README.md, "Repeatable"): every op runs a fixed number of iterations
// (ITERATIONS), after an untimed warm-up run; the runs of a group are interleaved in rounds
// (one run of every op, then the next round in reverse order, ...), so that a busy moment of
// the machine lands on all of them alike, and each ratio the targets use is taken round by
// round between neighbours. Rows report the median with the range; a run more than
// OUTLIER_FRACTION from its median is named, not hidden.
import { loadavg } from 'node:os';
import { alive, threadCpuSeconds } from '../lib/proc.mjs';
import { median, minMax } from '../lib/stats.mjs';

export const FLOOR_OPS = [
  'floor/webcrypto/RS256',
  'floor/webcrypto/ES256',
  'floor/jose/RS256',
  'floor/jose/ES256',
  'floor/webcrypto/token',
  'floor/jose/token',
  'crypto/verify/RS256',
  'crypto/verify/ES256',
  'crypto/sign/ES256',
];

/**
 * The CPU targets (bench/README.md): each endpoint in the isolate against the minimal Worker's
 * handler for the same Request (bench/minimal.ts). Listed in the order they run, each next
 * to its minimal Worker, so the two see the same machine.
 */
export const TARGET_PAIRS = [
  { label: 'POST /v1/credentials RS256', op: 'app/credentials/RS256', minimal: 'app/minimal/RS256' },
  { label: 'POST /v1/credentials ES256', op: 'app/credentials/ES256', minimal: 'app/minimal/ES256' },
  { label: 'GET /token', op: 'app/token/GET', minimal: 'app/minimal/token/GET' },
  { label: 'POST /token', op: 'app/token/POST', minimal: 'app/minimal/token/POST' },
];
/** Target: the edge's code adds at most 15% to what the minimal Worker spends. */
export const MINIMAL_MAX_RATIO = 1.15;

/**
 * Rows judged against another edge row rather than the minimal Worker: each runs right after
 * its `base` in every round, and the ratio is taken round by round, as for TARGET_PAIRS.
 * The upstream row: a rule that federates with Cloudsmith, the vendor's credential already in
 * the isolate's cache (src/upstream/cache.ts). It skips minting but adds the cache key (a
 * SHA-256 of the identity), so it should cost about what a plain exchange costs.
 */
export const UPSTREAM_OP = 'app/credentials/upstream-cached';
export const NEIGHBOUR_TARGETS = [
  { label: 'POST /v1/credentials via Cloudsmith upstream, cached', op: UPSTREAM_OP, base: 'app/credentials/RS256', maxRatio: 1.2 },
];

/** A run further than this from its op's median is flagged in the report (fraction of the median). */
export const OUTLIER_FRACTION = 0.1;

/**
 * Iterations per run, fixed. A count sized from a timed probe collapses when the machine
 * is busy at that moment (46 iterations instead of 1,534 in one report) and the whole
 * row then rests on a few ms of loop. These give runs of ~150-250 ms for the main rows and
 * ~30-100 ms for the steps on a quiet machine (FINDINGS.md's figures; 2-3 times that on a
 * busy machine). Half these over more rounds was no steadier in a trial: a run should span
 * several of the isolate's garbage collections, whose timing varies from run to run.
 * The empty request's CPU is subtracted, so short runs are not biased by it. --quick runs a quarter.
 */
const ITERATIONS = {
  'floor/webcrypto/RS256': 8000,
  'floor/webcrypto/ES256': 4000,
  'floor/jose/RS256': 4000,
  'floor/jose/ES256': 3000,
  'floor/webcrypto/token': 4000,
  'floor/jose/token': 3000,
  'crypto/verify/RS256': 15000,
  'crypto/verify/ES256': 6000,
  'crypto/sign/ES256': 15000,
  'crypto/sha256/token': 20000,
  'app/minimal/RS256': 2000,
  'app/minimal/ES256': 2000,
  'app/minimal/token/GET': 2000,
  'app/minimal/token/POST': 2000,
  'app/credentials/RS256': 2000,
  'app/credentials/ES256': 2000,
  'app/token/GET': 2000,
  'app/token/POST': 2000,
  'app/credentials/upstream-cached': 2000,
  'app/token/GET/64-hostile-scopes': 600,
  'step/new-request': 20000,
  'step/read-body': 5000,
  'step/req-json': 5000,
  'step/json-parse': 200000,
  'step/parse-request': 100000,
  'step/fingerprint': 20000,
  'step/parse-image': 200000,
  'step/peek-issuer': 40000,
  'step/record-cached': 1000000,
  'step/record-parse': 10000,
  'step/record-compile': 30000,
  'step/jwks-local-new': 30000,
  'step/importJWK/RSA': 15000,
  'step/importJWK/EC': 10000,
  'step/verify-sa/RS256': 4000,
  'step/verify-sa/ES256': 2000,
  'step/jose-verify/RS256': 4000,
  'step/evaluate': 100000,
  'step/decide/RS256': 3000,
  'step/decide/ES256': 2000,
  'step/key-ring-cached': 1000000,
  'step/mint': 5000,
  'step/jose-sign': 4000,
  'step/response-json': 10000,
  'step/hono-noop': 5000,
};
/** For an op added to the bench Worker without a count above: a count that is safe for any op so far. */
const DEFAULT_ITERATIONS = 2000;

function iterationsOf(op, quick) {
  const n = ITERATIONS[op] ?? DEFAULT_ITERATIONS;
  return quick ? Math.max(50, Math.round(n / 4)) : n;
}

/** The untimed warm-up run of an op in measureGroup: half a run. */
const warmUpOf = (op, quick) => Math.max(50, Math.round(iterationsOf(op, quick) / 2));

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

/** One timed call, with the workerd process's CPU time around it (ms). */
async function timedCall(w, op, n) {
  const pid = w.pids.user;
  const c0 = threadCpuSeconds(pid);
  const r = await call(w, op, n);
  if (!alive(pid) || pid !== w.pids.user) return { restarted: true, pid };
  return { ...r, cpuMs: (threadCpuSeconds(pid) - c0) * 1e3 };
}

/** Median wall time and CPU time of an empty request: what `outside` and `cpu` subtract. */
async function emptyRequest(w) {
  const walls = [];
  const cpus = [];
  for (let i = 0; i < 15; i++) {
    const r = await timedCall(w, 'crypto/randomUUID', 0);
    if (r.restarted) {
      await w.refresh();
      i--;
      continue;
    }
    walls.push(r.wallMs);
    cpus.push(r.cpuMs);
  }
  return { baseMs: median(walls), baseCpuMs: median(cpus) };
}

/** One run of `op`: per-iteration figures in µs. A run during which workerd restarted is repeated (3 times at most). */
async function runOnce(w, op, n, base) {
  for (let attempt = 0; attempt < 4; attempt++) {
    const r = await timedCall(w, op, n);
    if (r.restarted) {
      // Its CPU time is lost with the old process.
      if (r.pid === w.pids.user) await w.refresh();
      continue;
    }
    return {
      cpuUs: ((r.cpuMs - base.baseCpuMs) * 1000) / n,
      insideUs: (r.ms * 1000) / n,
      outsideUs: ((r.wallMs - base.baseMs) * 1000) / n,
      frozen: r.ms === 0 && r.wallMs - base.baseMs > 20,
    };
  }
  throw new Error(`the bench Worker keeps restarting during ${op}`);
}

/** Median, range and flagged runs of one op's per-run CPU figures. */
export function summarizeRuns(op, n, runs) {
  const cpuRuns = runs.map((r) => r.cpuUs);
  const cpuUs = median(cpuRuns);
  const [cpuMin, cpuMax] = minMax(cpuRuns);
  const outliers = cpuRuns.map((x, i) => ({ run: i + 1, off: x / cpuUs - 1 })).filter((o) => Math.abs(o.off) > OUTLIER_FRACTION);
  const frozen = runs.some((r) => r.frozen);
  return {
    op,
    n,
    runs: runs.length,
    cpuUs,
    cpuMin,
    cpuMax,
    cpuRuns,
    outliers,
    insideUs: frozen ? NaN : median(runs.map((r) => r.insideUs)),
    outsideUs: median(runs.map((r) => r.outsideUs)),
    frozen,
  };
}

/**
 * Measures `ops` together: an untimed warm-up run of each (the first loop of a new function
 * is not the figure), then `runs` rounds of one run per op. Odd rounds go in reverse order
 * (A B C, C B A, ...), so that a machine getting busier or quieter does not favour the op
 * that comes first in a pair.
 */
async function measureGroup(ctx, w, ops, { runs, base }) {
  const results = Object.fromEntries(ops.map((op) => [op, []]));
  for (const op of ops) await call(w, op, warmUpOf(op, ctx.quick));
  for (let r = 0; r < runs; r++) {
    for (const op of r % 2 ? [...ops].reverse() : ops) results[op].push(await runOnce(w, op, iterationsOf(op, ctx.quick), base));
  }
  return Object.fromEntries(ops.map((op) => [op, summarizeRuns(op, iterationsOf(op, ctx.quick), results[op])]));
}

/** The per-run ratio of two ops measured in the same rounds: median and range. */
export function pairedRatio(a, b) {
  const ratios = a.cpuRuns.map((x, i) => x / b.cpuRuns[i]).filter(Number.isFinite);
  const [min, max] = minMax(ratios);
  return { ratio: median(ratios), min, max, runs: ratios };
}

/** Per round of an interleaved pair: 60 blocks of 20 calls, 1,200 calls of each op. */
const PAIR_BLOCKS = 60;
export const PAIR_BLOCK_SIZE = 20;

/**
 * The target figure: the edge's op and its minimal Worker's in alternating blocks of
 * PAIR_BLOCK_SIZE calls inside one request (GET /pair of bench/floor-worker.ts), so that
 * whatever the machine does lands on both within milliseconds. Separate runs of 2,000 calls
 * each moved by up to 2x between rounds on this machine, and their ratios with them (0.7x to
 * 2.4x in one report); the interleaved ratio stayed within a few percent round to round.
 * Wall time inside the isolate (1 ms clock, rounding averaged over the blocks), one ratio per
 * round, median and range over `runs` rounds.
 */
async function interleavedRatio(w, minimal, op, runs, quick) {
  const blocks = quick ? 10 : PAIR_BLOCKS;
  const url = (b) => `${w.url}/pair?a=${encodeURIComponent(minimal)}&b=${encodeURIComponent(op)}&blocks=${b}&size=${PAIR_BLOCK_SIZE}`;
  const once = async (b) => {
    const res = await fetch(url(b));
    const body = await res.json();
    if (!res.ok) throw new Error(`pair ${minimal} / ${op}: ${res.status} ${JSON.stringify(body)}`);
    return body;
  };
  await once(2); // warm
  const rounds = [];
  for (let r = 0; r < runs; r++) {
    const j = await once(blocks);
    rounds.push({ ratio: j.bMs / j.aMs, opUs: (j.bMs * 1000) / j.n, minimalUs: (j.aMs * 1000) / j.n });
  }
  const ratios = rounds.map((x) => x.ratio);
  const [min, max] = minMax(ratios);
  return {
    ratio: median(ratios),
    min,
    max,
    runs: ratios,
    opUs: median(rounds.map((x) => x.opUs)),
    minimalUs: median(rounds.map((x) => x.minimalUs)),
    calls: blocks * PAIR_BLOCK_SIZE,
  };
}

const flagged = (m) => (m.outliers.length ? ` [run ${m.outliers.map((o) => `${o.run} ${o.off > 0 ? '+' : ''}${(o.off * 100).toFixed(0)}%`).join(', ')}]` : '');

export async function floorSection(ctx) {
  const w = await ctx.floorWorker();
  const base = await emptyRequest(w);
  // Rounds of the floor and the app ops (--runs 3 by default: 7 rounds); the steps get 3.
  const runs = Math.max(5, 2 * ctx.runs + 1);
  const floor = await measureGroup(ctx, w, FLOOR_OPS, { runs, base });
  for (const m of Object.values(floor)) {
    ctx.log(
      `  ${m.op.padEnd(24)} cpu ${m.cpuUs.toFixed(1)} µs (${m.cpuMin.toFixed(1)}-${m.cpuMax.toFixed(1)}), inside ${m.insideUs.toFixed(1)} µs, outside ${m.outsideUs.toFixed(1)} µs (n=${m.n} x ${runs})${flagged(m)}`,
    );
  }
  // The whole app in the isolate, each endpoint beside its minimal Worker: these make the targets.
  const appOps = w.ops.filter((o) => o.startsWith('app/'));
  const paired = besideTheirBase(
    TARGET_PAIRS.filter((p) => appOps.includes(p.op) && appOps.includes(p.minimal)).flatMap((p) => [p.minimal, p.op]),
    appOps,
  );
  const vendorBefore = w.vendor && { calls: w.vendor.fake.state.calls, setups: w.vendor.setups.length };
  const steps = await measureGroup(ctx, w, [...paired, ...appOps.filter((o) => !paired.includes(o))], { runs, base });
  for (const m of Object.values(steps))
    ctx.log(`  ${m.op.padEnd(32)} cpu ${m.cpuUs.toFixed(1)} µs (${m.cpuMin.toFixed(1)}-${m.cpuMax.toFixed(1)}; n=${m.n} x ${runs})${flagged(m)}`);
  const targets = [];
  for (const p of TARGET_PAIRS.filter((t) => steps[t.op] && steps[t.minimal])) {
    targets.push({ ...p, separate: pairedRatio(steps[p.op], steps[p.minimal]), ...(await interleavedRatio(w, p.minimal, p.op, runs, ctx.quick)) });
  }
  for (const t of targets)
    ctx.log(
      `  ${t.label}: ${t.ratio.toFixed(2)}x the minimal Worker, interleaved (rounds ${t.min.toFixed(2)}-${t.max.toFixed(2)}x); separate runs ${t.separate.ratio.toFixed(2)}x (${t.separate.min.toFixed(2)}-${t.separate.max.toFixed(2)}x)`,
    );
  // Rows against a neighbouring edge row; the upstream one stands only if the vendor was called once.
  const upstream = w.vendor ? vendorCalls(ctx, w.vendor, vendorBefore, steps[UPSTREAM_OP]) : undefined;
  const neighbours = NEIGHBOUR_TARGETS.filter((t) => steps[t.op] && steps[t.base]).map((t) => ({
    ...t,
    ...pairedRatio(steps[t.op], steps[t.base]),
    ...(t.op === UPSTREAM_OP && upstream?.problem ? { failed: upstream.problem } : {}),
  }));
  for (const t of neighbours)
    ctx.log(
      `  ${t.label}: ${t.ratio.toFixed(2)}x ${t.base} (runs ${t.min.toFixed(2)}-${t.max.toFixed(2)}x)${t.failed ? ' [INVALID: see the FAILED line]' : ''}`,
    );
  if (upstream) {
    if (upstream.problem) ctx.log(`  FAILED ${UPSTREAM_OP}: ${upstream.problem}`);
    else
      ctx.log(
        `  ${UPSTREAM_OP}: ${upstream.calls} vendor call(s) in all (per bench Worker setup: ${upstream.perSetup.join(', ')}), none during the ${upstream.iterations - 1} warm-up and timed requests after the first; Cloudsmith fetched the discovery document ${upstream.discovery}x and the JWKS ${upstream.jwks}x`,
      );
  }
  // A hostile /token (64 scopes of 255-character names against **/**/**/app) beside the
  // plain one: glob matching must stay linear in the name, whatever the client sends.
  const hostile = hostileTokenRatio(steps);
  if (hostile)
    ctx.log(`  GET /token, 64 hostile scopes / plain: ${hostile.ratio.toFixed(2)}x (${hostile.hostileUs.toFixed(1)} / ${hostile.plainUs.toFixed(1)} µs CPU)`);
  // Each step alone: where the time goes. Three rounds are enough for a breakdown.
  const stepOps = w.ops.filter((o) => !FLOOR_OPS.includes(o) && !o.startsWith('app/') && o !== 'crypto/randomUUID');
  Object.assign(steps, await measureGroup(ctx, w, stepOps, { runs: 3, base }));
  // Sanity: the two wall clocks (inside the isolate, outside from Node) must agree, which
  // shows performance.now() really advanced through the loop. CPU may read above wall time
  // (V8's GC and compiler threads work beside the isolate's thread: real cost, counted) or
  // below it (the thread waited for a core while other processes ran).
  const all = Object.values(floor);
  const apart = all.filter((m) => Math.abs(m.insideUs - m.outsideUs) > 0.1 * m.outsideUs + 0.5);
  const above = all.filter((m) => m.cpuUs > 1.05 * m.outsideUs).length;
  const below = all.filter((m) => m.cpuUs < 0.95 * m.outsideUs).length;
  const clockCheck =
    (apart.length
      ? `the isolate clock and the outside clock DISAGREE by over 10% on ${apart.map((m) => m.op).join(', ')}: read the outside and CPU columns`
      : 'the isolate clock agrees with the outside clock within 10% on every op, so performance.now() advanced through the loops') +
    `; CPU reads over 5% above wall time on ${above} of ${all.length} ops (V8 background GC/compiler threads) and over 5% below on ${below} (waiting for a core; load average ${loadavg()[0].toFixed(2)})`;
  return { ...base, runs, floor, steps, targets, neighbours, upstream, tokenEndpoint: w.tokenEndpoint, clockCheck, hostile, loadavg: loadavg()[0] };
}

/** `order` with each NEIGHBOUR_TARGETS op that `available` offers placed right after its base. */
export function besideTheirBase(order, available) {
  const out = [...order];
  for (const t of NEIGHBOUR_TARGETS) {
    const at = out.indexOf(t.base);
    if (at === -1 || !available.includes(t.op) || out.includes(t.op)) continue;
    out.splice(at + 1, 0, t.op);
  }
  return out;
}

/**
 * The loopback Cloudsmith's calls around the app rounds. Every request of the upstream row
 * after the first must take the vendor's credential from the isolate: one call in all (made
 * by the untimed first request, in the bench Worker's /setup), none during the warm-up and the
 * timed runs. A bench Worker restarted by wrangler dev is set up again in a new isolate, which
 * may call once more (its cache is empty); that is counted per setup, not as a miss.
 * `problem` says why the row does not stand, if it does not.
 */
function vendorCalls(ctx, vendor, before, m) {
  const perSetup = vendor.setups.map((s) => s.calls);
  const inLaterSetups = perSetup.slice(before.setups).reduce((a, b) => a + b, 0);
  const timed = vendor.fake.state.calls - before.calls - inLaterSetups;
  const iterations = m ? 1 + warmUpOf(UPSTREAM_OP, ctx.quick) + m.n * m.runs : 0;
  let problem;
  if (!m) problem = `could not run: ${vendor.error ?? 'the bench Worker did not offer it'}`;
  else if (timed > 0)
    problem = `the loopback Cloudsmith was called ${timed} time(s) during the ${iterations - 1} warm-up and timed requests, which should all have found its credential in the isolate cache: the figure is not that of a cached exchange`;
  else if (perSetup.some((n) => n > 1)) problem = `vendor calls per bench Worker setup ${perSetup.join(', ')}: more than the one that fills the cache`;
  return {
    calls: vendor.fake.state.calls,
    perSetup,
    timed,
    iterations,
    restarts: perSetup.length - 1,
    problem,
    discovery: vendor.fake.rp.counts.discovery,
    jwks: vendor.fake.rp.counts.jwks,
    accepted: vendor.fake.state.accepted.length,
  };
}

/** The hostile /token request's CPU over the plain one's, run by run, in the isolate; undefined without /token. */
function hostileTokenRatio(steps) {
  const plain = steps['app/token/GET'];
  const hostile = steps['app/token/GET/64-hostile-scopes'];
  if (!plain || !hostile) return undefined;
  return { plainUs: plain.cpuUs, hostileUs: hostile.cpuUs, ...pairedRatio(hostile, plain) };
}
