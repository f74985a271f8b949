// Sustained load: 60 s at concurrency 64 on POST /v1/credentials (2000 distinct tokens),
// sampling every second the RSS of the edge's workerd, of wrangler's proxy workerd and of
// wrangler's Node process, and the edge isolate's JS heap after a forced full GC at the
// start, the middle and the end (inspector: HeapProfiler.collectGarbage, Runtime.getHeapUsage).
// Then the same load, same length, on the bench Worker's /noop under the same wrangler dev:
// RSS that grows there too is the local harness, not the edge.
//
// Leak criterion for the edge: its retained heap grows by less than 10% (and 2 MiB) from
// start to end. RSS is reported with its trend; it is not the criterion, since workerd's
// and wrangler's own buffers (request logging, inspector) live in it too.
import { isRestart } from '../lib/context.mjs';
import { inlineKeys, kubeletRequest, makeIssuer, putTrustRecord, saTokens, trustRecord } from '../lib/fixtures.mjs';
import { runLoad } from '../lib/load.mjs';
import { alive, rssBytes } from '../lib/proc.mjs';
import { openInspector, retainedHeap } from '../lib/profile.mjs';

export const SOAK_SECONDS = 60;
export const SOAK_CONNECTIONS = 64;
/** Distinct tokens (pods): a leak keyed by token or pod would show. */
const TOKEN_POOL = 2000;
const MiB = 2 ** 20;

function slopePerMinute(samples) {
  const n = samples.length;
  if (n < 2) return 0;
  const mx = samples.reduce((s, p) => s + p.t, 0) / n;
  const my = samples.reduce((s, p) => s + p.rss, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of samples) {
    num += (p.t - mx) * (p.rss - my);
    den += (p.t - mx) ** 2;
  }
  return den ? (num / den) * 60 : 0;
}

function summary(list) {
  const start = list[0].rss;
  const end = list[list.length - 1].rss;
  const peak = Math.max(...list.map((p) => p.rss));
  return { start, end, peak, slopePerMin: slopePerMinute(list) };
}

/** One sustained run against `target` ({ url, port, pids }), with RSS samples and, if `heap`, heap checkpoints. */
async function sustain(_ctx, { target, path, bodies, seconds, heap }) {
  const base = { url: `${target.url}${path}`, method: 'POST', headers: { 'content-type': 'application/json' }, bodies, pids: { user: target.pids.user } };
  await runLoad({ ...base, connections: SOAK_CONNECTIONS, duration: 5 });
  const insp = heap ? await openInspector(target.port) : undefined;
  const heaps = [];
  try {
    if (insp) heaps.push({ t: 0, ...(await retainedHeap(insp, target.url)) });
    const samples = { user: [], proxy: [], node: [] };
    const t0 = Date.now();
    const sample = () => {
      const t = (Date.now() - t0) / 1000;
      if (!alive(target.pids.user)) return; // the run's end check says why
      try {
        const user = rssBytes(target.pids.user);
        const proxy = target.pids.proxy ? rssBytes(target.pids.proxy) : undefined;
        const node = target.pids.node.reduce((s, p) => s + rssBytes(p), 0);
        samples.user.push({ t, rss: user });
        if (proxy !== undefined) samples.proxy.push({ t, rss: proxy });
        samples.node.push({ t, rss: node });
      } catch {
        /* a process went away between the check and the read */
      }
    };
    sample();
    const timer = setInterval(sample, 1000);
    const loads = [];
    try {
      // Two halves, with a heap checkpoint between them.
      for (const half of [1, 2]) {
        loads.push(await runLoad({ ...base, connections: SOAK_CONNECTIONS, duration: seconds / 2 }));
        if (insp && half === 1) heaps.push({ t: (Date.now() - t0) / 1000, ...(await retainedHeap(insp, target.url)) });
      }
    } finally {
      clearInterval(timer);
    }
    sample();
    if (insp) heaps.push({ t: (Date.now() - t0) / 1000, ...(await retainedHeap(insp, target.url)) });
    const statuses = {};
    for (const l of loads) for (const [k, v] of Object.entries(l.statuses)) statuses[k] = (statuses[k] ?? 0) + v;
    return {
      requests: loads.reduce((n, l) => n + l.completed, 0),
      failed: loads.reduce((n, l) => n + l.failed, 0),
      errors: loads.reduce((n, l) => n + l.errors, 0),
      timeouts: loads.reduce((n, l) => n + l.timeouts, 0),
      statuses,
      rps: loads.reduce((n, l) => n + l.rps, 0) / loads.length,
      p50: Math.max(...loads.map((l) => l.p50)),
      p99: Math.max(...loads.map((l) => l.p99)),
      rss: Object.fromEntries(
        Object.entries(samples)
          .filter(([, v]) => v.length)
          .map(([k, v]) => [k, summary(v)]),
      ),
      samples: samples.user.map((p) => [Number(p.t.toFixed(1)), p.rss]),
      heaps,
    };
  } finally {
    insp?.close();
  }
}

/** A sustained run during which wrangler dev restarted the Worker is run again, once. */
async function retryOnRestart(target, run) {
  try {
    return await run();
  } catch (err) {
    if (!isRestart(err)) throw err;
    await target.refresh();
    return run();
  }
}

export async function soakSection(ctx) {
  const seconds = ctx.quick ? 20 : SOAK_SECONDS;
  const edge = await ctx.edge();
  const iss = await makeIssuer();
  await putTrustRecord(edge, 'soak', trustRecord(iss, inlineKeys(iss)));
  const bodies = (await saTokens(iss, TOKEN_POOL, 'RS256')).map((t) => JSON.stringify(kubeletRequest(t)));
  const e = await retryOnRestart(edge, () => sustain(ctx, { target: edge, path: '/v1/credentials', bodies, seconds, heap: true }));
  const h0 = e.heaps[0].used;
  const h1 = e.heaps[e.heaps.length - 1].used;
  const leak = h1 - h0 > Math.max(2 * MiB, 0.1 * h0);
  ctx.log(
    `  soak edge ${seconds}s c=${SOAK_CONNECTIONS}: ${e.requests} requests (${e.failed} failed ${JSON.stringify(e.statuses)}), ` +
      `retained heap ${e.heaps.map((h) => (h.used / MiB).toFixed(1)).join(' -> ')} MiB, workerd RSS ${(e.rss.user.start / MiB).toFixed(0)} -> ${(e.rss.user.end / MiB).toFixed(0)} MiB`,
  );

  const w = await ctx.floorWorker();
  const wBodies = (await saTokens(w.iss, 64, 'RS256')).map((t) => JSON.stringify(kubeletRequest(t)));
  const n = await retryOnRestart(w, () =>
    sustain(ctx, { target: { ...w, port: Number(new URL(w.url).port) }, path: '/noop', bodies: wBodies, seconds, heap: false }),
  );
  ctx.log(
    `  soak harness /noop ${seconds}s: ${n.requests} requests (${n.failed} failed), workerd RSS ${(n.rss.user.start / MiB).toFixed(0)} -> ${(n.rss.user.end / MiB).toFixed(0)} MiB`,
  );
  return { seconds, connections: SOAK_CONNECTIONS, tokenPool: TOKEN_POOL, edge: e, harness: n, leak };
}
