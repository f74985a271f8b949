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
//
// Two options make it the token service of a real distribution registry, as Harbor's is:
// - `registryTokens: { issuer, key }` (key from scripts/lib/keys.mjs generateSigningKey()):
//   the token is a registry bearer token (ES256, header kid = the key's libtrust id; claims
//   iss, sub = the robot, aud = the `service` parameter as a string, exp, nbf, iat, jti,
//   access) that a registry with `auth.token { realm: <url>/service/token, service, issuer,
//   rootcertbundle: key.certificate }` accepts. Without it the token is random and opaque.
// - `robotSecrets: { '<robot name>': '<secret>' }`: upstream Harbor's robot accounts with a
//   static secret (Basic name:secret). A project robot (`robot$<project>+<name>`) may pull and
//   push in its project, a system robot (`robot$<name>`) in every project; the token grants
//   the requested actions within that, and nothing else (Harbor narrows, it does not refuse).
// Only GET is answered (the token service's one method); a POST is counted in state.posts and
// answered 404, after which containerd retries with GET.
import { randomBytes, randomUUID } from 'node:crypto';
import { decodeJwt, importJWK, SignJWT } from 'jose';
import { relyingParty, RelyingPartyError } from './oidc.mjs';
import { canary, sendJson, startServer } from './server.mjs';

/** Seconds a token lives: Harbor's default token expiration (30 minutes). */
const TOKEN_TTL = 1800;
/** What a robot with a secret may do in its projects (the test's setup pushes with one). */
const ROBOT_ACTIONS = ['pull', 'push'];

/**
 * @param {{ providers?: Array<{ openidConfigurationUrl: string }>, robots?: Array<{ name: string, claimRules: Record<string, string>, projects: string[] }>,
 *   registryTokens?: { issuer: string, key: { kid: string, privateJwk: import('jose').JWK } }, robotSecrets?: Record<string, string> }} [opts]
 */
export async function startHarbor(opts = {}) {
  const rp = relyingParty({ algorithms: ['RS256', 'ES256'] });
  const signingKey = opts.registryTokens ? await importJWK({ ...opts.registryTokens.key.privateJwk, alg: 'ES256' }, 'ES256') : undefined;
  const state = {
    providers: opts.providers ?? [],
    robots: opts.robots ?? [],
    robotSecrets: opts.robotSecrets ?? {},
    /** 'ok' | 'deny' | 'down' */
    mode: 'ok',
    canary: canary('harbor'),
    calls: 0,
    /** POSTs to the token endpoint (an OAuth2 password grant, which Harbor does not serve). */
    posts: 0,
    /** { robot, username, scope, payload } (payload: the verified workload token; none for a robot secret) */
    accepted: [],
    refused: [],
  };

  const refuse = (res, reason, username) => {
    state.refused.push({ reason, ...(username === undefined ? {} : { username }) });
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
    if (Object.hasOwn(state.robotSecrets, username)) return robotToken(url, res, username, jwt);
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
    if (!robot) return refuse(res, 'claims', username);
    const scope = url.searchParams.get('scope') ?? '';
    const [, name, project] = /^repository:(([^/]+)\/[^:]+):pull$/.exec(scope) ?? [];
    if (!name || !project || !robot.projects.includes(project)) return refuse(res, 'scope', username);
    state.accepted.push({ robot: robot.name, username, scope, payload: verified.payload });
    return issue(res, url, robot.name, [{ type: 'repository', name, actions: ['pull'] }]);
  }

  /** A robot account with a static secret: what it asked for, within its projects. */
  function robotToken(url, res, username, secret) {
    if (state.robotSecrets[username] !== secret) return refuse(res, 'secret', username);
    const own = /^robot\$([^+]+)\+/.exec(username)?.[1]; // a project robot; a system robot has none
    const access = [];
    for (const scope of url.searchParams.getAll('scope')) {
      const m = /^repository:(([^/]+)\/[^:]+):([a-z,*]+)$/.exec(scope);
      if (!m || (own && m[2] !== own)) continue;
      const actions = m[3].split(',').filter((a) => ROBOT_ACTIONS.includes(a));
      if (actions.length) access.push({ type: 'repository', name: m[1], actions });
    }
    state.accepted.push({ robot: username, username, scope: url.searchParams.getAll('scope').join(' ') });
    return issue(res, url, username, access);
  }

  /** The answer to a granted request: a registry token when registryTokens is set, else an opaque one. */
  async function issue(res, url, subject, access) {
    const now = Math.floor(Date.now() / 1000);
    const t = signingKey
      ? await new SignJWT({ access })
          .setProtectedHeader({ alg: 'ES256', typ: 'JWT', kid: opts.registryTokens.key.kid })
          .setIssuer(opts.registryTokens.issuer)
          .setSubject(subject)
          .setAudience(url.searchParams.get('service') ?? '') // a string: distribution 2.8 rejects an array
          .setIssuedAt(now)
          .setNotBefore(now)
          .setExpirationTime(now + TOKEN_TTL)
          .setJti(randomUUID())
          .sign(signingKey)
      : randomBytes(32).toString('hex');
    return sendJson(res, 200, { token: t, access_token: t, expires_in: TOKEN_TTL, issued_at: new Date(now * 1000).toISOString() });
  }

  function answer(req, _body, res) {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (req.method === 'POST' && path === '/service/token') state.posts++;
    if (req.method !== 'GET' || path !== '/service/token') return sendJson(res, 404, { errors: [{ code: 'NOT_FOUND' }] });
    state.calls++;
    if (state.mode === 'down') return sendJson(res, 500, { errors: [{ code: 'UNKNOWN', message: state.canary }] });
    if (state.mode === 'deny') return refuse(res, 'deny');
    return token(req, res).catch((err) => sendJson(res, 500, { errors: [{ code: 'UNKNOWN', message: String(err) }] }));
  }

  const server = await startServer(answer);
  return { url: server.url, state, rp, stop: server.stop };
}
