/**
 * The log line format (src/log.ts, docs/observability.md "Logs"): OpenTelemetry's names for
 * the level (severity_text) and the message (body) beside the event and its fields, the console
 * method that sets Workers Logs' level, and AUDIT_LOG silencing audit lines but never errors.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { configureLog, logEvent } from '../../src/log';

function capture() {
  const lines: Record<string, Array<Record<string, unknown>>> = { log: [], warn: [], error: [] };
  for (const method of ['log', 'warn', 'error'] as const)
    vi.spyOn(console, method).mockImplementation((line: string) => {
      lines[method]!.push(JSON.parse(line));
    });
  return lines;
}

afterEach(() => {
  vi.restoreAllMocks();
  configureLog(false); // as the test pool's AUDIT_LOG=off leaves it
});

describe('log lines', () => {
  it('writes an audit line at INFO with a body saying what happened, then the event and its fields', () => {
    configureLog(true);
    const lines = capture();
    logEvent('exchange', { outcome: 'denied', code: 'ERR_POLICY_DENIED', record: 'prod', token: '0123456789abcdef' });
    expect(lines.log).toEqual([
      {
        severity_text: 'INFO',
        body: 'exchange denied ERR_POLICY_DENIED',
        event: 'exchange',
        outcome: 'denied',
        code: 'ERR_POLICY_DENIED',
        record: 'prod',
        token: '0123456789abcdef',
      },
    ]);
  });

  it.each([
    ['admin', { action: 'replace', record: 'prod' }, 'admin replace'],
    ['registry_token', { outcome: 'issued' }, 'registry_token issued'],
    ['kv_corrupt', { key: 'trust/v1' }, 'kv_corrupt'],
  ])('gives a %s line the body "%s"', (event, fields, body) => {
    configureLog(true);
    const lines = capture();
    logEvent(event, fields);
    expect([...lines.log!, ...lines.warn!].map((l) => l.body)).toEqual([body]);
  });

  it.each([
    ['error', 'error', 'ERROR'],
    ['internal_error', 'error', 'ERROR'],
    ['kv_corrupt', 'warn', 'WARN'],
  ])('writes %s through console.%s at %s even with AUDIT_LOG=off', (event, method, severity) => {
    configureLog(false);
    const lines = capture();
    logEvent(event, { code: 'ERR_STORE_UNAVAILABLE' });
    expect(lines[method]).toEqual([expect.objectContaining({ severity_text: severity, event })]);
    expect(lines.log).toEqual([]);
  });

  it('silences audit lines with AUDIT_LOG=off', () => {
    configureLog(false);
    const lines = capture();
    logEvent('exchange', { outcome: 'granted' });
    logEvent('admin', { action: 'delete' });
    expect(lines).toEqual({ log: [], warn: [], error: [] });
  });
});
