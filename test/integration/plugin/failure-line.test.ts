/**
 * The plugin's failure line (plugin/src/client.ts, driven in-process with a virtual clock; here
 * rather than in test/unit/plugin because client.ts uses Node's TextDecoder types, not workerd's) says which failure it was: name resolution,
 * a refused connection, a timeout, TLS, or the HTTP status the edge answered; never "did not
 * answer" for an edge that answered, and never the token.
 */
import { describe, expect, it } from 'vitest';
import { describeNetworkError, exchange, type ExchangeDeps, type HttpPost } from '../../../plugin/src/client';
import type { Options } from '../../../plugin/src/options';

const TOKEN = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ0ZXN0In0.c2lnbmF0dXJl';
const opts = {
  endpoint: new URL('https://edge.example.com/v1/credentials'),
  attemptTimeoutMs: 1_000,
  budgetMs: 30_000,
  maxAttempts: 3,
} as Options;

/** A clock that moves only when the client sleeps. */
function deps(post: HttpPost): ExchangeDeps {
  let now = 0;
  return {
    post,
    clock: {
      now: () => now,
      sleep: async (ms) => {
        now += ms;
      },
      random: () => 0.5,
    },
    debug: () => {},
    userAgent: 'test',
  };
}

const networkFailure = (code: string) => Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error(`connect ${code}`), { code }) });
const answer =
  (status: number, body: unknown): HttpPost =>
  async () => ({
    status,
    headers: new Headers({ 'content-type': 'application/json' }),
    body: (async function* () {
      yield new TextEncoder().encode(JSON.stringify(body));
    })(),
  });

async function failureLine(post: HttpPost): Promise<string> {
  try {
    await exchange(JSON.stringify({ serviceAccountToken: TOKEN }), opts, deps(post), 30_000);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('the exchange succeeded');
}

describe("the plugin's failure line", () => {
  it.each<[string, HttpPost, RegExp]>([
    [
      'a name that does not resolve',
      async () => Promise.reject(networkFailure('ENOTFOUND')),
      /failed after 3 attempts in [\d.]+s: name resolution failed: host name not found \(ENOTFOUND\)$/,
    ],
    [
      'a refused connection',
      async () => Promise.reject(networkFailure('ECONNREFUSED')),
      /failed after 3 attempts in [\d.]+s: connection refused \(ECONNREFUSED\)$/,
    ],
    ['a connect timeout', async () => Promise.reject(networkFailure('ETIMEDOUT')), /: timeout: connection timed out \(ETIMEDOUT\)$/],
    [
      'a TLS failure, at once',
      async () => Promise.reject(networkFailure('UNABLE_TO_VERIFY_LEAF_SIGNATURE')),
      /^the edge at https:\/\/edge\.example\.com failed: TLS certificate of the edge not accepted \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\)/,
    ],
    [
      'an edge that answered 503',
      answer(503, { error: 'ERR_STORE_UNAVAILABLE', message: 'the trust store is unavailable' }),
      /failed after 3 attempts in [\d.]+s: HTTP 503 ERR_STORE_UNAVAILABLE: the trust store is unavailable$/,
    ],
    ['an edge that answered 502 without a body it knows', answer(502, 'bad gateway'), /failed after 3 attempts in [\d.]+s: HTTP 502$/],
  ])('names %s', async (_what, post, expected) => {
    const line = await failureLine(post);
    expect(line).toMatch(expected);
    expect(line).not.toContain('did not answer');
    expect(line).not.toContain(TOKEN);
  });

  it.each([
    ['ENOTFOUND', /^name resolution failed/],
    ['EAI_AGAIN', /^name resolution failed/],
    ['ECONNREFUSED', /^connection refused/],
    ['ETIMEDOUT', /^timeout/],
    ['UND_ERR_CONNECT_TIMEOUT', /^timeout/],
    ['CERT_HAS_EXPIRED', /^TLS /],
    ['ERR_TLS_CERT_ALTNAME_INVALID', /^TLS /],
  ])('starts the reason for %s with the kind of failure', (code, kind) => {
    expect(describeNetworkError(networkFailure(code)).reason).toMatch(kind);
  });
});
