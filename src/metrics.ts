/**
 * Metrics: one Workers Analytics Engine data point per decision of /v1/credentials and
 * /token and per vendor call (layout and SQL: docs/observability.md). The METRICS binding is
 * optional: without it nothing is written. Every blob is a bounded set: trust-record and rule
 * names, stable error codes, vendor types, registries of verified workloads; never a token,
 * a pod name or a uid. A write never fails a request (writeDataPoint throws past its limits).
 */
import type { Env } from './env';
import { EdgeError } from './errors';

/** blob1..blob8: kind, outcome, code, record, rule, upstream type, registry, cache (hit or miss); undefined is written as ''. */
export type Blobs = (string | undefined)[];

/** blob2 and blob3 of a success. */
export const OK: [string, string] = ['ok', 'OK'];

/** blob2 and blob3 of a failure: `denied` (4xx) or `error` (5xx, or a bug: ERR_INTERNAL) and the stable code. */
export const failed = (err: unknown): [string, string] =>
  err instanceof EdgeError ? [err.status < 500 ? 'denied' : 'error', err.code] : ['error', 'ERR_INTERNAL'];

/** index1 = the record (Analytics Engine samples per index); double1 = latency ms; double2 = JWKS and discovery fetches. */
export function metric(env: Env, blobs: Blobs, ms: number, fetches = 0): void {
  try {
    env.METRICS?.writeDataPoint({ indexes: [blobs[3] ?? ''], blobs: Array.from({ length: 8 }, (_, i) => blobs[i] ?? ''), doubles: [ms, fetches] });
  } catch {}
}
