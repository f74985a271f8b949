/**
 * Go `time.Duration` strings, as the kubelet reads them (`metav1.Duration` uses
 * `time.ParseDuration`): "55m0s", "1h30m", "300ms", "0". Used for the edge's
 * `cacheDuration`, for our own timeout flags and for `defaultCacheDuration` in generated
 * configs, so one grammar covers every duration an operator or the kubelet sees.
 */

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3, // U+00B5 micro sign
  μs: 1e-3, // U+03BC Greek mu
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

// One component: digits with an optional fraction (at least one digit overall), then a unit.
const COMPONENT = /(\d*)(?:\.(\d*))?([a-zµμ]+)/y;

/** Largest value Go accepts: 2^63-1 ns, about 292 years. */
const MAX_MS = 9_223_372_036_854.775;

/**
 * Parses a Go duration into milliseconds (possibly fractional, possibly negative), or
 * returns undefined when Go's `time.ParseDuration` would reject the string.
 */
export function parseGoDuration(text: string): number | undefined {
  let s = text;
  let sign = 1;
  if (s.startsWith('-') || s.startsWith('+')) {
    if (s[0] === '-') sign = -1;
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') return undefined;
  let total = 0;
  COMPONENT.lastIndex = 0;
  while (COMPONENT.lastIndex < s.length) {
    const at = COMPONENT.lastIndex;
    const m = COMPONENT.exec(s);
    if (!m || m.index !== at) return undefined;
    const [, whole = '', frac, unit = ''] = m;
    if (whole === '' && (frac === undefined || frac === '')) return undefined;
    const factor = UNIT_MS[unit];
    if (factor === undefined) return undefined;
    total += Number(`${whole || '0'}.${frac ?? ''}0`) * factor;
  }
  if (total > MAX_MS) return undefined;
  return sign * total;
}

/**
 * Formats whole milliseconds the way Go's `Duration.String()` does: "5m0s", "1h0m0s",
 * "1.5s", "300ms", "0s". Sub-millisecond precision is not needed by any caller.
 */
export function formatGoDuration(ms: number): string {
  if (!Number.isInteger(ms)) throw new RangeError('formatGoDuration takes whole milliseconds');
  if (ms === 0) return '0s';
  const sign = ms < 0 ? '-' : '';
  let rest = Math.abs(ms);
  if (rest < 1000) return `${sign}${rest}ms`;
  const h = Math.floor(rest / 3_600_000);
  rest -= h * 3_600_000;
  const m = Math.floor(rest / 60_000);
  rest -= m * 60_000;
  const secs = (rest / 1000).toString(); // "0", "5", "1.5", "0.25"
  if (h > 0) return `${sign}${h}h${m}m${secs}s`;
  if (m > 0) return `${sign}${m}m${secs}s`;
  return `${sign}${secs}s`;
}
