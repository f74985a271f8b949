/**
 * Who may use the admin API, and how much:
 *
 *   Authorization: Bearer <ADMIN_TOKEN>        read and write      principal "token:admin"
 *   Authorization: Bearer <ADMIN_READ_TOKEN>   read only           principal "token:read"
 *   Cf-Access-Jwt-Assertion: <Access token>    read; write if its email (or service token's
 *                                              common name) is in ACCESS_WRITERS
 *                                                                  principal "access:<email>"
 *
 * Tokens are compared in constant time. An Access token is verified against the team's
 * published keys (`<team>/cdn-cgi/access/certs`), RS256, `iss` = the team domain, `aud` = the
 * application's AUD tag, `exp`. A request that presents an Access token is judged by it alone:
 * an invalid one is refused even with a valid bearer beside it. Fail closed: half-configured
 * Access, or no credential configured at all, is 503 ERR_NOT_CONFIGURED.
 */
import { createRemoteJWKSet, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { decodeJwt } from '../identity/decode';
import { claimProblem, verifyJwtSignature } from '../identity/jwt';
import type { MiddlewareHandler } from 'hono';
import { loadConfig, type AccessSettings } from '../config';
import { Forbidden, NotConfigured, Unauthorized } from '../errors';
import type { AppEnv } from './types';

export interface Principal {
  /** For the audit log: "token:admin", "token:read" or "access:<email or common name>". Never a secret. */
  id: string;
  write: boolean;
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

async function accessPrincipal(token: string, access: AccessSettings): Promise<Principal> {
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
  return { id: `access:${who}`, write: access.writers.includes(who.toLowerCase()) };
}

function challenge(c: Parameters<MiddlewareHandler<AppEnv>>[0]): void {
  c.header('WWW-Authenticate', 'Bearer realm="edge-credential-provider admin"');
}

/** Sets `admin` (the principal) or refuses. Reads are allowed to every principal; see requireWrite. */
export const requireAdmin: MiddlewareHandler<AppEnv> = async (c, next) => {
  const { access, accessProblem } = loadConfig(c.env);
  if (accessProblem) throw new NotConfigured({ detail: accessProblem });
  if (!c.env.ADMIN_TOKEN && !c.env.ADMIN_READ_TOKEN && !access) throw new NotConfigured({ detail: 'no ADMIN_TOKEN, ADMIN_READ_TOKEN or Access settings' });

  const assertion = c.req.header('cf-access-jwt-assertion');
  let principal: Principal | undefined;
  if (assertion !== undefined) {
    if (!access) {
      challenge(c);
      throw new Unauthorized({ detail: 'an Access token, but Access is not configured' });
    }
    principal = await accessPrincipal(assertion, access);
  } else {
    const bearer = /^Bearer\s+(\S+)$/i.exec(c.req.header('authorization') ?? '')?.[1];
    if (bearer && (await tokenMatches(bearer, c.env.ADMIN_TOKEN))) principal = { id: 'token:admin', write: true };
    else if (bearer && (await tokenMatches(bearer, c.env.ADMIN_READ_TOKEN))) principal = { id: 'token:read', write: false };
  }
  if (!principal) {
    challenge(c);
    throw new Unauthorized();
  }
  c.set('admin', principal);
  await next();
};

/** For routes that change state: the principal must be allowed to write. */
export const requireWrite: MiddlewareHandler<AppEnv> = async (c, next) => {
  const principal = c.get('admin');
  if (!principal?.write) throw new Forbidden({ detail: `${principal?.id ?? 'nobody'} may only read` });
  await next();
};
