import { describe, expect, it } from 'vitest';
import { formatGoDuration, parseGoDuration } from '../../../plugin/src/duration';

describe('parseGoDuration', () => {
  it.each([
    ['0', 0],
    ['0s', 0],
    ['-0', 0],
    ['300ms', 300],
    ['10s', 10_000],
    ['1.5s', 1_500],
    ['.5s', 500],
    ['1.s', 1_000],
    ['55m0s', 3_300_000],
    ['1h30m', 5_400_000],
    ['1h0m0s', 3_600_000],
    ['+2m', 120_000],
    ['-1.5s', -1_500],
    ['1500us', 1.5],
    ['1500µs', 1.5], // U+00B5 micro sign
    ['1500μs', 1.5], // U+03BC Greek mu
    ['2000000ns', 2],
    ['1s500ms', 1_500],
    ['2562047h', 2_562_047 * 3_600_000],
  ])('reads %s as %s ms, as Go time.ParseDuration does', (text, ms) => {
    expect(parseGoDuration(text)).toBe(ms);
  });

  it.each([
    ['the empty string', ''],
    ['a bare sign', '-'],
    ['a number without a unit', '10'],
    ['a unit without a number', 's'],
    ['a lone decimal point', '.s'],
    ['an unknown unit', '10d'],
    ['an upper-case unit', '10S'],
    ['a space between components', '1h 30m'],
    ['leading whitespace', ' 10s'],
    ['a sign inside', '1h-30m'],
    ['two signs', '--1s'],
    ["a value past Go's 2^63-1 ns", '2562048h'],
  ])('rejects %s', (_what, text) => {
    expect(parseGoDuration(text)).toBeUndefined();
  });
});

describe('formatGoDuration', () => {
  it.each([
    [0, '0s'],
    [300, '300ms'],
    [999, '999ms'],
    [1_000, '1s'],
    [1_500, '1.5s'],
    [60_000, '1m0s'],
    [90_250, '1m30.25s'],
    [300_000, '5m0s'],
    [3_300_000, '55m0s'],
    [3_600_000, '1h0m0s'],
    [5_400_000, '1h30m0s'],
    [-1_500, '-1.5s'],
  ])('writes %d ms as %s, as Go Duration.String does', (ms, text) => {
    expect(formatGoDuration(ms)).toBe(text);
  });

  it.each([0, 1, 999, 1_000, 61_001, 3_599_999, 86_400_000, -42])('writes %d ms as a string that parses back to it', (ms) => {
    expect(parseGoDuration(formatGoDuration(ms))).toBe(ms);
  });

  it('refuses fractional milliseconds, which no caller needs', () => {
    expect(() => formatGoDuration(1.5)).toThrow(RangeError);
  });
});
