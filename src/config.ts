/**
 * The Worker's settings, parsed once per isolate from its bindings (octo-sts's envconfig):
 * an invalid value is a configuration error (503 ERR_NOT_CONFIGURED, logged), never
 * silently replaced by a default. Secrets (EDGE_SIGNING_KEYS, ADMIN_TOKEN) are parsed
 * where they are used (signing/keys.ts, routes/admin-auth.ts) so that a route that needs neither
 * works without them.
 */
import type { Env } from './env';
import { NotConfigured } from './errors';
import { configureLog } from './log';
import { DEFAULT_JWKS_COOLDOWN_MS } from './identity/jwks';
import { isHttpsOrLoopback } from './net';

/** `iss` of what the edge signs when EDGE_ISSUER is not set. */
export const DEFAULT_EDGE_ISSUER = 'edge-credential-provider';
/**
 * `iss` of registry tokens when REGISTRY_TOKEN_ISSUER is not set: EDGE_ISSUER plus this. An
 * issuer of their own, so that no vendor trusting EDGE_ISSUER for workload tokens matches a
 * registry token (and a vendor that fetched `<iss>/.well-known/openid-configuration` for it
 * would find nothing: the edge serves discovery at its root only).
 */
export const REGISTRY_TOKEN_ISSUER_SUFFIX = '/registry-token';
export const defaultRegistryTokenIssuer = (edgeIssuer: string) => `${edgeIssuer.replace(/\/+$/, '')}${REGISTRY_TOKEN_ISSUER_SUFFIX}`;
/** After a JWKS fetch, an unknown kid refetches only after this long, seconds. */
export const DEFAULT_JWKS_COOLDOWN_SECONDS = DEFAULT_JWKS_COOLDOWN_MS / 1000;

/**
 * Each setting: its longest value, and the form it must have. Checked by hand, not with a
 * schema: the settings are read on a fresh isolate's first request, and zod's first run costs
 * more than that whole request may (bench/FINDINGS.md, 11). Tested against the same table as before.
 */
const SETTINGS = {
  EDGE_ISSUER: { max: 2048 },
  REGISTRY_TOKEN_ISSUER: { max: 2048 },
  /** Seconds, as digits (Number() once checked). */
  JWKS_COOLDOWN_SECONDS: { max: 5, form: /^\d+$/, problem: 'must be a whole number of seconds' },
  AUDIT_LOG: { max: 3, form: /^(on|off)$/, problem: 'must be on or off' },
  ALLOW_ENDPOINT_OVERRIDES: { max: 3, form: /^(on|off)$/, problem: 'must be on or off' },
  ACCESS_TEAM_DOMAIN: { max: 2048 },
  ACCESS_AUD: { max: 1024 },
  ACCESS_WRITERS: { max: 16 * 1024 },
} satisfies Record<string, { max: number; form?: RegExp; problem?: string }>;
type Setting = keyof typeof SETTINGS;

/**
 * The settings that are set (an empty value is an unset one: a `KEY=` line in .dev.vars,
 * `KEY = ""` in wrangler.toml), or what is wrong with them.
 */
function readSettings(env: Env): Partial<Record<Setting, string>> | string[] {
  const values: Partial<Record<Setting, string>> = {};
  const problems: string[] = [];
  for (const [name, rule] of Object.entries(SETTINGS) as [Setting, { max: number; form?: RegExp; problem?: string }][]) {
    const value: unknown = env[name];
    if (value === undefined || value === '') continue;
    if (typeof value !== 'string') problems.push(`${name}: must be a string`);
    else if (value.length > rule.max) problems.push(`${name}: at most ${rule.max} characters`);
    else if (rule.form && !rule.form.test(value)) problems.push(`${name}: ${rule.problem}`);
    else values[name] = value;
  }
  return problems.length ? problems : values;
}

/** Cloudflare Access in front of the admin API (routes/admin-auth.ts). */
export interface AccessSettings {
  /** `https://<team>.cloudflareaccess.com`: the tokens' `iss`; keys at `/cdn-cgi/access/certs`. */
  teamDomain: string;
  /** The Access application's AUD tag: the tokens' `aud`. */
  aud: string;
  /** Emails (users) or common names (service tokens) that may change records, lowercase; everyone else reads. */
  writers: string[];
}

export interface Config {
  /** `iss` of credentials and workload tokens (the edge as an OpenID Connect provider). */
  edgeIssuer: string;
  /** `iss` of registry bearer tokens (the registry's `auth.token.issuer`). Default `<EDGE_ISSUER>/registry-token`. */
  registryTokenIssuer: string;
  /** Unknown-kid refetch cooldown, milliseconds. */
  jwksCooldownMs: number;
  /** Whether audit lines are written (AUDIT_LOG); errors always are. */
  log: boolean;
  /** Whether upstream endpoint overrides may name any origin (ALLOW_ENDPOINT_OVERRIDES=on), not only the vendors' own hosts. */
  allowEndpointOverrides: boolean;
  /** Access settings, when ACCESS_TEAM_DOMAIN and ACCESS_AUD are both set. */
  access?: AccessSettings;
  /**
   * What is wrong with the Access settings (one set without the other, a team domain that is
   * not https). Only the admin API depends on them, so only it fails (closed) on this.
   */
  accessProblem?: string;
}

function accessSettings(team: string | undefined, aud: string | undefined, writers: string | undefined): Pick<Config, 'access' | 'accessProblem'> {
  if (team === undefined && aud === undefined) return writers ? { accessProblem: 'ACCESS_WRITERS is set without ACCESS_TEAM_DOMAIN and ACCESS_AUD' } : {};
  if (team === undefined || aud === undefined) return { accessProblem: 'ACCESS_TEAM_DOMAIN and ACCESS_AUD must be set together' };
  if (!isHttpsOrLoopback(team)) return { accessProblem: 'ACCESS_TEAM_DOMAIN must be an https URL' };
  // Emails compare case-insensitively (Access may present `Alice@Example.com` for `alice@example.com`).
  const list = (writers ?? '')
    .split(',')
    .map((w) => w.trim().toLowerCase())
    .filter(Boolean);
  return { access: { teamDomain: team.replace(/\/+$/, ''), aud, writers: list } };
}

const parsed = new WeakMap<object, Config | NotConfigured>();

/** The settings for these bindings; throws NotConfigured (503) if one is invalid. */
export function loadConfig(env: Env): Config {
  let result = parsed.get(env);
  if (!result) {
    const s = readSettings(env);
    if (Array.isArray(s)) result = new NotConfigured({ detail: `invalid setting: ${s.join('; ')}` });
    else {
      const edgeIssuer = s.EDGE_ISSUER ?? DEFAULT_EDGE_ISSUER;
      result = {
        edgeIssuer,
        registryTokenIssuer: s.REGISTRY_TOKEN_ISSUER ?? defaultRegistryTokenIssuer(edgeIssuer),
        jwksCooldownMs: Number(s.JWKS_COOLDOWN_SECONDS ?? DEFAULT_JWKS_COOLDOWN_SECONDS) * 1000,
        log: s.AUDIT_LOG !== 'off',
        allowEndpointOverrides: s.ALLOW_ENDPOINT_OVERRIDES === 'on',
        ...accessSettings(s.ACCESS_TEAM_DOMAIN, s.ACCESS_AUD, s.ACCESS_WRITERS),
      };
    }
    parsed.set(env, result);
  }
  if (result instanceof NotConfigured) throw result;
  configureLog(result.log);
  return result;
}
