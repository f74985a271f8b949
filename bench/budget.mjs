// Budgets the bench reports against and a test enforces: one place, so the two never disagree.

/**
 * The target for the edge's start-up set, bytes: 120 KiB. The set is the main module wrangler
 * uploads and the chunks it imports statically (scripts/lib/worker-build.mjs): what workerd
 * compiles and evaluates on every fresh isolate, and Workers start isolates often (a new
 * location, a new deploy, an evicted isolate). Modules imported dynamically (the admin API, key
 * sync, zod for a value the edge did not seal) load on first use and cost a fresh isolate
 * nothing (measured: bench/FINDINGS.md, 11).
 * History: 575 KiB with zod's classic API; 149 KiB with zod/mini, Hono's RegExpRouter alone, no
 * X.509 parser and our own SigV4; 150 KiB (one module) with zod stand-ins, our own JWT decoding
 * and router (FINDINGS 10); 113 KiB start-up set (162 KiB in all) with sealed KV values, hand
 * checks on the exchange's path and the build split (FINDINGS 11). A minimal Worker doing the
 * same exchange with jose alone is ~22 KiB.
 */
export const BUNDLE_TARGET_BYTES = 120 * 1024;

/**
 * What the size test enforces (test/integration/bundle/size.test.ts), bytes: the target
 * itself, so that `npm test` fails the change that takes the bundle past it, and says which
 * package grew. Reported by `npm run bench` (startup) beside wrangler's own figure.
 */
export const BUNDLE_BUDGET_BYTES = BUNDLE_TARGET_BYTES;

/**
 * Start-up CPU of the edge's module on a fresh isolate, ms: 10. Reported by `npm run bench`
 * (startup), never asserted: CPU time depends on the machine.
 */
export const STARTUP_BUDGET_MS = 10;

/**
 * The first POST /v1/credentials on a fresh isolate, less the local KV simulator's share, at
 * most this many times the minimal Worker's first request on the same harness (issue 24).
 * Reported by `npm run bench` (startup), never asserted.
 */
export const FIRST_REQUEST_RATIO = 2;

/** Workers Free allows 10 ms of CPU per request: the first request, less the KV simulator's share, should fit. Reported, never asserted. */
export const FIRST_REQUEST_MS = 10;
