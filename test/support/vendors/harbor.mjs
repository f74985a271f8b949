// A loopback Harbor token service with federated robot accounts, as the 8gears build of Harbor
// documents them ("Workload Identity Federation": a federated identity provider given by its
// OpenID configuration URL, robot accounts with claim rules; `docker login -u <any> -p <JWT>`):
//
//   GET /service/token?service=harbor-registry&scope=repository:<project>/<repo>:pull
//       Authorization: Basic base64("<any>:<JWT>")
//   200 {"token", "access_token", "expires_in", "issued_at"}
//   401 {"errors": [{"code": "UNAUTHORIZED", "message"}]}
//
// The JWT is verified against the provider's discovery document and JWKS (oidc.mjs; RS256 or
// ES256), then a federated robot whose claim rules all equal the token's claims is chosen
// (the username is ignored, as 8gears does); the scope's project must be one of the robot's.
// The edge never calls Harbor: docker does, with what the edge handed the kubelet. Modes:
// state.mode 'down' (500) and 'deny' (401), to show the edge does not depend on them.
import { randomBytes } from 'node:crypto';
import { decodeJwt } from 'jose';
import { relyingParty, RelyingPartyError } from './oidc.mjs';
import { canary, sendJson, startServer } from './server.mjs';

/**
 * @param {{ providers?: Array<{ openidConfigurationUrl: string }>, robots?: Array<{ name: string, claimRules: Record<string, string>, projects: string[] }> }} [opts]
 */
export async function startHarbor(opts = {}) {
  const rp = relyingParty({ algorithms: ['RS256', 'ES256'] });
  const state = {
    providers: opts.providers ?? [],
    robots: opts.robots ?? [],
    /** 'ok' | 'deny' | 'down' */
    mode: 'ok',
    canary: canary('harbor'),
    calls: 0,
    /** { robot, username, scope, payload } */
    accepted: [],
    refused: [],
  };

  const refuse = (res, reason) => {
    state.refused.push({ reason });
    sendJson(res, 401, { errors: [{ code: 'UNAUTHORIZED', message: `unauthorized to access repository (${state.canary})` }] });
  };

  async function token(req, res) {
    const url = new URL(req.url ?? '/', 'http://x');
    const m = /^Basic (\S+)$/.exec(String(req.headers.authorization ?? ''));
    if (!m) return refuse(res, 'missing');
    const decoded = Buffer.from(m[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    const username = decoded.slice(0, colon);
    const jwt = decoded.slice(colon + 1);
    let iss;
    try {
      iss = decodeJwt(jwt).iss;
    } catch {
      return refuse(res, 'malformed');
    }
    // A provider is configured by its OpenID configuration URL; its issuer is what that document names.
    const provider = state.providers.find((p) => p.openidConfigurationUrl === `${String(iss).replace(/\/+$/, '')}/.well-known/openid-configuration`);
    if (!provider) return refuse(res, 'issuer');
    let verified;
    try {
      const audiences = state.robots.map((r) => r.claimRules.aud).filter(Boolean);
      verified = await rp.verify(jwt, { issuer: iss, ...(audiences.length ? { audience: audiences } : {}) });
    } catch (err) {
      if (!(err instanceof RelyingPartyError)) throw err;
      return refuse(res, err.reason);
    }
    const robot = state.robots.find((r) =>
      Object.entries(r.claimRules).every(([claim, want]) => {
        const got = verified.payload[claim];
        return Array.isArray(got) ? got.includes(want) : got === want;
      }),
    );
    if (!robot) return refuse(res, 'claims');
    const scope = url.searchParams.get('scope') ?? '';
    const project = /^repository:([^/]+)\/[^:]+:pull$/.exec(scope)?.[1];
    if (!project || !robot.projects.includes(project)) return refuse(res, 'scope');
    state.accepted.push({ robot: robot.name, username, scope, payload: verified.payload });
    const t = randomBytes(32).toString('hex');
    return sendJson(res, 200, { token: t, access_token: t, expires_in: 1800, issued_at: new Date().toISOString() });
  }

  function answer(req, _body, res) {
    if (req.method !== 'GET' || new URL(req.url ?? '/', 'http://x').pathname !== '/service/token')
      return sendJson(res, 404, { errors: [{ code: 'NOT_FOUND' }] });
    state.calls++;
    if (state.mode === 'down') return sendJson(res, 500, { errors: [{ code: 'UNKNOWN', message: state.canary }] });
    if (state.mode === 'deny') return refuse(res, 'deny');
    return token(req, res).catch((err) => sendJson(res, 500, { errors: [{ code: 'UNKNOWN', message: String(err) }] }));
  }

  const server = await startServer(answer);
  return { url: server.url, state, rp, stop: server.stop };
}
