/**
 * Who may use the admin API, and how much (scopes: policy/admin-scope.ts):
 *
 *   Authorization: Bearer <ADMIN_TOKEN>          every action, every record   principal "token:admin"
 *   Authorization: Bearer <ADMIN_READ_TOKEN>     read, every record           principal "token:read"
 *   Authorization: Bearer <ADMIN_TOKEN_<NAME>>   its ADMIN_SCOPES.tokens scope principal "token:<name>"
 *   Cf-Access-Jwt-Assertion: <Access token>      every action if its email (or service token's
 *                                                common name) is in ACCESS_WRITERS; else its
 *                                                ADMIN_SCOPES.access scope, else that of "*",
 *                                                else read everything     principal "access:<email>"
 *
 * Tokens are compared in constant time. An Access token is verified against the team's
 * published keys (`<team>/cdn-cgi/access/certs`), RS256, `iss` = the team domain, `aud` = the
 * application's AUD tag, `exp`. A request that presents an Access token is judged by it alone:
 * an invalid one is refused even with a valid bearer beside it. Fail closed: half-configured
 * Access, malformed ADMIN_SCOPES, or no credential configured at all, is 503 ERR_NOT_CONFIGURED.
 */
import { createRemoteJWKSet, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { decodeJwt } from '../identity/decode';
import { claimProblem, verifyJwtSignature } from '../identity/jwt';
import type { MiddlewareHandler } from 'hono';
import { loadConfig, type AccessSettings } from '../config';
import type { Env } from '../env';
import { NotConfigured, Unauthorized } from '../errors';
import {
  type Action,
  type AdminScopes,
  type CompiledScope,
  compileScopes,
  EVERYTHING,
  outOfScope,
  permits,
  READ_EVERYTHING,
  SCOPED_TOKEN_PREFIX,
  tokenPrincipal,
} from '../policy/admin-scope';
import type { AppEnv } from './types';

export interface Principal {
  /** For the audit log: "token:admin", "token:read", "token:<name>" or "access:<email or common name>". Never a secret. */
  id: string;
  scope: CompiledScope;
}

/** Refuses (403, naming the action and record) unless the principal may do `action` to `record`. */
export function requireScope(principal: Principal, action: Action, record: string): void {
  if (!permits(principal.scope, action, record)) throw outOfScope(principal.id, action, record);
}

const compiled = new WeakMap<object, AdminScopes | NotConfigured>();
/** ADMIN_SCOPES for these bindings, compiled once per env object (as config.ts parses settings). */
function scopesOf(env: Env, writers: string[]): AdminScopes {
  let result = compiled.get(env);
  if (!result) {
    try {
      result = compileScopes(env.ADMIN_SCOPES, Object.keys(env), writers);
    } catch (err) {
      if (!(err instanceof NotConfigured)) throw err;
      result = err;
    }
    compiled.set(env, result);
  }
  if (result instanceof NotConfigured) throw result;
  return result;
}

/** How long an Access token may be past `exp`, seconds: Access and Workers clocks agree closely. */
const ACCESS_CLOCK_SKEW = 30;

const encoder = new TextEncoder();
const sha256 = (s: string) => crypto.subtle.digest('SHA-256', encoder.encode(s));

/** Constant-time: both sides are hashed to equal length before comparing. */
async function tokenMatches(given: string, expected: string | undefined): Promise<boolean> {
  if (!expected) return false;
  const [a, b] = await Promise.all([sha256(given), sha256(expected)]);
  return crypto.subtle.timingSafeEqual(a, b);
}

// One key set per team, per isolate: jose caches the keys and refetches on an unknown kid.
const teamKeys = new Map<string, JWTVerifyGetKey>();
function accessKeys(teamDomain: string): JWTVerifyGetKey {
  let keys = teamKeys.get(teamDomain);
  if (!keys) {
    keys = createRemoteJWKSet(new URL(`${teamDomain}/cdn-cgi/access/certs`), { timeoutDuration: 3000 });
    teamKeys.set(teamDomain, keys);
  }
  return keys;
}

async function accessPrincipal(token: string, access: AccessSettings, scopes: AdminScopes): Promise<Principal> {
  let payload: JWTPayload;
  try {
    payload = decodeJwt(token);
    await verifyJwtSignature(token, accessKeys(access.teamDomain), ['RS256']);
  } catch (err) {
    throw new Unauthorized({ detail: `Access token refused: ${(err as { code?: string }).code ?? 'unverifiable'}` });
  }
  const expected = { issuer: access.teamDomain, audiences: [access.aud], required: ['exp', 'sub'] as const, skew: ACCESS_CLOCK_SKEW };
  const problem = claimProblem(payload, expected, Math.floor(Date.now() / 1000));
  if (problem) throw new Unauthorized({ detail: `Access token refused: ${problem}` });
  // Users carry `email`; service tokens `common_name` (their client id).
  const who = typeof payload.email === 'string' ? payload.email : typeof payload.common_name === 'string' ? payload.common_name : undefined;
  if (!who) throw new Unauthorized({ detail: 'Access token names no email or common_name' });
  const key = who.toLowerCase();
  const scope = access.writers.includes(key) ? EVERYTHING : (scopes.access.get(key) ?? scopes.access.get('*') ?? READ_EVERYTHING);
  return { id: `access:${who}`, scope };
}

/** The bearer's principal, if it is one of the tokens; every configured token is compared. */
async function tokenPrincipalOf(bearer: string, env: Env, scopes: AdminScopes): Promise<Principal | undefined> {
  const bindings = env as unknown as Record<string, unknown>;
  const candidates: Array<[string | undefined, Principal]> = [
    [env.ADMIN_TOKEN, { id: 'token:admin', scope: EVERYTHING }],
    [env.ADMIN_READ_TOKEN, { id: 'token:read', scope: READ_EVERYTHING }],
  ];
  for (const [name, scope] of scopes.tokens) {
    const secret = bindings[SCOPED_TOKEN_PREFIX + name];
    if (typeof secret === 'string') candidates.push([secret, { id: tokenPrincipal(name), scope }]);
  }
  const matches = await Promise.all(candidates.map(([secret]) => tokenMatches(bearer, secret)));
  return candidates[matches.indexOf(true)]?.[1];
}

function challenge(c: Parameters<MiddlewareHandler<AppEnv>>[0]): void {
  c.header('WWW-Authenticate', 'Bearer realm="edge-credential-provider admin"');
}

/** Sets `admin` (the principal) or refuses; each route then checks its scope (requireScope). */
export const requireAdmin: MiddlewareHandler<AppEnv> = async (c, next) => {
  const { access, accessProblem } = loadConfig(c.env);
  if (accessProblem) throw new NotConfigured({ detail: accessProblem });
  const scopes = scopesOf(c.env, access?.writers ?? []);
  const named = Object.entries(c.env).some(([binding, value]) => binding.startsWith(SCOPED_TOKEN_PREFIX) && value); // each has a scope (scopesOf)
  if (!c.env.ADMIN_TOKEN && !c.env.ADMIN_READ_TOKEN && !access && !named)
    throw new NotConfigured({ detail: 'no ADMIN_TOKEN, ADMIN_READ_TOKEN, ADMIN_TOKEN_<NAME> or Access settings' });

  const assertion = c.req.header('cf-access-jwt-assertion');
  let principal: Principal | undefined;
  if (assertion !== undefined) {
    if (!access) {
      challenge(c);
      throw new Unauthorized({ detail: 'an Access token, but Access is not configured' });
    }
    principal = await accessPrincipal(assertion, access, scopes);
  } else {
    const bearer = /^Bearer\s+(\S+)$/i.exec(c.req.header('authorization') ?? '')?.[1];
    if (bearer) principal = await tokenPrincipalOf(bearer, c.env, scopes);
  }
  if (!principal) {
    challenge(c);
    throw new Unauthorized();
  }
  c.set('admin', principal);
  await next();
};
