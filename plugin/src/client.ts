/**
 * One exchange with the edge: POST the kubelet's request, retrying what may pass
 * (connection errors, timeouts, 429, 5xx) with jittered exponential backoff or the edge's
 * Retry-After, all inside one overall deadline; never retrying a refusal (other 4xx) or an
 * answer that breaks the protocol. Redirects are not followed: the request carries a
 * service-account token, which must go to the configured edge and nowhere else.
 */
import { readBounded } from './bytes';
import { deniedError, networkError, PluginError, protocolError } from './errors';
import type { Options } from './options';

/** The edge answers in a few hundred bytes; anything past this is not our edge. */
export const MAX_RESPONSE_BYTES = 256 * 1024;
/** First backoff step; doubled per attempt (250 ms, 500 ms, 1 s, ...), jittered. */
const BACKOFF_BASE_MS = 250;
/** Backoff ceiling, so a long budget is spent on attempts rather than on one sleep. */
const BACKOFF_CAP_MS = 4_000;
/** No point starting an attempt with less time than this left. */
const MIN_ATTEMPT_MS = 100;

export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
  random(): number;
}

/** The answer the client reads: a slice of fetch's Response that node:http can give cheaply. */
export interface HttpResponse {
  status: number;
  headers: { get(name: string): string | null };
  body: AsyncIterable<Uint8Array> | null;
}

/** POST `body` to `url`; rejects on network errors and on abort. See transport.ts. */
export type HttpPost = (url: URL | string, init: { headers: Record<string, string>; body: string; signal: AbortSignal }) => Promise<HttpResponse>;

export interface ExchangeDeps {
  post: HttpPost;
  clock: Clock;
  /** Verbose diagnostics; a no-op unless enabled. Lines must not hold secrets. */
  debug(line: string): void;
  userAgent: string;
}

type Outcome = { ok: true; text: string } | { ok: false; reason: string; retryAfterMs?: number };

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)}s`;

/** One line, printable, bounded: for text the edge or the network handed us. */
export function oneLine(text: string, max = 200): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this removes.
  const flat = text.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}...` : flat;
}

/** Retry-After as delta-seconds or an HTTP date (RFC 9110 10.2.3), in ms from now. */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (value === null) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/** `{ error: "ERR_X", message }` from the edge, as "ERR_X: message", or undefined. */
export function describeEdgeError(text: string): string | undefined {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof body !== 'object' || body === null) return undefined;
  const { error, message } = body as { error?: unknown; message?: unknown };
  if (typeof error !== 'string' || !/^ERR_[A-Z0-9_]{1,64}$/.test(error)) return undefined;
  return typeof message === 'string' && message.trim() !== '' ? `${error}: ${oneLine(message)}` : error;
}

const TLS_CODES = /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ERR_TLS|ERR_SSL|HOSTNAME/;

/** What a network failure means, and whether trying again can help. node:http puts the
 *  code on the error itself; fetch puts it on `cause`: both are read. The reason starts with
 *  the kind of failure (name resolution, connection refused, timeout, TLS, ...), then its code. */
export function describeNetworkError(err: unknown): { reason: string; retry: boolean } {
  const cause = (err as { cause?: { code?: unknown; message?: unknown } })?.cause;
  const own = (err as { code?: unknown })?.code;
  const code = typeof cause?.code === 'string' ? cause.code : typeof own === 'string' ? own : undefined;
  const message = typeof cause?.message === 'string' ? cause.message : err instanceof Error ? err.message : String(err);
  if (code && TLS_CODES.test(code)) {
    return {
      reason: `TLS certificate of the edge not accepted (${code}); for a private CA set NODE_EXTRA_CA_CERTS`,
      retry: false,
    };
  }
  const known: Record<string, string> = {
    ECONNREFUSED: 'connection refused',
    ECONNRESET: 'connection reset',
    EPIPE: 'connection closed while sending',
    ENOTFOUND: 'name resolution failed: host name not found',
    EAI_AGAIN: 'name resolution failed: lookup did not complete',
    ETIMEDOUT: 'timeout: connection timed out',
    EHOSTUNREACH: 'host unreachable',
    ENETUNREACH: 'network unreachable',
    UND_ERR_SOCKET: 'connection closed by the edge before the answer was complete',
    UND_ERR_CONNECT_TIMEOUT: 'timeout: connection timed out',
    ERR_STREAM_PREMATURE_CLOSE: 'connection closed by the edge before the answer was complete',
  };
  if (code && known[code]) return { reason: `${known[code]} (${code})`, retry: true };
  if (message === 'terminated' || message === 'aborted') return { reason: 'connection closed before the answer was complete', retry: true };
  return { reason: oneLine(code ? `${message} (${code})` : message, 120) || 'network error', retry: true };
}

async function readBody(res: HttpResponse): Promise<Uint8Array> {
  const tooLarge = () => protocolError(`the edge's response is larger than ${MAX_RESPONSE_BYTES} bytes`);
  if (Number(res.headers.get('content-length')) > MAX_RESPONSE_BYTES) throw tooLarge();
  return res.body ? readBounded(res.body, MAX_RESPONSE_BYTES, tooLarge) : new Uint8Array(0);
}

async function attempt(body: string, opts: Options, deps: ExchangeDeps, limitMs: number): Promise<Outcome> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), limitMs);
  let res: HttpResponse;
  let bytes: Uint8Array;
  try {
    res = await deps.post(opts.endpoint, {
      headers: { 'content-type': 'application/json', accept: 'application/json', 'user-agent': deps.userAgent },
      body,
      signal: controller.signal,
    });
    bytes = await readBody(res);
  } catch (err) {
    if (err instanceof PluginError) throw err;
    if (controller.signal.aborted) {
      const reason = limitMs < opts.attemptTimeoutMs ? 'timeout: no answer before the budget ran out' : `timeout: no answer within ${limitMs}ms`;
      return { ok: false, reason };
    }
    const { reason, retry } = describeNetworkError(err);
    if (!retry) throw networkError(`the edge at ${opts.endpoint.origin} failed: ${reason}`);
    return { ok: false, reason };
  } finally {
    clearTimeout(timer);
  }

  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw protocolError("the edge's response is not valid UTF-8");
  }
  const status = res.status;
  if (status === 200) return { ok: true, text };
  const edgeError = describeEdgeError(text);
  const what = edgeError ? `${status} ${edgeError}` : `HTTP ${status}`;
  if (status === 429 || (status >= 500 && status <= 599)) {
    const retryAfterMs = parseRetryAfter(res.headers.get('retry-after'), deps.clock.now());
    const reason = `HTTP ${status}${edgeError ? ` ${edgeError}` : ''}`; // it answered: an HTTP status, not a network failure
    return { ok: false, reason, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };
  }
  if (status >= 400 && status <= 499) throw deniedError(`the edge refused the request: ${what}`);
  if (status >= 300 && status <= 399) {
    throw protocolError(`the edge answered a redirect (HTTP ${status}); redirects are not followed, check the edge URL`);
  }
  throw protocolError(`the edge answered HTTP ${status}, expected 200`);
}

/**
 * POSTs `body` to the edge until it answers 200 or the attempts, or the time up to
 * `deadline`, run out. Returns the 200 body as text; throws a PluginError otherwise.
 */
export async function exchange(body: string, opts: Options, deps: ExchangeDeps, deadline: number): Promise<string> {
  const { clock } = deps;
  const started = clock.now();
  for (let n = 1; ; n++) {
    const limit = Math.min(opts.attemptTimeoutMs, deadline - clock.now());
    const t0 = clock.now();
    const outcome = await attempt(body, opts, deps, limit);
    deps.debug(`attempt ${n}: ${outcome.ok ? 'HTTP 200' : outcome.reason} after ${clock.now() - t0}ms`);
    if (outcome.ok) return outcome.text;

    const giveUp = (why: string) =>
      networkError(
        `the edge at ${opts.endpoint.origin} failed after ${n} attempt${n === 1 ? '' : 's'} in ${seconds(clock.now() - started)}: ${outcome.reason}${why}`,
      );
    if (n >= opts.maxAttempts) throw giveUp('');
    let wait: number;
    if (outcome.retryAfterMs !== undefined) {
      wait = outcome.retryAfterMs;
      if (clock.now() + wait + MIN_ATTEMPT_MS > deadline) {
        throw giveUp(` (it asked to retry after ${seconds(wait)}, past the ${seconds(opts.budgetMs)} budget)`);
      }
    } else {
      const step = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** (n - 1));
      wait = step / 2 + clock.random() * (step / 2); // "equal jitter": spread nodes apart, keep a floor
      if (clock.now() + wait + MIN_ATTEMPT_MS > deadline) throw giveUp(` (no time left in the ${seconds(opts.budgetMs)} budget for another attempt)`);
    }
    deps.debug(`waiting ${Math.round(wait)}ms before attempt ${n + 1}`);
    await clock.sleep(wait);
  }
}
