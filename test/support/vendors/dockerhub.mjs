// A loopback Docker identity service for OIDC connections, written from Docker's "OIDC
// connections" documentation and docker/login-action's client (src/dockerhub.ts):
//
//   POST /oauth/token  form grant_type=urn:ietf:params:oauth:grant-type:token-exchange,
//        subject_token_type=urn:ietf:params:oauth:token-type:id_token, subject_token=<JWT>,
//        connection_id, expires_in (300..3600)
//   200  {"access_token"}
//   4xx  {"message"}
//
// A connection belongs to an organisation, trusts one issuer, and has rulesets whose subject
// patterns ("*" a wildcard) must match the token's sub. The token is verified against the
// issuer's discovery document and JWKS (oidc.mjs), RS256, aud https://identity.docker.com.
//
// Modes (state.mode): 'deny' (403), 'down' (500), 'throttle' (429 with Retry-After
// state.retryAfter), 'slow' (after slowMs), 'garbage' (state.garbage: 'html' or 'no-token').
// state.tokens: 'opaque' (default; the answer says nothing of the token's life) or 'jwt'.
import { randomBytes } from 'node:crypto';
import { decodeJwt, SignJWT } from 'jose';
import { relyingParty, RelyingPartyError } from './oidc.mjs';
import { answerInMode, canary, sendJson, startServer } from './server.mjs';

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ID_TOKEN = 'urn:ietf:params:oauth:token-type:id_token';
export const DOCKER_AUDIENCE = 'https://identity.docker.com';

/** A ruleset's subject pattern: `*` any run, everything else literal. */
function subjectMatches(pattern, sub) {
  const re = pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*');
  return new RegExp(`^${re}$`, 's').test(sub);
}

/**
 * @param {{ connections?: Record<string, { organization: string, issuer: string, subjects: string[] }>, slowMs?: number }} [opts]
 *   connections: by connection id; subjects: the rulesets' subject patterns.
 */
export async function startDockerHub(opts = {}) {
  const rp = relyingParty({ algorithms: ['RS256'] });
  const signingKey = randomBytes(32);
  const state = {
    connections: opts.connections ?? {},
    /** 'ok' | 'deny' | 'down' | 'throttle' | 'slow' | 'garbage' */
    mode: 'ok',
    garbage: 'html',
    tokens: 'opaque',
    retryAfter: 7,
    slowMs: opts.slowMs ?? 6000,
    canary: canary('dockerhub'),
    calls: 0,
    /** { connectionId, organization, expiresIn, token, header, payload } */
    accepted: [],
    refused: [],
    /** Access tokens handed out, with the organisation they act for. */
    issued: [],
  };

  const refuse = (res, status, reason, message) => {
    state.refused.push({ reason, message });
    sendJson(res, status, { message: `${message} (${state.canary})` });
  };

  async function exchange(req, body, res) {
    if (!String(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) return refuse(res, 400, 'request', 'form body required');
    const form = new URLSearchParams(body);
    if (form.get('grant_type') !== TOKEN_EXCHANGE) return refuse(res, 400, 'request', 'unsupported grant_type');
    if (form.get('subject_token_type') !== ID_TOKEN) return refuse(res, 400, 'request', 'unsupported subject_token_type');
    const expiresIn = Number(form.get('expires_in') ?? 300);
    if (!Number.isInteger(expiresIn) || expiresIn < 300 || expiresIn > 3600) return refuse(res, 400, 'request', 'expires_in must be between 300 and 3600');
    const connectionId = form.get('connection_id') ?? '';
    const connection = state.connections[connectionId];
    if (!connection) return refuse(res, 404, 'connection', 'connection not found');
    if (state.mode === 'deny') return refuse(res, 403, 'deny', 'denied (mode)');
    const token = form.get('subject_token') ?? '';
    let verified;
    try {
      if (decodeJwt(token).iss !== connection.issuer) return refuse(res, 401, 'iss', 'token issuer does not match the connection');
      verified = await rp.verify(token, { issuer: connection.issuer, audience: DOCKER_AUDIENCE });
    } catch (err) {
      if (err instanceof RelyingPartyError) return refuse(res, 401, err.reason, 'invalid token');
      return refuse(res, 401, 'malformed', 'invalid token');
    }
    if (!connection.subjects.some((p) => subjectMatches(p, verified.payload.sub))) return refuse(res, 403, 'sub', 'no ruleset matches the token subject');
    state.accepted.push({ connectionId, organization: connection.organization, expiresIn, token, header: verified.header, payload: verified.payload });
    const now = Math.floor(Date.now() / 1000);
    const accessToken =
      state.tokens === 'jwt'
        ? await new SignJWT({ org: connection.organization })
            .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
            .setIssuedAt(now)
            .setExpirationTime(now + expiresIn)
            .sign(signingKey)
        : `dckr_oat_${randomBytes(24).toString('base64url')}`;
    state.issued.push({ accessToken, organization: connection.organization, expiresIn });
    return sendJson(res, 200, { access_token: accessToken });
  }

  function answer(req, body, res) {
    if (req.method !== 'POST' || new URL(req.url ?? '/', 'http://x').pathname !== '/oauth/token') return sendJson(res, 404, { message: 'not found' });
    state.calls++;
    const run = () => exchange(req, body, res).catch((err) => sendJson(res, 500, { message: String(err) }));
    return answerInMode(
      server,
      state,
      res,
      {
        down: { message: `internal error (${state.canary})` },
        throttle: { message: `too many requests (${state.canary})` },
        garbage: { 'no-token': { message: state.canary } },
      },
      run,
    );
  }

  const server = await startServer(answer);
  return { url: server.url, state, rp, stop: server.stop };
}
