/** How a vendor's answer that the edge cannot use becomes an error (upstream/http.ts vendorFailure). */
import { describe, expect, it } from 'vitest';
import { fetchFailure, UPSTREAM_TIMEOUT_MS, vendorCall, vendorFailure } from '../../../src/upstream/http';

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

  it("keeps the cause, which names the record's settings, for the log: the workload's refusal names the vendor only", () => {
    let err: { message: string; detail?: string } | undefined;
    try {
      vendorFailure('Acme', answer(403), 'check that arn:aws:iam::123456789012:role/secret-role may pull', 'AccessDenied');
    } catch (e) {
      err = e as typeof err;
    }
    expect(err!.message).toContain('Acme');
    expect(err!.message).not.toContain('arn:aws');
    expect(err!.detail).toContain('arn:aws:iam::123456789012:role/secret-role');
  });

  it('tells a redirect apart: no retry mends a wrong endpoint', () => {
    expect(outcome(302).message).toBe("Acme redirected the edge (302); check the rule's endpoint");
  });

  it('counts a 4xx the caller knows to be transient as an outage', () => {
    expect(outcome(400, true).code).toBe('ERR_UPSTREAM_UNAVAILABLE');
  });
});

describe('which failure a vendor call was', () => {
  const TOKEN = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ3b3JrbG9hZCJ9.c2ln';
  const nodeError = (code: string) =>
    Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error(`connect ${code} https://x/?t=${TOKEN}`), { code }) });

  it.each<[string, unknown, string]>([
    ['a timeout (AbortSignal.timeout)', new DOMException('The operation timed out.', 'TimeoutError'), `timeout: no answer within ${UPSTREAM_TIMEOUT_MS} ms`],
    ['a name that does not resolve (Node)', nodeError('ENOTFOUND'), 'name resolution failed'],
    ['a name that does not resolve (workerd)', new Error('DNS lookup failed.'), 'name resolution failed'],
    ['a refused connection (Node)', nodeError('ECONNREFUSED'), 'connection refused'],
    ['a refused connection (workerd)', new Error('Network connection refused.'), 'connection refused'],
    ['a TLS failure (Node)', nodeError('CERT_HAS_EXPIRED'), 'TLS failed'],
    ['a TLS failure (workerd)', new Error("TLS peer's certificate is not trusted; reason = self signed certificate"), 'TLS failed'],
    ['a reset connection', nodeError('ECONNRESET'), 'connection closed'],
    ['anything else', new Error(`odd https://x/?t=${TOKEN}`), 'connection failed'],
  ])('names %s', (_what, err, failure) => {
    expect(fetchFailure(err)).toBe(failure);
  });

  it('says which in the error the edge answers, and never the error text (it may hold the URL)', async () => {
    const err = await vendorCall('Acme', new Request('https://acme.test/token'), async () => Promise.reject(nodeError('ECONNREFUSED'))).catch(
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: 'ERR_UPSTREAM_UNAVAILABLE', status: 503, message: 'Acme is unavailable (connection refused); retry later' });
    expect(JSON.stringify({ message: (err as Error).message, detail: (err as { detail: string }).detail })).not.toContain(TOKEN);
  });

  it('names an answered outage by its HTTP status, not as a network failure', () => {
    expect(outcome(503).message).toBe('Acme is unavailable (answered HTTP 503); retry later');
  });
});
