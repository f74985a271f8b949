// Starts a bench Worker (bench/floor.wrangler.toml) under `wrangler dev --local` exactly the
// way the edge is started (test/support/edge.mjs: same wrangler, same workerd, same flags), so
// that the floor and the edge are measured in the same runtime.
import { startWrangler } from '../../test/support/edge.mjs';

/**
 * @param {{ config: string, vars?: Record<string,string>, timeoutMs?: number }} opts
 * @returns {Promise<{ url: string, pid: number, logs: () => string, stop: () => Promise<void> }>}
 */
export function startWorker(opts) {
  return startWrangler({ config: opts.config, label: `wrangler dev (${opts.config})`, timeoutMs: opts.timeoutMs, vars: () => opts.vars ?? {} });
}
