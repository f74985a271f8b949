// (5) Cold start of trust: a fresh edge (new isolate, empty KV), one issuer whose keys come
// from a loopback OIDC server, and 500 exchanges for that issuer sent at once, each on its
// own connection. Counts what the issuer's server was asked, and every failure.
import http from 'node:http';
import { startEdge } from '../../test/support/edge.mjs';
import { kubeletRequest, makeIssuer, putTrustRecord, saTokens, startOidcServer, trustRecord } from '../lib/fixtures.mjs';
import { request } from '../lib/http.mjs';
import { median, percentile } from '../lib/stats.mjs';

export const BURST = 500;
/** The issuer answers after this long (a distant or busy API server), so that much of the burst lands while the first fetch is in flight. */
export const ISSUER_DELAY_MS = 250;

async function burstOnce(ctx, mode, run) {
  const iss = await makeIssuer();
  const oidc = await startOidcServer(iss, { delayMs: ISSUER_DELAY_MS });
  const edge = await startEdge({ vars: { AUDIT_LOG: 'off' } });
  try {
    const keys = mode === 'discovery' ? { type: 'discovery' } : { type: 'jwks_uri', uri: oidc.jwksUri };
    await putTrustRecord(edge, 'cold', trustRecord(iss, keys));
    const bodies = (await saTokens(iss, BURST, 'RS256')).map((t) => JSON.stringify(kubeletRequest(t)));
    const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
    const t = process.hrtime.bigint();
    const results = await Promise.all(bodies.map((body) => request(`${edge.url}/v1/credentials`, { body, agent, headers: { 'content-type': 'application/json' } })));
    const wallMs = Number(process.hrtime.bigint() - t) / 1e6;
    agent.destroy();
    const statuses = {};
    for (const r of results) statuses[r.status] = (statuses[r.status] ?? 0) + 1;
    const failed = results.filter((r) => r.status !== 200);
    const row = {
      mode, run, burst: BURST, wallMs,
      ok: results.length - failed.length, failed: failed.length, statuses,
      firstError: failed[0] ? `${failed[0].status} ${failed[0].text.slice(0, 160)}` : undefined,
      p50: percentile(results.map((r) => r.ms), 50), p99: percentile(results.map((r) => r.ms), 99),
      fetches: { ...oidc.counts },
    };
    ctx.log(`  cold ${mode} run ${run}: ${row.ok}/${BURST} ok in ${wallMs.toFixed(0)} ms, JWKS fetched ${row.fetches.jwks}x, discovery ${row.fetches.discovery}x${row.firstError ? `, first failure: ${row.firstError}` : ''}`);
    return row;
  } finally {
    await edge.stop();
    await oidc.stop();
  }
}

export async function coldSection(ctx) {
  const out = {};
  for (const mode of ['jwks_uri', 'discovery']) {
    const runs = [];
    for (let r = 1; r <= ctx.runs; r++) runs.push(await burstOnce(ctx, mode, r));
    out[mode] = {
      runs,
      jwksFetches: runs.map((r) => r.fetches.jwks),
      discoveryFetches: runs.map((r) => r.fetches.discovery),
      failed: runs.reduce((n, r) => n + r.failed, 0),
      wallMs: median(runs.map((r) => r.wallMs)),
      p50: median(runs.map((r) => r.p50)),
      p99: median(runs.map((r) => r.p99)),
    };
  }
  return { burst: BURST, issuerDelayMs: ISSUER_DELAY_MS, modes: out };
}
