/**
 * The registry's token authentication service (distribution docs/spec/auth/token.md and
 * oauth.md): a client that a registry challenged with `Bearer realm="<edge>/token"` trades
 * the edge credential it got from the kubelet for a registry bearer token here.
 *
 *   GET  /token?service=S&scope=...&scope=...   Basic auth (skopeo, Docker, containerd's fallback)
 *   POST /token  form grant_type=password&username&password&service&scope=<space separated>&client_id
 *                (containerd tries this first; it retries as GET on 400/401/404)
 *
 * The password is verified as the edge's own credential (signature, `exp`, `ecp.service` = service),
 * then re-checked against the trust record as it is now (policy/evaluate.ts `recheck`): record
 * present and enabled, the granting rule present and still matching, no revocation. The
 * token carries the intersection of the requested scopes, the credential's grants and the
 * rule's current grant; it lives REGISTRY_TOKEN_TTL (5 min) at most, so revoking a
 * credential ends its registry access within that plus the propagation time.
 * Errors use the registry's wire format, `{"errors":[{code, message, detail}]}`, with the
 * edge's stable code in `detail.error`; every 401 carries a Basic challenge. Nothing of
 * the password is ever echoed or logged.
 */
import type { Context, ErrorHandler } from 'hono';
import { Hono } from './hono';
import { fromBase64, utf8 } from '../bytes';
import { loadConfig } from '../config';
import { BadRequest, CredentialInvalid, CredentialMissing, EdgeError, MethodNotAllowed, UnsupportedGrantType } from '../errors';
import { registryTokenSubject } from '../identity/workload';
import { logEnabled, logEvent, type LogFields } from '../log';
import { failed, metric, OK, type Blobs } from '../metrics';
import { recheck } from '../policy/evaluate';
import { verifyCredential } from '../registry/credential';
import { signRegistryToken } from '../registry/registry-token';
import { formatScopes, intersect, parseScopes } from '../registry/scope';
import { loadCredentialKeys } from '../signing/keys';
import { loadTrust } from '../store/trust';
import { readBody } from './body';
import { onError } from './errors';
import type { AppEnv } from './types';

/** A token request form is a few KiB at most (a ~1 KiB credential plus scopes). */
const MAX_FORM_BYTES = 16 * 1024;
/** A token is a secret: no cache may keep it (RFC 6749 §5.1). */
const NO_STORE = { 'Cache-Control': 'no-store', Pragma: 'no-cache' };
/** The Basic challenge on every 401: credentials are what is missing or wrong. */
const CHALLENGE = 'Basic realm="edge-credential-provider", charset="UTF-8"';

/** distribution's error codes (registry/api/errcode and the reference token server's). */
function wireCode(err: EdgeError): string {
  if (err.status === 401) return 'UNAUTHORIZED';
  if (err.status === 403) return 'DENIED';
  if (err.code === UnsupportedGrantType.code) return 'UNSUPPORTED_VALUE';
  if (err.status === 400) return 'BAD_TOKEN_OPTION';
  if (err.status === 405 || err.status === 413) return 'UNSUPPORTED';
  if (err.status === 503) return 'UNAVAILABLE';
  return 'UNKNOWN';
}

/** The registry's error format for the token endpoint; anything else goes to the app's mapper. */
const tokenOnError: ErrorHandler<AppEnv> = (err, c) => {
  if (!(err instanceof EdgeError)) return onError(err, c);
  if (err.status >= 500) logEvent('error', { path: c.req.path, code: err.code, detail: err.detail });
  if (err.status === 401) c.header('WWW-Authenticate', CHALLENGE);
  if (err.status === 405) c.header('Allow', 'GET, HEAD, POST');
  c.header('Cache-Control', 'no-store');
  return c.json({ errors: [{ code: wireCode(err), message: err.message, detail: { error: err.code } }] }, err.status);
};

interface TokenRequest {
  form: 'get' | 'post';
  service: string | undefined;
  scopes: string[];
  password: string | undefined;
  clientId: string | undefined;
}

/** `Authorization: Basic base64(user:password)`; the username is not used (see docs/registry.md). */
function basicPassword(header: string | undefined): string | undefined {
  if (header === undefined || header.trim() === '') return undefined;
  const match = /^Basic[ ]+([A-Za-z0-9+/]+={0,2})$/i.exec(header.trim());
  if (!match) throw new CredentialInvalid({ detail: 'authorization is not Basic' });
  let decoded: string;
  try {
    // atob gives one character per byte: all under 0x80 is ASCII, valid UTF-8 as it stands
    // (an edge credential is ASCII); anything else is decoded strictly.
    decoded = atob(match[1]!);
    if (/[\u0080-\uffff]/.test(decoded)) decoded = utf8.decode(fromBase64(match[1]!));
  } catch {
    throw new CredentialInvalid({ detail: 'basic credentials are not base64 UTF-8' });
  }
  const colon = decoded.indexOf(':');
  if (colon === -1) throw new CredentialInvalid({ detail: 'basic credentials have no ":"' });
  return decoded.slice(colon + 1);
}

/** For the audit log: printable, bounded. */
const printable = (s: string | undefined, max = 64) => (s === undefined ? undefined : s.replace(/[^\x21-\x7e]/g, '?').slice(0, max));

async function issue(c: Context<AppEnv>, req: TokenRequest): Promise<Response> {
  const config = loadConfig(c.env); // first: it sets whether the audit line is logged
  const started = Date.now();
  const now = Math.floor(started / 1000);
  // The audit line's fields, gathered as the request goes; none when the log is off (AUDIT_LOG).
  const audit = logEnabled();
  const trace: LogFields = audit ? { form: req.form, service: printable(req.service, 255), client: printable(req.clientId) } : {};
  // The data point: record, rule and registry only once the credential verified, so that no client can make one up.
  const point: Blobs = ['token', ...OK];
  try {
    if (!req.password) throw new CredentialMissing({ detail: `${req.form} request without a password` });
    if (!req.service) throw new BadRequest({ detail: 'service is missing', message: 'the service parameter is required' });
    const requested = parseScopes(req.scopes);
    if (audit) {
      // The first 16 are enough to audit a docker client (it asks for 1 to 3); the count says if more came.
      trace.requested = requested.slice(0, 16).map((s) => `${s.type}:${s.name}:${s.actions.join(',')}`);
      trace.scopes = requested.length;
    }

    const ring = await loadCredentialKeys(c.env.EDGE_SIGNING_KEYS);
    const held = await verifyCredential(ring, req.password, { edgeIssuer: config.edgeIssuer, service: req.service, now });
    if (audit) {
      Object.assign(trace, {
        cluster: held.cluster,
        namespace: held.namespace,
        serviceAccount: held.serviceAccount.name,
        rule: held.rule,
        credential: held.jti,
      });
    }

    point[4] = held.rule;
    point[6] = held.registry;
    // Policy is evaluated at the moment of use, not only when the credential was minted.
    const trust = await loadTrust(c.env.TRUST, held.cluster, now);
    point[3] = trust?.compiled.record.name;
    const current = recheck(trust, held, now);
    const subject = registryTokenSubject({ record: current.record, namespace: held.namespace, serviceAccount: held.serviceAccount });
    if (audit) trace.sub = subject;
    const access = intersect(intersect(requested, held.grants), current.grants);
    const token = await signRegistryToken(ring, {
      issuer: config.registryTokenIssuer,
      service: req.service,
      subject,
      access,
      now,
      notAfter: held.expiresAt,
    });
    const scope = formatScopes(access);
    if (audit) logEvent('registry_token', { outcome: 'issued', ...trace, granted: scope, expires_in: token.expiresIn, ms: Date.now() - started });

    const common = { expires_in: token.expiresIn, issued_at: new Date(token.issuedAt * 1000).toISOString() };
    const body = req.form === 'get' ? { token: token.token, access_token: token.token, ...common } : { access_token: token.token, scope, ...common };
    return Response.json(body, { headers: NO_STORE }); // the runtime's, as in routes/credentials.ts
  } catch (err) {
    if (err instanceof EdgeError) {
      logEvent('registry_token', { outcome: 'denied', ...trace, code: err.code, reason: err.detail, ms: Date.now() - started });
    }
    [point[1], point[2]] = failed(err);
    throw err;
  } finally {
    metric(c.env, point, Date.now() - started);
  }
}

/** GET: service and scopes in the query, the credential in Basic auth. */
function getRequest(c: Context<AppEnv>): TokenRequest {
  const url = new URL(c.req.url);
  return {
    form: 'get',
    service: url.searchParams.get('service') ?? undefined,
    scopes: url.searchParams.getAll('scope'),
    password: basicPassword(c.req.header('Authorization')),
    clientId: url.searchParams.get('client_id') ?? undefined,
  };
}

/** POST: everything in a form body (the OAuth2 password grant). */
async function postRequest(c: Context<AppEnv>): Promise<TokenRequest> {
  const type = c.req.header('Content-Type') ?? '';
  if (!/^application\/x-www-form-urlencoded\s*(;|$)/i.test(type)) {
    throw new BadRequest({ detail: 'token POST without a form body', message: 'the body must be application/x-www-form-urlencoded' });
  }
  const form = new URLSearchParams(await readBody(c.req.raw, MAX_FORM_BYTES));
  const grantType = form.get('grant_type');
  if (!grantType) throw new BadRequest({ detail: 'grant_type is missing', message: 'the grant_type parameter is required' });
  // refresh_token (containerd sends it when it holds an identity token) and every other
  // grant: RFC 6749 §5.2 unsupported_grant_type, a 400, on which containerd retries as GET.
  if (grantType !== 'password') throw new UnsupportedGrantType({ detail: `grant_type ${printable(grantType, 32)}` });
  return {
    form: 'post',
    service: form.get('service') ?? undefined,
    scopes: form.getAll('scope'),
    password: form.get('password') ?? undefined,
    clientId: form.get('client_id') ?? undefined,
  };
}

/**
 * One handler for every method, its errors in the registry's format. One route and no
 * sub-app `onError` on purpose: a request matching two handlers (a `.get` beside an `.all`),
 * or a route of a sub-app with its own error handler, goes through Hono's compose, which the
 * warm path paid on every token request (bench/FINDINGS.md). HEAD is answered as GET.
 */
export const registryToken = new Hono<AppEnv>().all('/token', async (c) => {
  try {
    const method = c.req.method;
    if (method === 'GET' || method === 'HEAD') return await issue(c, getRequest(c));
    if (method === 'POST') return await issue(c, await postRequest(c));
    throw new MethodNotAllowed({ detail: 'token endpoint takes GET and POST' });
  } catch (err) {
    return tokenOnError(err as Error, c);
  }
});
