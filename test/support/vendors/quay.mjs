// A loopback Quay (3.13 and later) robot federation endpoint, written from Quay's source
// (endpoints/oauth/robot_identity_federation.py, util/security/federated_robot_auth.py) and
// the robot federation docs:
//
//   GET /oauth2/federation/robot/token   Authorization: Basic base64("<org>+<robot>:<JWT>")
//   200 {"token": "<JWT, 1 hour>"}
//   401 {"error": "<why>"}
//
// The robot's federation entries are [{issuer, subject, audiences?}]. Quay reads the token's
// iss (unverified), keeps the entries for that issuer, fetches the issuer's discovery document
// and JWKS (oidc.mjs; RSA keys only, RS256/RS384), verifies signature and exp (not nbf), aud
// only where an entry lists audiences, then requires sub to be one of those entries' subjects.
//
// Modes (state.mode): 'deny' (401), 'down' (500), 'throttle' (429 with Retry-After
// state.retryAfter), 'slow' (after slowMs), 'garbage' (state.garbage: 'html', 'no-token',
// 'not-jwt'). Error and garbage bodies carry state.canary.
import { randomBytes } from 'node:crypto';
import { decodeJwt, SignJWT } from 'jose';
import { relyingParty, RelyingPartyError } from './oidc.mjs';
import { answerInMode, canary, sendJson, startServer } from './server.mjs';

/** TMP_ROBOT_TOKEN_VALIDITY_LIFETIME_S */
const ROBOT_TOKEN_SECONDS = 3600;

/**
 * @param {{ robots?: Record<string, Array<{ issuer: string, subject: string, audiences?: string[] }>>, slowMs?: number }} [opts]
 *   robots: by full name (`<org>+<robot>`), the federation entries.
 */
export async function startQuay(opts = {}) {
  const rp = relyingParty({ algorithms: ['RS256', 'RS384'], keyTypes: ['RSA'] });
  const signingKey = randomBytes(32);
  const state = {
    robots: opts.robots ?? {},
    /** 'ok' | 'deny' | 'down' | 'throttle' | 'slow' | 'garbage' */
    mode: 'ok',
    garbage: 'html',
    retryAfter: 7,
    slowMs: opts.slowMs ?? 6000,
    canary: canary('quay'),
    calls: 0,
    /** { robot, token, header, payload } */
    accepted: [],
    /** { reason, message } */
    refused: [],
    /** Robot tokens handed out. */
    issued: [],
  };

  const refuse = (res, reason, message) => {
    state.refused.push({ reason, message });
    sendJson(res, 401, { error: `${message} (${state.canary})` });
  };

  async function federate(req, res) {
    const m = /^Basic (\S+)$/.exec(String(req.headers.authorization ?? ''));
    if (!m) return refuse(res, 'missing', 'missing auth');
    const decoded = Buffer.from(m[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return refuse(res, 'missing', 'Invalid basic auth header');
    const username = decoded.slice(0, colon);
    const token = decoded.slice(colon + 1);
    if (!/^[^+]+\+[^+]+$/.test(username)) return refuse(res, 'robot', 'Invalid robot');
    const entries = state.robots[username];
    if (!entries) return refuse(res, 'robot', 'Could not find robot with specified username');
    if (state.mode === 'deny') return refuse(res, 'deny', 'denied (mode)');

    let iss;
    try {
      iss = decodeJwt(token).iss;
    } catch {
      return refuse(res, 'malformed', 'Invalid token: not a JWT');
    }
    if (!iss) return refuse(res, 'issuer', 'Token does not contain issuer');
    if (entries.length === 0) return refuse(res, 'issuer', 'Robot does not have federated login configured');
    const matched = entries.filter((e) => e.issuer === iss);
    if (matched.length === 0) return refuse(res, 'issuer', `issuer ${iss} not configured for this robot`);
    const audiences = matched
      .map((e) => e.audiences)
      .filter((a) => a?.length)
      .at(-1);

    let verified;
    try {
      verified = await rp.verify(token, { issuer: iss, ...(audiences ? { audience: audiences } : {}) });
    } catch (err) {
      if (!(err instanceof RelyingPartyError)) throw err;
      return refuse(res, err.reason, `Invalid token: ${err.message}`);
    }
    if (!matched.some((e) => e.subject === verified.payload.sub)) return refuse(res, 'sub', 'Token does not match robot');

    state.accepted.push({ robot: username, token, header: verified.header, payload: verified.payload });
    const now = Math.floor(Date.now() / 1000);
    const robotToken = await new SignJWT({ context: { kind: 'robot', robot: username } })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuer('quay')
      .setAudience('quay')
      .setSubject(username)
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(now + ROBOT_TOKEN_SECONDS)
      .sign(signingKey);
    state.issued.push(robotToken);
    return sendJson(res, 200, { token: robotToken });
  }

  function answer(req, _body, res) {
    if (req.method !== 'GET' || new URL(req.url ?? '/', 'http://x').pathname !== '/oauth2/federation/robot/token') {
      return sendJson(res, 404, { error: 'not found' });
    }
    state.calls++;
    const run = () => federate(req, res).catch((err) => sendJson(res, 500, { error: String(err) }));
    return answerInMode(
      server,
      state,
      res,
      {
        down: { error: `Internal Server Error (${state.canary})` },
        throttle: { error: `slow_down (${state.canary})` },
        garbage: { 'no-token': { note: state.canary }, 'not-jwt': { token: state.canary } },
      },
      run,
    );
  }

  const server = await startServer(answer);
  return { url: server.url, state, rp, stop: server.stop };
}
