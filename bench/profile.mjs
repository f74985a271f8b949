#!/usr/bin/env node
// `npm run bench:profile -- [op] [iterations]`: a V8 CPU profile, taken inside workerd through
// the inspector, of one bench Worker op (default app/credentials/RS256: the whole
// POST /v1/credentials in the isolate), summed by module and by function. `node --cpu-prof`
// cannot see into workerd; this can. Ops: GET /ops of bench/floor-worker.ts, or see
// bench/README.md. Percentages are of the profiled time; the profiler itself slows the loop.
import { BenchContext } from './lib/context.mjs';
import { profileDuring } from './lib/profile.mjs';

const op = process.argv[2] ?? 'app/credentials/RS256';
const n = Number(process.argv[3] ?? 20_000);
const top = 40;
const ctx = new BenchContext({ runs: 1, quick: false, log: (l) => process.stderr.write(`${l}\n`) });
try {
  const w = await ctx.floorWorker();
  if (!w.ops.includes(op)) throw new Error(`unknown op ${op}; ops: ${w.ops.join(', ')}`);
  const port = Number(new URL(w.url).port);
  await fetch(`${w.url}/run?op=${encodeURIComponent(op)}&n=${Math.ceil(n / 10)}`); // warm the JIT
  let result;
  const prof = await profileDuring(
    port,
    async () => {
      result = await (await fetch(`${w.url}/run?op=${encodeURIComponent(op)}&n=${n}`)).json();
    },
    { samplingIntervalUs: 50 },
  );
  const pct = (v) => `${((100 * v) / prof.totalMs).toFixed(1).padStart(5)}%`;
  console.log(`${op}: ${n} iterations, ${((result.ms * 1000) / n).toFixed(1)} µs each while profiled; profile ${prof.totalMs.toFixed(0)} ms`);
  console.log('\nby module');
  for (const [k, v] of prof.byModule.slice(0, 20)) console.log(`${pct(v)}  ${k}`);
  console.log('\nby function (self time)');
  for (const [k, v] of prof.byFunction.slice(0, top)) console.log(`${pct(v)}  ${k}`);
  console.log("\nthe edge's own functions, inclusive (itself and what it called)");
  for (const [k, v] of prof.ownInclusive.slice(0, top)) console.log(`${pct(v)}  ${k}`);
} finally {
  await ctx.close();
}
