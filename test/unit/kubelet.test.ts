import { describe, expect, it } from 'vitest';
import { cacheSeconds, goDuration } from '../../src/kubelet';

describe('goDuration', () => {
  it.each([
    [0, '0s'],
    [30, '30s'],
    [60, '1m0s'],
    [3300, '55m0s'],
    [3600, '1h0m0s'],
    [43170, '11h59m30s'],
  ])('formats %i s as %s, like Go time.Duration', (s, expected) => {
    expect(goDuration(s)).toBe(expected);
  });
});

describe('cacheSeconds', () => {
  it.each([
    [60, 30],
    [600, 540],
    [3600, 3300],
    [43200, 42900],
  ])('keeps a %i s credential cached %i s, expiring before the credential', (ttl, expected) => {
    expect(cacheSeconds(ttl)).toBe(expected);
    expect(cacheSeconds(ttl)).toBeLessThan(ttl);
  });
});
