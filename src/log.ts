/**
 * Structured JSON log lines: audit lines (decisions, admin changes) and errors. Each carries
 * OpenTelemetry's log data model names (docs/observability.md "Logs"): `severity_text` (the
 * level), `body` (the message), `event` (EventName); every other field is an attribute.
 * AUDIT_LOG=off silences audit lines only (benchmarks); errors are always written.
 * Never pass a token, password or key here; refer to a token by `tokenFingerprint` (sha256 prefix).
 */

import { hex } from './bytes';

export type LogFields = Record<string, string | number | boolean | null | undefined | string[]>;

// One setting per isolate (the Worker's bindings do not change while it lives), set by
// loadConfig: so that store/ and identity/ can log without carrying the config around.
let enabled = true;

export function configureLog(on: boolean): void {
  enabled = on;
}

/** Whether audit lines are written: work that only feeds them (fingerprints) can be skipped. */
export function logEnabled(): boolean {
  return enabled;
}

/**
 * Events that are problems rather than audit, and the console method that writes them (Workers
 * Logs files a line under its method's level; severity_text is the same word in capitals).
 */
const PROBLEMS: Record<string, 'warn' | 'error'> = { error: 'error', internal_error: 'error', kv_corrupt: 'warn' };

/**
 * One line. Audit events (decisions, admin changes) are INFO and silenced by AUDIT_LOG=off;
 * `error`, `internal_error` (ERROR) and `kv_corrupt` (WARN) are always written.
 */
export function logEvent(event: string, fields: LogFields): void {
  const problem = PROBLEMS[event];
  if (!problem && !enabled) return;
  // The body (message) is what happened in a few words that the fields repeat: "exchange denied ERR_POLICY_DENIED".
  console[problem ?? 'log'](
    JSON.stringify({
      severity_text: (problem ?? 'info').toUpperCase(),
      body: [event, fields.outcome ?? fields.action, fields.code].filter(Boolean).join(' '),
      event,
      ...fields,
    }),
  );
}

/** First 16 hex digits of sha256(token): enough to correlate, useless to replay. */
export async function tokenFingerprint(token: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(token)));
  return hex(digest.subarray(0, 8));
}
