/**
 * The Worker's settings, parsed once per isolate from its bindings (octo-sts's envconfig):
 * an invalid value is a configuration error (503 ERR_NOT_CONFIGURED, logged), never
 * silently replaced by a default. Secrets (EDGE_SIGNING_KEYS, ADMIN_TOKEN) are parsed
 * where they are used (signing/keys.ts, routes/admin-auth.ts) so that a route that needs neither
 * works without them.
 */
import * as z from './zod';
import { deferred } from './zod';
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

/** An empty value is an unset one (a `KEY=` line in .dev.vars, `KEY = ""` in wrangler.toml): its default applies. */
const unsetIfEmpty = (v: unknown) => (v === '' ? undefined : v);

const SettingsSchema = deferred(() =>
  z.object({
    EDGE_ISSUER: z._default(z.string().check(z.maxLength(2048)), DEFAULT_EDGE_ISSUER),
    REGISTRY_TOKEN_ISSUER: z.optional(z.string().check(z.maxLength(2048))),
    /** Seconds, as digits (Number() once parsed). */
    JWKS_COOLDOWN_SECONDS: z._default(z.string().check(z.regex(/^\d{1,5}$/, 'must be a whole number of seconds')), `${DEFAULT_JWKS_COOLDOWN_SECONDS}`),
    AUDIT_LOG: z._default(z.enum(['on', 'off']), 'on'),
    ALLOW_ENDPOINT_OVERRIDES: z._default(z.enum(['on', 'off']), 'off'),
    ACCESS_TEAM_DOMAIN: z.optional(z.string().check(z.maxLength(2048))),
    ACCESS_AUD: z.optional(z.string().check(z.maxLength(1024))),
    ACCESS_WRITERS: z.optional(z.string().check(z.maxLength(16 * 1024))),
  }),
);

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
    const settings: Record<string, unknown> = {};
    for (const name in SettingsSchema.shape) settings[name] = unsetIfEmpty(env[name as keyof Env]);
    const r = SettingsSchema.safeParse(settings);
    if (r.success) {
      const s = r.data;
      result = {
        edgeIssuer: s.EDGE_ISSUER,
        registryTokenIssuer: s.REGISTRY_TOKEN_ISSUER ?? defaultRegistryTokenIssuer(s.EDGE_ISSUER),
        jwksCooldownMs: Number(s.JWKS_COOLDOWN_SECONDS) * 1000,
        log: s.AUDIT_LOG === 'on',
        allowEndpointOverrides: s.ALLOW_ENDPOINT_OVERRIDES === 'on',
        ...accessSettings(s.ACCESS_TEAM_DOMAIN, s.ACCESS_AUD, s.ACCESS_WRITERS),
      };
    } else {
      const fields = r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
      result = new NotConfigured({ detail: `invalid setting: ${fields}` });
    }
    parsed.set(env, result);
  }
  if (result instanceof NotConfigured) throw result;
  configureLog(result.log);
  return result;
}
