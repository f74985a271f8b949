// Loopback fakes of Google's Security Token Service and IAM Service Account Credentials API,
// written from their references (sts.googleapis.com v1 `token`, iamcredentials.googleapis.com
// v1 `projects.serviceAccounts.generateAccessToken`) and the Workload Identity Federation docs:
//
// STS (RFC 8693; JSON or form body; no Authorization):
//   POST /v1/token  {grant_type: urn:ietf:params:oauth:grant-type:token-exchange,
//                    audience: //iam.googleapis.com/projects/N/locations/global/workloadIdentityPools/P/providers/X,
//                    scope: https://www.googleapis.com/auth/cloud-platform,
//                    requested_token_type: urn:ietf:params:oauth:token-type:access_token,
//                    subject_token, subject_token_type: urn:ietf:params:oauth:token-type:jwt | id_token}
//   200  {access_token, issued_token_type, token_type: "Bearer", expires_in}
//   400  {error: invalid_request | invalid_grant | invalid_target | unsupported_grant_type, error_description}
// The subject token is verified as a pool's OIDC provider does: the provider named by the
// audience, its issuer's discovery document and JWKS (oidc.mjs), RS256 or ES256, aud among the
// provider's allowed audiences or, with none listed, its own resource name with or without
// "https:"; exp and iat required, exp - iat under 48 h (Google refuses longer-lived tokens);
// google.subject (mapped from sub) at most 127 bytes. The federated token is for
// principal://iam.googleapis.com/projects/N/locations/global/workloadIdentityPools/P/subject/<sub>.
//
// IAM Credentials:
//   POST /v1/projects/-/serviceAccounts/<email>:generateAccessToken  Authorization: Bearer <federated token>
//        {scope: [...], lifetime: "<n>s"}
//   200  {accessToken, expireTime: RFC 3339 with nanoseconds}
//   4xx  {error: {code, message, status: UNAUTHENTICATED | PERMISSION_DENIED | NOT_FOUND | INVALID_ARGUMENT}}
// The caller's principal must be a member of roles/iam.workloadIdentityUser on the account.
//
// Modes (state.sts.mode, state.iam.mode): 'deny' (400 invalid_grant / 403), 'down' (500),
// 'throttle' (429 with Retry-After state.retryAfter), 'slow' (answers after slowMs), 'garbage'
// (state.garbage: 'html', 'no-token', 'no-expiry'). Error and garbage bodies carry state.canary.
import { randomBytes } from 'node:crypto';
import { relyingParty, RelyingPartyError } from './oidc.mjs';
import { canary, sendJson, startServer } from './server.mjs';

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token';
const SUBJECT_TYPES = ['urn:ietf:params:oauth:token-type:jwt', 'urn:ietf:params:oauth:token-type:id_token'];
const CLOUD_PLATFORM = 'https://www.googleapis.com/auth/cloud-platform';
/** Google refuses subject tokens meant to live longer than this, seconds. */
const MAX_SUBJECT_LIFETIME = 48 * 60 * 60;
const MAX_SUBJECT_BYTES = 127;

/** The federated principal of a token's subject, as IAM bindings name it. */
export const garPrincipal = (providerName, sub) => {
  const [, number, , , , pool] = providerName.split('/');
  return `principal://iam.googleapis.com/projects/${number}/locations/global/workloadIdentityPools/${pool}/subject/${sub}`;
};

/**
 * @param {{
 *   providers?: Array<{ name: string, issuer: string, allowedAudiences?: string[], disabled?: boolean }>,
 *   serviceAccounts?: Record<string, { members: string[] }>,
 *   algorithms?: string[],
 *   federatedLifetime?: number,
 *   slowMs?: number,
 * }} [opts]
 *   providers: `name` = projects/N/locations/global/workloadIdentityPools/P/providers/X.
 *   serviceAccounts: by e-mail; members holding roles/iam.workloadIdentityUser.
 *   federatedLifetime: seconds STS tokens live (expires_in). Default 3600.
 */
export async function startGoogle(opts = {}) {
  const rp = relyingParty({ algorithms: opts.algorithms ?? ['RS256', 'ES256'] });
  /** token → { principal, expiresAt } */
  const tokens = new Map();
  const mode = () => ({ mode: 'ok', calls: 0, refused: [] });
  const state = {
    providers: opts.providers ?? [],
    serviceAccounts: opts.serviceAccounts ?? {},
    federatedLifetime: opts.federatedLifetime ?? 3600,
    garbage: 'html',
    retryAfter: 7,
    slowMs: opts.slowMs ?? 6000,
    canary: canary('google'),
    /** STS: calls, refusals { error, reason }, accepted { token, header, payload, principal } */
    sts: { ...mode(), accepted: [] },
    /** IAM Credentials: calls, refusals, issued { serviceAccount, lifetime, principal } */
    iam: { ...mode(), issued: [] },
  };

  const stsError = (res, status, error, reason) => {
    state.sts.refused.push({ error, reason });
    sendJson(res, status, { error, error_description: `${reason} (${state.canary})` });
  };
  const iamError = (res, code, status, reason) => {
    state.iam.refused.push({ error: status, reason });
    sendJson(res, code, { error: { code, message: `${reason} (${state.canary})`, status } });
  };

  /** The outage modes both APIs share; true if it answered. */
  function misbehave(which, res, run) {
    const m = state[which].mode;
    if (m === 'down') {
      sendJson(res, 500, { error: { code: 500, message: `Internal error (${state.canary})`, status: 'INTERNAL' } });
      return true;
    }
    if (m === 'throttle') {
      sendJson(
        res,
        429,
        { error: { code: 429, message: `Quota exceeded (${state.canary})`, status: 'RESOURCE_EXHAUSTED' } },
        { 'retry-after': String(state.retryAfter) },
      );
      return true;
    }
    if (m === 'garbage') {
      if (state.garbage === 'no-token') sendJson(res, 200, { note: state.canary, expires_in: 3600, expireTime: '2030-01-01T00:00:00Z' });
      else if (state.garbage === 'no-expiry') sendJson(res, 200, { access_token: `ya29.${state.canary}`, accessToken: `ya29.${state.canary}` });
      else res.writeHead(200, { 'content-type': 'text/html' }).end(`<html>${state.canary}</html>`);
      return true;
    }
    if (m === 'slow') {
      (which === 'sts' ? stsServer : iamServer).later(state.slowMs, () => void run());
      return true;
    }
    return false;
  }

  // ---- STS --------------------------------------------------------------------------------

  async function exchange(req, body, res) {
    const type = String(req.headers['content-type'] ?? '');
    let p;
    if (type.startsWith('application/json')) {
      try {
        p = JSON.parse(body);
      } catch {
        return stsError(res, 400, 'invalid_request', 'body is not JSON');
      }
    } else if (type.startsWith('application/x-www-form-urlencoded')) {
      p = Object.fromEntries(new URLSearchParams(body));
    } else return stsError(res, 400, 'invalid_request', 'unsupported content type');
    if (p?.grant_type !== TOKEN_EXCHANGE) return stsError(res, 400, 'unsupported_grant_type', `grant_type ${p?.grant_type}`);
    if (p.requested_token_type !== ACCESS_TOKEN) return stsError(res, 400, 'invalid_request', 'requested_token_type');
    if (!SUBJECT_TYPES.includes(p.subject_token_type)) return stsError(res, 400, 'invalid_request', 'subject_token_type');
    if (p.scope !== undefined && !String(p.scope).split(' ').includes(CLOUD_PLATFORM)) return stsError(res, 400, 'invalid_scope', 'scope');
    if (typeof p.subject_token !== 'string' || !p.subject_token) return stsError(res, 400, 'invalid_request', 'subject_token is required');
    const name = typeof p.audience === 'string' ? p.audience.replace(/^\/\/iam\.googleapis\.com\//, '') : '';
    const provider = state.providers.find((x) => x.name === name && `//iam.googleapis.com/${x.name}` === p.audience);
    if (!provider || provider.disabled) return stsError(res, 400, 'invalid_target', 'The target service indicated by the "audience" parameters is invalid.');
    if (state.sts.mode === 'deny') return stsError(res, 400, 'invalid_grant', 'denied (mode)');

    let payload;
    let header;
    try {
      const allowed = provider.allowedAudiences?.length ? provider.allowedAudiences : [`//iam.googleapis.com/${name}`, `https://iam.googleapis.com/${name}`];
      ({ payload, header } = await rp.verify(p.subject_token, { issuer: provider.issuer, audience: allowed }));
    } catch (err) {
      if (!(err instanceof RelyingPartyError)) throw err;
      return stsError(res, 400, 'invalid_grant', `${err.reason}: ${err.message}`);
    }
    if (typeof payload.iat !== 'number') return stsError(res, 400, 'invalid_grant', 'iat: the token has no iat');
    if (payload.exp - payload.iat > MAX_SUBJECT_LIFETIME) return stsError(res, 400, 'invalid_grant', 'lifetime: the token lives longer than 48 hours');
    if (Buffer.byteLength(payload.sub) > MAX_SUBJECT_BYTES)
      return stsError(res, 400, 'invalid_grant', 'subject: The size of mapped attribute google.subject exceeds the 127 bytes limit.');

    const principal = garPrincipal(name, payload.sub);
    const token = `ya29.d.${randomBytes(48).toString('base64url')}`;
    tokens.set(token, { principal, expiresAt: Math.floor(Date.now() / 1000) + state.federatedLifetime });
    state.sts.accepted.push({ token: p.subject_token, header, payload, principal });
    return sendJson(res, 200, { access_token: token, issued_token_type: ACCESS_TOKEN, token_type: 'Bearer', expires_in: state.federatedLifetime });
  }

  function sts(req, body, res) {
    if (req.method !== 'POST' || new URL(req.url ?? '/', 'http://x').pathname !== '/v1/token') return sendJson(res, 404, { error: 'not_found' });
    state.sts.calls++;
    const run = () => exchange(req, body, res).catch((err) => sendJson(res, 500, { error: 'internal', error_description: String(err) }));
    if (misbehave('sts', res, run)) return undefined;
    return run();
  }

  // ---- IAM Credentials --------------------------------------------------------------------

  function generate(req, body, res, email) {
    const bearer = /^Bearer (\S+)$/.exec(String(req.headers.authorization ?? ''))?.[1];
    const caller = bearer && tokens.get(bearer);
    if (!caller || caller.expiresAt <= Date.now() / 1000) return iamError(res, 401, 'UNAUTHENTICATED', 'Request had invalid authentication credentials.');
    const account = state.serviceAccounts[email];
    if (!account) return iamError(res, 404, 'NOT_FOUND', `Unknown service account ${email}`);
    if (state.iam.mode === 'deny' || !account.members.includes(caller.principal)) {
      return iamError(res, 403, 'PERMISSION_DENIED', "Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist).");
    }
    let p;
    try {
      p = JSON.parse(body);
    } catch {
      return iamError(res, 400, 'INVALID_ARGUMENT', 'body is not JSON');
    }
    if (!Array.isArray(p?.scope) || p.scope.length === 0) return iamError(res, 400, 'INVALID_ARGUMENT', 'scope is required');
    const lifetime = /^(\d+)s$/.exec(String(p.lifetime ?? '3600s'));
    if (!lifetime || Number(lifetime[1]) < 1 || Number(lifetime[1]) > 3600) return iamError(res, 400, 'INVALID_ARGUMENT', 'lifetime must be at most 3600s');
    const seconds = Number(lifetime[1]);
    const accessToken = `ya29.c.${randomBytes(48).toString('base64url')}`;
    const expireTime = new Date(Date.now() + seconds * 1000).toISOString().replace(/Z$/, '123456Z'); // nanoseconds, as Google writes them
    tokens.set(accessToken, { principal: `serviceAccount:${email}`, expiresAt: Math.floor(Date.now() / 1000) + seconds });
    state.iam.issued.push({ serviceAccount: email, lifetime: seconds, principal: caller.principal, accessToken });
    return sendJson(res, 200, { accessToken, expireTime });
  }

  function iam(req, body, res) {
    const m = /^\/v1\/projects\/-\/serviceAccounts\/([^/:]+):generateAccessToken$/.exec(new URL(req.url ?? '/', 'http://x').pathname);
    if (req.method !== 'POST' || !m) return iamError(res, 404, 'NOT_FOUND', 'no such method');
    state.iam.calls++;
    const run = () => generate(req, body, res, decodeURIComponent(m[1]));
    if (misbehave('iam', res, run)) return undefined;
    return run();
  }

  const stsServer = await startServer(sts);
  let iamServer;
  try {
    iamServer = await startServer(iam);
  } catch (err) {
    await stsServer.stop();
    throw err;
  }
  return {
    stsUrl: stsServer.url,
    iamUrl: iamServer.url,
    state,
    rp,
    /** Whose access token this is: the federated principal, or serviceAccount:<email>; undefined if unknown. */
    principalOf: (token) => tokens.get(token)?.principal,
    async stop() {
      await Promise.all([stsServer.stop(), iamServer.stop()]);
    },
  };
}
