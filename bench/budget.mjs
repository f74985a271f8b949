// Budgets the bench reports against and a test enforces: one place, so the two never disagree.

/**
 * The target for the edge's minified bundle (what `wrangler deploy` uploads as its main module,
 * minified by wrangler.toml), bytes: 150 KiB. Every byte is parsed on each cold start of an
 * isolate, and Workers start isolates often (a new location, a new deploy, an evicted isolate).
 * 575 KiB with zod's classic API; 149 KiB with zod/mini, Hono's RegExpRouter alone, no X.509
 * parser and our own SigV4; 160 KiB with the six vendors of federation 2/2; back under with
 * `keep_names = false` and zod's English messages without their format dictionaries
 * (src/zod.ts); 157 KiB with the security work, and 168 with key sync and metrics besides; back under
 * (149.8 KiB) with zod stand-ins in src/zod.ts, our own JWT decoding and router (bench/FINDINGS.md,
 * 10). A minimal Worker doing the same exchange with jose alone is ~22 KiB.
 */
export const BUNDLE_TARGET_BYTES = 150 * 1024;

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
