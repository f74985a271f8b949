/** How a vendor's answer that the edge cannot use becomes an error (upstream/http.ts vendorFailure). */
import { describe, expect, it } from 'vitest';
import { vendorFailure } from '../../../src/upstream/http';

const answer = (status: number) => ({ status, headers: new Headers({ 'retry-after': '7' }), body: 'secret body' });

function outcome(status: number, transient = false) {
  try {
    vendorFailure('Acme', answer(status), 'check the trust policy', 'Some.Code', transient);
  } catch (err) {
    const e = err as { code: string; status: number; message: string; retryAfter?: number };
    return { code: e.code, status: e.status, message: e.message, retryAfter: e.retryAfter };
  }
  throw new Error('vendorFailure returned');
}

describe('vendorFailure', () => {
  it.each([
    [400, 'ERR_UPSTREAM_DENIED', 403],
    [401, 'ERR_UPSTREAM_DENIED', 403],
    [404, 'ERR_UPSTREAM_DENIED', 403],
    [301, 'ERR_UPSTREAM_DENIED', 403],
    [307, 'ERR_UPSTREAM_DENIED', 403],
    [429, 'ERR_UPSTREAM_UNAVAILABLE', 503],
    [500, 'ERR_UPSTREAM_UNAVAILABLE', 503],
    [503, 'ERR_UPSTREAM_UNAVAILABLE', 503],
    [204, 'ERR_UPSTREAM_UNAVAILABLE', 503],
  ])('answers %i as %s', (status, code, httpStatus) => {
    const o = outcome(status);
    expect([o.code, o.status]).toEqual([code, httpStatus]);
    expect(o.message).toContain('Acme');
    expect(o.message).not.toContain('secret body');
    if (httpStatus === 503) expect(o.retryAfter).toBe(7);
  });

  it('tells a redirect apart: no retry mends a wrong endpoint', () => {
    expect(outcome(302).message).toBe("Acme redirected the edge (302); check the rule's endpoint");
  });

  it('counts a 4xx the caller knows to be transient as an outage', () => {
    expect(outcome(400, true).code).toBe('ERR_UPSTREAM_UNAVAILABLE');
  });
});
