/**
 * Structured JSON log lines, every one of them: audit decisions, admin changes and errors.
 * AUDIT_LOG=off silences them all (benchmarks). Never pass a token, password or key here;
 * refer to a token by `tokenFingerprint` (sha256 prefix) when needed.
 */

import { hex } from './bytes';

export type LogFields = Record<string, string | number | boolean | null | undefined | string[]>;

// One setting per isolate (the Worker's bindings do not change while it lives), set by
// loadConfig: so that store/ and identity/ can log without carrying the config around.
let enabled = true;

export function configureLog(on: boolean): void {
  enabled = on;
}

/** Whether logEvent writes anything: work that only feeds the log (fingerprints) can be skipped. */
export function logEnabled(): boolean {
  return enabled;
}

export function logEvent(event: string, fields: LogFields): void {
  if (!enabled) return;
  console.log(JSON.stringify({ event, ...fields }));
}

/** First 16 hex digits of sha256(token): enough to correlate, useless to replay. */
export async function tokenFingerprint(token: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(token)));
  return hex(digest.subarray(0, 8));
}
