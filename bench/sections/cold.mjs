// (5) Cold start of trust: a fresh edge (new isolate, empty KV), one issuer whose keys come
// from a loopback OIDC server, and 500 exchanges for that issuer sent at once, each on its
// own connection. Counts what the issuer's server was asked, and every failure.
// Then the same burst through a vendor: a fresh edge whose record federates with a loopback
// Cloudsmith that answers after VENDOR_DELAY_MS, 500 exchanges of one service account (500
// pods) at once: the edge's single flight (src/upstream/cache.ts) should call Cloudsmith once.
import http from 'node:http';
import { startEdge } from '../../test/support/edge.mjs';
import {
  federatedTrustRecord,
  inlineKeys,
  kubeletRequest,
  makeIssuer,
  putTrustRecord,
  saTokens,
  startBenchCloudsmith,
  startOidcServer,
  trustEdge,
  trustRecord,
  UPSTREAM_IMAGE,
} from '../lib/fixtures.mjs';
import { request } from '../lib/http.mjs';
import { median, percentile } from '../lib/stats.mjs';

export const BURST = 500;
/** The issuer answers after this long (a distant or busy API server), so that much of the burst lands while the first fetch is in flight. */
export const ISSUER_DELAY_MS = 250;
/** Cloudsmith answers after this long (its API is across the internet), so that the burst lands while the first call is in flight. */
export const VENDOR_DELAY_MS = 250;

/** `bodies` POSTed to the edge at once, each on its own connection: every answer (`results`), and a summary (`figures`) with the time until the last. */
async function burst(edge, bodies) {
  const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
  const t = process.hrtime.bigint();
  const results = await Promise.all(
    bodies.map((body) => request(`${edge.url}/v1/credentials`, { body, agent, headers: { 'content-type': 'application/json' } })),
  );
  const wallMs = Number(process.hrtime.bigint() - t) / 1e6;
  agent.destroy();
  const statuses = {};
  for (const r of results) statuses[r.status] = (statuses[r.status] ?? 0) + 1;
  const failed = results.filter((r) => r.status !== 200);
  return {
    results,
    figures: {
      burst: bodies.length,
      wallMs,
      ok: results.length - failed.length,
      failed: failed.length,
      statuses,
      firstError: failed[0] ? `${failed[0].status} ${failed[0].text.slice(0, 160)}` : undefined,
      firstMs: Math.min(...results.map((r) => r.ms)),
      p50: percentile(
        results.map((r) => r.ms),
        50,
      ),
      p99: percentile(
        results.map((r) => r.ms),
        99,
      ),
    },
  };
}

async function burstOnce(ctx, mode, run) {
  const iss = await makeIssuer();
  const oidc = await startOidcServer(iss, { delayMs: ISSUER_DELAY_MS });
  const edge = await startEdge({ vars: { AUDIT_LOG: 'off' } }).catch(async (err) => {
    await oidc.stop();
    throw err;
  });
  try {
    const keys = mode === 'discovery' ? { type: 'discovery' } : { type: 'jwks_uri', uri: oidc.jwksUri };
    await putTrustRecord(edge, 'cold', trustRecord(iss, keys));
    const bodies = (await saTokens(iss, BURST, 'RS256')).map((t) => JSON.stringify(kubeletRequest(t)));
    const { figures } = await burst(edge, bodies);
    const row = { mode, run, ...figures, fetches: { ...oidc.counts } };
    ctx.log(
      `  cold ${mode} run ${run}: ${row.ok}/${BURST} ok in ${row.wallMs.toFixed(0)} ms, JWKS fetched ${row.fetches.jwks}x, discovery ${row.fetches.discovery}x${row.firstError ? `, first failure: ${row.firstError}` : ''}`,
    );
    return row;
  } finally {
    await edge.stop();
    await oidc.stop();
  }
}

/**
 * One cold burst through Cloudsmith: everything fresh (edge, isolate, KV, Cache API, issuer,
 * Cloudsmith), keys inline in the record so that the vendor is the only thing fetched. The
 * tokens are those of 500 pods of team-a/builder: one identity, one cache key.
 */
async function upstreamBurstOnce(ctx, run) {
  const iss = await makeIssuer();
  const cloudsmith = await startBenchCloudsmith({ delayMs: VENDOR_DELAY_MS });
  const edge = await startEdge({ vars: { AUDIT_LOG: 'off' } }).catch(async (err) => {
    await cloudsmith.stop();
    throw err;
  });
  try {
    const record = federatedTrustRecord(iss, inlineKeys(iss), cloudsmith.url, 'cold-cs');
    await putTrustRecord(edge, record.name, record);
    trustEdge(cloudsmith, edge.url, record.name);
    const bodies = (await saTokens(iss, BURST, 'RS256')).map((t) => JSON.stringify(kubeletRequest(t, UPSTREAM_IMAGE)));
    const { results, figures } = await burst(edge, bodies);
    // Every granted answer should carry the one credential Cloudsmith issued.
    const passwords = new Set(results.filter((r) => r.status === 200).map((r) => Object.values(JSON.parse(r.text).auth ?? {})[0]?.password));
    const row = {
      mode: 'cloudsmith',
      run,
      ...figures,
      vendorCalls: cloudsmith.state.calls,
      issued: cloudsmith.state.issued.length,
      credentials: passwords.size,
      edgeFetches: { ...cloudsmith.rp.counts },
    };
    ctx.log(
      `  cold cloudsmith run ${run}: ${row.ok}/${BURST} ok in ${row.wallMs.toFixed(0)} ms (first answer after ${row.firstMs.toFixed(0)} ms, p50 ${row.p50.toFixed(0)}), Cloudsmith called ${row.vendorCalls}x (${row.issued} issued, ${row.credentials} distinct in the answers), ` +
        `it fetched the edge's discovery ${row.edgeFetches.discovery}x and JWKS ${row.edgeFetches.jwks}x${row.firstError ? `, first failure: ${row.firstError} (statuses ${JSON.stringify(row.statuses)})` : ''}`,
    );
    return row;
  } finally {
    await edge.stop();
    await cloudsmith.stop();
  }
}

const summarize = (runs) => ({
  runs,
  failed: runs.reduce((n, r) => n + r.failed, 0),
  wallMs: median(runs.map((r) => r.wallMs)),
  p50: median(runs.map((r) => r.p50)),
  p99: median(runs.map((r) => r.p99)),
});

export async function coldSection(ctx) {
  const out = {};
  for (const mode of ['jwks_uri', 'discovery']) {
    const runs = [];
    for (let r = 1; r <= ctx.runs; r++) runs.push(await burstOnce(ctx, mode, r));
    out[mode] = { ...summarize(runs), jwksFetches: runs.map((r) => r.fetches.jwks), discoveryFetches: runs.map((r) => r.fetches.discovery) };
  }
  const upstreamRuns = [];
  for (let r = 1; r <= ctx.runs; r++) upstreamRuns.push(await upstreamBurstOnce(ctx, r));
  const upstream = { ...summarize(upstreamRuns), vendorCalls: upstreamRuns.map((r) => r.vendorCalls), vendorDelayMs: VENDOR_DELAY_MS };
  return { burst: BURST, issuerDelayMs: ISSUER_DELAY_MS, modes: out, upstream };
}
