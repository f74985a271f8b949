/**
 * The registry's token authentication service (distribution docs/spec/auth/token.md and
 * oauth.md): a client that a registry challenged with `Bearer realm="<edge>/token"` trades
 * the edge credential it got from the kubelet for a registry bearer token here.
 *
 *   GET  /token?service=S&scope=...&scope=...   Basic auth (skopeo, Docker, containerd's fallback)
 *   POST /token  form grant_type=password&username&password&service&scope=<space separated>&client_id
 *                (containerd tries this first; it retries as GET on 400/401/404)
 *   GET  /.well-known/registry-certs.pem        the certificate bundle for `rootcertbundle`
 *
 * The password is verified as the edge's own credential (signature, `exp`, `ecp.service` = service);
 * the token carries the intersection of the requested scopes and the credential's grants.
 * Errors use the registry's wire format, `{"errors":[{code, message, detail}]}`, with the
 * edge's stable code in `detail.error`; every 401 carries a Basic challenge. Nothing of
 * the password is ever echoed or logged.
 */
import { Hono, type Context } from 'hono';
import { DEFAULT_EDGE_ISSUER } from '../env';
import { BadRequest, CredentialInvalid, CredentialMissing, EdgeError, MethodNotAllowed, NotFound, UnsupportedGrantType } from '../errors';
import { logEvent, type LogFields } from '../log';
import { verifyCredential } from '../registry/credential';
import { signRegistryToken } from '../registry/registry-token';
import { formatScopes, intersect, parseScopes } from '../registry/scope';
import { loadKeyRing } from '../signing/keys';
import { readBody, utf8 } from './body';
import type { AppEnv } from './types';

/** A token request form is a few KiB at most (a ~1 KiB credential plus scopes). */
const MAX_FORM_BYTES = 16 * 1024;
/** The Basic challenge on every 401: credentials are what is missing or wrong. */
const CHALLENGE = 'Basic realm="edge-credential-provider", charset="UTF-8"';

/** distribution's error codes (registry/api/errcode and the reference token server's). */
function wireCode(err: EdgeError): string {
  if (err.status === 401) return 'UNAUTHORIZED';
  if (err.code === UnsupportedGrantType.code) return 'UNSUPPORTED_VALUE';
  if (err.status === 400) return 'BAD_TOKEN_OPTION';
  if (err.status === 405 || err.status === 413) return 'UNSUPPORTED';
  if (err.status === 503) return 'UNAVAILABLE';
  return 'UNKNOWN';
}

export function formatTokenError(c: Context<AppEnv>, err: EdgeError): Response {
  if (err.status === 401) c.header('WWW-Authenticate', CHALLENGE);
  if (err.status === 405) c.header('Allow', 'GET, POST');
  c.header('Cache-Control', 'no-store');
  return c.json({ errors: [{ code: wireCode(err), message: err.message, detail: { error: err.code } }] }, err.status);
}

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
    const binary = atob(match[1]!);
    // A plain loop: Uint8Array.from(string, mapFn) walks the string's iterator with a
    // callback per character, which costs ~40 µs for a 1 KiB credential.
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    decoded = utf8.decode(bytes);
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
  const started = Date.now();
  const now = Math.floor(started / 1000);
  const trace: LogFields = { form: req.form, service: printable(req.service, 255), client: printable(req.clientId) };
  try {
    if (!req.password) throw new CredentialMissing({ detail: `${req.form} request without a password` });
    if (!req.service) throw new BadRequest({ detail: 'service is missing', message: 'the service parameter is required' });
    const requested = parseScopes(req.scopes);
    // The first 16 are enough to audit a docker client (it asks for 1 to 3); the count says if more came.
    trace.requested = requested.slice(0, 16).map((s) => `${s.type}:${s.name}:${s.actions.join(',')}`);
    trace.scopes = requested.length;

    const ring = await loadKeyRing(c.env.EDGE_SIGNING_KEYS);
    const claims = await verifyCredential(ring, req.password, {
      edgeIssuer: c.env.EDGE_ISSUER ?? DEFAULT_EDGE_ISSUER,
      service: req.service,
      now,
    });
    Object.assign(trace, { sub: claims.sub, cluster: claims.ecp.cluster, rule: claims.ecp.rule, credential: claims.jti });

    const access = intersect(requested, claims.ecp.grants);
    const token = await signRegistryToken(ring, {
      issuer: c.env.REGISTRY_TOKEN_ISSUER ?? c.env.EDGE_ISSUER ?? DEFAULT_EDGE_ISSUER,
      service: req.service,
      subject: claims.sub,
      access,
      now,
      notAfter: claims.exp,
    });
    const scope = formatScopes(access);
    logEvent(c.env, 'registry_token', { outcome: 'issued', ...trace, granted: scope, expires_in: token.expiresIn, ms: Date.now() - started });

    c.header('Cache-Control', 'no-store');
    c.header('Pragma', 'no-cache');
    const common = { expires_in: token.expiresIn, issued_at: new Date(token.issuedAt * 1000).toISOString() };
    return req.form === 'get'
      ? c.json({ token: token.token, access_token: token.token, ...common })
      : c.json({ access_token: token.token, scope, ...common });
  } catch (err) {
    if (err instanceof EdgeError) {
      logEvent(c.env, 'registry_token', { outcome: 'denied', ...trace, code: err.code, reason: err.detail, ms: Date.now() - started });
    }
    throw err;
  }
}

export const registryToken = new Hono<AppEnv>()
  .use('/token', async (c, next) => {
    c.set('formatError', formatTokenError);
    await next();
  })
  .get('/token', (c) => {
    const url = new URL(c.req.url);
    return issue(c, {
      form: 'get',
      service: url.searchParams.get('service') ?? undefined,
      scopes: url.searchParams.getAll('scope'),
      password: basicPassword(c.req.header('Authorization')),
      clientId: url.searchParams.get('client_id') ?? undefined,
    });
  })
  .post('/token', async (c) => {
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
    return issue(c, {
      form: 'post',
      service: form.get('service') ?? undefined,
      scopes: form.getAll('scope'),
      password: form.get('password') ?? undefined,
      clientId: form.get('client_id') ?? undefined,
    });
  })
  .all('/token', () => {
    throw new MethodNotAllowed({ detail: 'token endpoint takes GET and POST' });
  })
  .get('/.well-known/registry-certs.pem', async (c) => {
    const ring = await loadKeyRing(c.env.EDGE_SIGNING_KEYS);
    // Active key first, then the retiring ones: the registry must trust all of them
    // until tokens signed by a retiring key have expired.
    const certs = ring.keys.flatMap((k) => (k.certificate ? [k.certificate] : []));
    if (certs.length === 0) throw new NotFound({ detail: 'the key ring has no certificates' });
    c.header('Content-Type', 'application/x-pem-file');
    c.header('Cache-Control', 'public, max-age=300');
    return c.body(certs.map(toPem).join(''));
  });

function toPem(base64Der: string): string {
  return `-----BEGIN CERTIFICATE-----\n${base64Der.match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----\n`;
}
