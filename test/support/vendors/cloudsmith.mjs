// A loopback Cloudsmith, written from its API documentation (docs.cloudsmith.com, "OpenID
// Connect" and the API's `openid` create operation):
//
//   POST /openid/{org}/   {"oidc_token": "<JWT>", "service_slug": "<service account>"}
//   200  {"token": "<JWT, about 90 minutes>"}
//   400  {"detail"}  missing or invalid parameters
//   401  {"detail"}  the OIDC token cannot be authenticated
//   404  {"detail"}  no such organization, or no such service account in it
//
// An organization has service accounts and OIDC provider settings; a setting names a provider
// URL (the root URL, without /.well-known/openid-configuration), the claims a token must carry
// with exactly these values, and the service accounts it may log in as. The token is verified
// as Cloudsmith does, by fetching the provider's discovery document and JWKS (oidc.mjs).
//
// Modes (state.mode) stand in for a Cloudsmith that misbehaves: 'deny' refuses every token
// (401), 'down' answers 500, 'slow' answers only after `slowMs`, 'garbage' answers 200 with a
// body the edge cannot use (state.garbage: 'html', 'no-token' or 'not-jwt'), 'throttle' answers
// 429 with Retry-After (state.retryAfter seconds). Every error and garbage body carries
// `state.canary`, which the edge must never repeat.
import { randomBytes } from 'node:crypto';
import { decodeJwt, SignJWT } from 'jose';
import { relyingParty, RelyingPartyError } from './oidc.mjs';
import { answerInMode, canary, sendJson, startServer } from './server.mjs';

/**
 * @param {{
 *   organizations?: Record<string, { serviceAccounts: string[], providers: Array<{ providerUrl: string, requiredClaims?: Record<string, string>, serviceAccounts: string[] }> }>,
 *   algorithms?: string[],
 *   tokenLifetime?: number,
 *   slowMs?: number,
 * }} [opts]
 *   algorithms: what the provider's tokens may be signed with. Default ['RS256'].
 *   tokenLifetime: seconds the API tokens it issues live. Default 5400 (90 minutes).
 *   slowMs: how long 'slow' waits before answering, ms. Default 6000 (past the edge's 4 s).
 */
export async function startCloudsmith(opts = {}) {
  const rp = relyingParty({ algorithms: opts.algorithms ?? ['RS256'] });
  const signingSecret = randomBytes(32);
  const state = {
    /** 'ok' | 'deny' | 'down' | 'slow' | 'garbage' | 'throttle' */
    mode: 'ok',
    garbage: 'html',
    retryAfter: 7,
    tokenLifetime: opts.tokenLifetime ?? 5400,
    slowMs: opts.slowMs ?? 6000,
    canary: canary('cloudsmith'),
    organizations: opts.organizations ?? {},
    /** POSTs to /openid/…, whatever their outcome. */
    calls: 0,
    /** Workload tokens that verified and passed the claims, as received: { token, header, payload, org, slug }. */
    accepted: [],
    /** Why tokens were refused: { reason, message }. */
    refused: [],
    /** The API tokens handed out. */
    issued: [],
  };

  const detail = (text) => ({ detail: `${text} (${state.canary})` });

  async function exchange(org, body, res) {
    let params;
    try {
      params = JSON.parse(body);
    } catch {
      return sendJson(res, 400, detail('JSON parse error'));
    }
    const token = params?.oidc_token;
    const slug = params?.service_slug;
    if (typeof token !== 'string' || token === '' || typeof slug !== 'string' || slug === '') {
      return sendJson(res, 400, detail('oidc_token and service_slug are required'));
    }
    const organization = state.organizations[org];
    if (!organization) return sendJson(res, 404, detail('Not found.'));
    if (!organization.serviceAccounts.includes(slug)) return sendJson(res, 404, detail('Not found.'));

    const refuse = (reason, message) => {
      state.refused.push({ reason, message });
      return sendJson(res, 401, detail('OIDC token cannot be authenticated.'));
    };
    let iss;
    try {
      iss = decodeJwt(token).iss;
    } catch {
      return refuse('malformed', 'not a JWT');
    }
    const settings = organization.providers.filter((p) => p.providerUrl === iss && p.serviceAccounts.includes(slug));
    if (settings.length === 0) return refuse('provider', `no provider setting for ${String(iss)} and ${slug}`);

    let last = { reason: 'claims', message: 'no setting matched' };
    for (const setting of settings) {
      let verified;
      try {
        verified = await rp.verify(token, { issuer: setting.providerUrl, audience: setting.requiredClaims?.aud ?? server.url });
      } catch (err) {
        if (!(err instanceof RelyingPartyError)) throw err;
        last = { reason: err.reason, message: err.message };
        continue;
      }
      const mismatch = Object.entries(setting.requiredClaims ?? {}).find(([claim, want]) => {
        const got = verified.payload[claim];
        return Array.isArray(got) ? !got.includes(want) : got !== want;
      });
      if (mismatch) {
        last = { reason: `claim:${mismatch[0]}`, message: `claim ${mismatch[0]} is not ${mismatch[1]}` };
        continue;
      }
      state.accepted.push({ token, header: verified.header, payload: verified.payload, org, slug });
      const now = Math.floor(Date.now() / 1000);
      const apiToken = await new SignJWT({ org, service: slug })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setIssuer('https://api.cloudsmith.io')
        .setSubject(slug)
        .setIssuedAt(now)
        .setExpirationTime(now + state.tokenLifetime)
        .setJti(randomBytes(8).toString('hex'))
        .sign(signingSecret);
      state.issued.push(apiToken);
      return sendJson(res, 200, { token: apiToken });
    }
    return refuse(last.reason, last.message);
  }

  function answer(req, body, res) {
    const match = /^\/openid\/([^/]+)\/$/.exec(new URL(req.url ?? '/', 'http://x').pathname);
    if (req.method !== 'POST' || !match) return sendJson(res, 404, detail('Not found.'));
    state.calls++;
    if (state.mode === 'deny') return sendJson(res, 401, detail('OIDC token cannot be authenticated.'));
    return answerInMode(
      server,
      state,
      res,
      {
        down: detail('Server Error'),
        throttle: detail('Request was throttled.'),
        garbage: { 'no-token': { detail: state.canary }, 'not-jwt': { token: state.canary } },
      },
      () => exchangeChecked(match[1], req, body, res),
    );
  }

  function exchangeChecked(org, req, body, res) {
    if (!String(req.headers['content-type'] ?? '').startsWith('application/json')) {
      return sendJson(res, 415, detail('Unsupported media type'));
    }
    return exchange(decodeURIComponent(org), body, res).catch((err) => {
      sendJson(res, 500, detail(err instanceof Error ? err.message : 'error'));
    });
  }

  const server = await startServer(answer);
  return { url: server.url, state, rp, stop: server.stop };
}
