/**
 * Structured JSON log lines: one per decision, for audit. Never pass a token, password
 * or key here; refer to a token by `tokenFingerprint` (sha256 prefix) when needed.
 */
import type { Env } from './env';

export type LogFields = Record<string, string | number | boolean | null | undefined | string[]>;

/** Whether logEvent writes anything: work that only feeds the log (fingerprints) can be skipped. */
export function auditEnabled(env: Pick<Env, 'AUDIT_LOG'>): boolean {
  return env.AUDIT_LOG !== 'off';
}

export function logEvent(env: Pick<Env, 'AUDIT_LOG'>, event: string, fields: LogFields): void {
  if (!auditEnabled(env)) return;
  console.log(JSON.stringify({ event, ...fields }));
}

/** First 16 hex digits of sha256(token): enough to correlate, useless to replay. */
export async function tokenFingerprint(token: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(token)));
  return [...digest.subarray(0, 8)].map((b) => b.toString(16).padStart(2, '0')).join('');
}
