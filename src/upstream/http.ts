/**
 * Calling a vendor: one request with a timeout, the answer read with a byte limit, and the
 * outcome classified the way the edge reports it. A vendor's body is parsed for what we
 * need and never echoed or logged: it can hold secrets.
 */
import { readResponseAtMost } from '../bytes';
import { decodeJwt } from '../identity/decode';
import { UpstreamDenied, UpstreamUnavailable } from '../errors';

/** One vendor call may take this long, ms: two calls (AWS) fit in the plugin's 10 s attempt. */
export const UPSTREAM_TIMEOUT_MS = 4_000;
/** A vendor's answer is a few KiB; refuse to buffer more. */
const MAX_ANSWER_BYTES = 256 * 1024;
/** Retry-After for a vendor outage when the vendor gave none, and its bounds, seconds. */
const DEFAULT_RETRY_AFTER = 5;
const MAX_RETRY_AFTER = 60;

/** Request headers of a vendor call with a JSON body, and with a form body; the answer is JSON either way. */
export const JSON_REQUEST = { 'content-type': 'application/json', accept: 'application/json' };
export const FORM_REQUEST = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };

/** The wire message of an outage: names the vendor and which failure it was (no secret in either). */
const unavailable = (vendor: string, failure: string) => `${vendor} is unavailable (${failure}); retry later`;

/**
 * Which failure a vendor call that got no answer was, as a fixed phrase: never the error's own
 * text, which may carry the request URL. Reads workerd's messages and Node's codes alike.
 */
export function fetchFailure(err: unknown): string {
  const e = err as { name?: unknown; message?: unknown; code?: unknown; cause?: { code?: unknown; message?: unknown } } | undefined;
  const name = typeof e?.name === 'string' ? e.name : '';
  const code = [e?.code, e?.cause?.code].find((c): c is string => typeof c === 'string') ?? '';
  const text = `${code} ${typeof e?.message === 'string' ? e.message : ''} ${typeof e?.cause?.message === 'string' ? e.cause.message : ''}`.toLowerCase();
  if (name === 'TimeoutError' || name === 'AbortError' || /etimedout|timed? ?out/.test(text)) return `timeout: no answer within ${UPSTREAM_TIMEOUT_MS} ms`;
  if (/enotfound|eai_again|dns|name (resolution|not resolved)|could not resolve|unknown host/.test(text)) return 'name resolution failed';
  if (/econnrefused|connection refused|refused/.test(text)) return 'connection refused';
  if (/cert|tls|ssl|handshake/.test(text)) return 'TLS failed';
  if (/econnreset|reset|disconnected|connection lost|closed/.test(text)) return 'connection closed';
  return 'connection failed';
}

export interface VendorAnswer {
  status: number;
  headers: Headers;
  body: string;
}

/** Sends the request and reads the answer. A timeout, a network error or an oversized answer is UpstreamUnavailable. */
export async function vendorCall(vendor: string, request: Request, fetchFn: typeof fetch): Promise<VendorAnswer> {
  let res: Response;
  try {
    res = await fetchFn(request, { redirect: 'manual', signal: AbortSignal.timeout(UPSTREAM_TIMEOUT_MS) });
  } catch (err) {
    const failure = fetchFailure(err);
    throw new UpstreamUnavailable({ detail: `${vendor}: ${failure}`, message: unavailable(vendor, failure), retryAfter: DEFAULT_RETRY_AFTER });
  }
  const read = await readResponseAtMost(res, MAX_ANSWER_BYTES);
  if ('problem' in read)
    throw new UpstreamUnavailable({
      detail: `${vendor}: answer ${read.problem}`,
      message: unavailable(vendor, `HTTP ${res.status}, answer not read`),
      retryAfter: DEFAULT_RETRY_AFTER,
    });
  return { status: res.status, headers: res.headers, body: new TextDecoder().decode(read.bytes) };
}

function retryAfter(headers: Headers): number {
  const raw = Number(headers.get('retry-after'));
  return Number.isInteger(raw) && raw > 0 ? Math.min(raw, MAX_RETRY_AFTER) : DEFAULT_RETRY_AFTER;
}

/** A vendor's own error code, if it looks like one (letters, digits, dots): safe to log. */
export const safeCode = (code: string | undefined) => (code && /^[A-Za-z0-9_.]{1,64}$/.test(code) ? code : undefined);

/**
 * The outcome of an answer the caller cannot use: 429 and 5xx (and codes the caller knows to be
 * transient, and an unexpected 2xx) are an outage, worth a retry; a 3xx or any other 4xx is a
 * refusal, with `cause` telling the operator what to check on the vendor's side. `cause` names
 * the record's settings (role ARN, tenant and client ids, robot, organisation): it goes to the
 * log line only; the workload's answer names the vendor and points the operator at explain.
 */
export function vendorFailure(vendor: string, answer: VendorAnswer, cause: string, code?: string, transient = false): never {
  const label = `${vendor} answered ${answer.status}${safeCode(code) ? ` ${safeCode(code)}` : ''}`;
  // Redirects are not followed (a token must not travel on to another host). A vendor API that
  // redirects is a wrong endpoint or a moved API: no retry mends that, so it is a refusal.
  if (answer.status >= 300 && answer.status < 400) {
    throw new UpstreamDenied({ detail: label, message: `${vendor} redirected the edge (${answer.status}); check the rule's endpoint` });
  }
  if (transient || answer.status === 429 || answer.status >= 500 || answer.status < 400) {
    throw new UpstreamUnavailable({ detail: label, message: unavailable(vendor, `answered HTTP ${answer.status}`), retryAfter: retryAfter(answer.headers) });
  }
  throw new UpstreamDenied({
    detail: `${label}: ${cause}`,
    message: `${vendor} refused the workload token; check the vendor-side trust entry (the edge's log and POST /admin/v1/explain)`,
  });
}

/** A 2xx answer whose body is not what the vendor documents. */
export function garbage(vendor: string, what: string): never {
  throw new UpstreamUnavailable({
    detail: `${vendor}: ${what}`,
    message: `${vendor} gave an answer the edge cannot use; retry later`,
    retryAfter: DEFAULT_RETRY_AFTER,
  });
}

/** A 2xx answer's JSON object; anything else is garbage. */
export function answerObject(vendor: string, body: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    garbage(vendor, 'answer is not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) garbage(vendor, 'answer is not a JSON object');
  return value as Record<string, unknown>;
}

/** An error answer's JSON object, or an empty one: error bodies are read for a code, nothing else. */
export function errorObject(body: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(body);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** A non-empty string field of a vendor's answer, or garbage. */
export function stringField(vendor: string, answer: Record<string, unknown>, field: string): string {
  const value = answer[field];
  if (typeof value !== 'string' || value.length === 0) garbage(vendor, `answer has no ${field}`);
  return value;
}

/**
 * The `exp` of a vendor's token if it is a JWT that has one, else undefined. Read, not
 * verified: the token is the vendor's, for the registry; we only learn how long it lasts.
 */
export function jwtExpiry(token: string): number | undefined {
  try {
    const exp = decodeJwt(token).exp;
    return typeof exp === 'number' && Number.isFinite(exp) ? Math.floor(exp) : undefined;
  } catch {
    return undefined;
  }
}
