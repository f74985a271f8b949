// What the bench sections share: the bench Worker (floor) with the loopback Cloudsmith its
// upstream row federates with, the edge (AUDIT_LOG off unless asked), issuer fixtures, and
// cleanup. Everything started here is stopped by close().
import { startEdge } from '../../test/support/edge.mjs';
import { generateKeyRing } from '../../scripts/lib/keys.mjs';
import {
  federatedTrustRecord,
  IMAGE,
  inlineKeys,
  makeIssuer,
  putTrustRecord,
  saToken,
  startBenchCloudsmith,
  trustEdge,
  trustRecord,
  UPSTREAM_IMAGE,
} from './fixtures.mjs';
import { wranglerProcesses, wranglerProcessesByPort } from './proc.mjs';
import { startWorker } from './wrangler.mjs';

/** The last lines of a wrangler dev's output, indented, without the per-request lines. */
function tail(output, lines = 12) {
  return output
    .split('\n')
    .filter((l) => l.trim() && !/\[wrangler:info\] (GET|POST|PUT) /.test(l))
    .slice(-lines)
    .map((l) => `    | ${l}`)
    .join('\n');
}

/** True for the error runLoad throws when a Worker's workerd went away during a run. */
export const isRestart = (err) => err instanceof Error && /is gone after the run/.test(err.message);

export class BenchContext {
  /** @param {{ runs: number, quick: boolean, log: (line: string) => void }} opts */
  constructor(opts) {
    this.runs = opts.runs;
    this.quick = opts.quick;
    this.log = opts.log;
    this.results = {};
    this.stops = [];
    this.cache = new Map();
  }

  once(key, make) {
    if (!this.cache.has(key)) this.cache.set(key, make());
    return this.cache.get(key);
  }

  /** Seconds for one load run: shorter with --quick. */
  seconds(full) {
    return this.quick ? Math.max(1, Math.round(full / 3)) : full;
  }

  /**
   * The bench Worker, set up with a fresh issuer and key ring, and a second issuer whose record
   * federates with a loopback Cloudsmith (app/credentials/upstream-cached). Its EDGE_ISSUER is
   * its own URL, where it serves the edge's discovery document and JWKS for that Cloudsmith.
   * `vendor.setups` holds the vendor calls made during each /setup (normally one setup, one call).
   */
  floorWorker() {
    return this.once('floor', async () => {
      const cloudsmith = await startBenchCloudsmith();
      this.stops.push(cloudsmith.stop);
      const w = await startWorker({ config: 'bench/floor.wrangler.toml', vars: { EDGE_SIGNING_KEYS: JSON.stringify(generateKeyRing()) } });
      this.stops.push(w.stop);
      const iss = await makeIssuer();
      const upstreamIss = await makeIssuer();
      const upstreamRecord = federatedTrustRecord(upstreamIss, inlineKeys(upstreamIss), cloudsmith.url);
      trustEdge(cloudsmith, w.url, upstreamRecord.name);
      const setup = {
        tokens: { RS256: await saToken(iss, { alg: 'RS256' }), ES256: await saToken(iss, { alg: 'ES256' }) },
        jwks: iss.jwks,
        record: trustRecord(iss, inlineKeys(iss)),
        image: IMAGE,
        edgeIssuer: w.url,
        upstream: { token: await saToken(upstreamIss, { alg: 'RS256' }), record: upstreamRecord, image: UPSTREAM_IMAGE },
      };
      const vendor = { fake: cloudsmith, setups: [], error: undefined };
      const reset = async () => {
        const before = cloudsmith.state.calls;
        const res = await fetch(`${w.url}/setup`, { method: 'POST', body: JSON.stringify(setup) });
        if (!res.ok) throw new Error(`bench worker setup failed: ${res.status} ${await res.text()}\n${w.logs()}`);
        const info = await res.json();
        vendor.setups.push({ calls: cloudsmith.state.calls - before });
        vendor.error = info.upstreamError;
        return info;
      };
      const info = await reset();
      const target = {
        ...w,
        iss,
        setup,
        ops: info.ops,
        tokenEndpoint: info.tokenEndpoint,
        vendor,
        pids: wranglerProcesses(w.pid),
        /** After workerd was restarted under us: find the new process, set up again. */
        refresh: async () => {
          this.log(`  (the bench Worker's workerd was restarted; wrangler said:\n${tail(w.logs())})`);
          Object.assign(target.pids, wranglerProcesses(w.pid));
          await reset();
        },
      };
      return target;
    });
  }

  /**
   * An edge under wrangler dev with one inline-key trust record for a fresh issuer.
   * @param {{ audit?: boolean }} [o] audit: AUDIT_LOG on (default off: the bench measures the exchange)
   */
  edge({ audit = false } = {}) {
    return this.once(`edge:${audit}`, async () => {
      const edge = await startEdge({ vars: { AUDIT_LOG: audit ? 'on' : 'off' } });
      this.stops.push(edge.stop);
      const iss = await makeIssuer();
      await putTrustRecord(edge, 'bench', trustRecord(iss, inlineKeys(iss)));
      const target = {
        ...edge,
        iss,
        pids: wranglerProcessesByPort(edge.port),
        audit,
        /** After workerd was restarted under us: find the new process (KV and its records persist). */
        refresh: async () => {
          this.log(`  (the edge's workerd was restarted; wrangler said:\n${tail(edge.logs())})`);
          Object.assign(target.pids, wranglerProcessesByPort(edge.port));
        },
      };
      return target;
    });
  }

  async close() {
    for (const stop of this.stops.reverse()) await stop().catch(() => {});
    this.stops = [];
  }
}
