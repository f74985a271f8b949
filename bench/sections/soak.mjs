// Sustained load: 60 s at concurrency 64 on POST /v1/credentials, RSS of the edge's workerd
// (and of wrangler's proxy workerd and Node) sampled every second. Leak criterion: the
// trend of the last 30 s (least squares) must stay under 1% of the starting RSS per minute,
// and the end within 10% of the start: a heap that settles is fine, one that climbs is not.
import { inlineKeys, kubeletRequest, makeIssuer, putTrustRecord, saTokens, trustRecord } from '../lib/fixtures.mjs';
import { runLoad } from '../lib/load.mjs';
import { rssBytes } from '../lib/proc.mjs';

export const SOAK_SECONDS = 60;
export const SOAK_CONNECTIONS = 64;
/** Distinct tokens (pods): a leak keyed by token or pod would show. */
const TOKEN_POOL = 2000;

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

export async function soakSection(ctx) {
  const edge = await ctx.edge();
  const iss = await makeIssuer();
  await putTrustRecord(edge, 'soak', trustRecord(iss, inlineKeys(iss)));
  const bodies = (await saTokens(iss, TOKEN_POOL, 'RS256')).map((t) => JSON.stringify(kubeletRequest(t)));
  const base = { url: `${edge.url}/v1/credentials`, method: 'POST', headers: { 'content-type': 'application/json' }, bodies, pids: { user: edge.pids.user } };
  await runLoad({ ...base, connections: SOAK_CONNECTIONS, duration: 5 });

  const seconds = ctx.quick ? 20 : SOAK_SECONDS;
  const samples = { user: [], proxy: [], node: [] };
  const t0 = Date.now();
  const sample = () => {
    const t = (Date.now() - t0) / 1000;
    samples.user.push({ t, rss: rssBytes(edge.pids.user) });
    if (edge.pids.proxy) samples.proxy.push({ t, rss: rssBytes(edge.pids.proxy) });
    samples.node.push({ t, rss: edge.pids.node.reduce((s, p) => s + rssBytes(p), 0) });
  };
  sample();
  const timer = setInterval(sample, 1000);
  let load;
  try {
    load = await runLoad({ ...base, connections: SOAK_CONNECTIONS, duration: seconds });
  } finally {
    clearInterval(timer);
  }
  sample();
  const summary = (list) => {
    const start = list[0].rss;
    const end = list[list.length - 1].rss;
    const peak = Math.max(...list.map((p) => p.rss));
    const tail = list.filter((p) => p.t >= list[list.length - 1].t - 30);
    return { start, end, peak, tailSlopePerMin: slopePerMinute(tail) };
  };
  const user = summary(samples.user);
  const grows = user.tailSlopePerMin > 0.01 * user.start || user.end > 1.1 * user.start;
  ctx.log(`  soak ${seconds}s c=${SOAK_CONNECTIONS}: ${load.completed} requests (${load.failed} failed), workerd RSS ${(user.start / 2 ** 20).toFixed(1)} -> ${(user.end / 2 ** 20).toFixed(1)} MiB, peak ${(user.peak / 2 ** 20).toFixed(1)}, last-30s trend ${(user.tailSlopePerMin / 2 ** 20).toFixed(2)} MiB/min`);
  return {
    seconds, connections: SOAK_CONNECTIONS, tokenPool: TOKEN_POOL,
    requests: load.completed, failed: load.failed, rps: load.rps, p50: load.p50, p99: load.p99,
    rss: { user, proxy: samples.proxy.length ? summary(samples.proxy) : undefined, node: summary(samples.node) },
    samples: samples.user.map((p) => [Number(p.t.toFixed(1)), p.rss]),
    leak: grows,
  };
}
