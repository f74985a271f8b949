/** The Worker's bindings: wrangler.toml [vars], KV and the admin writer, plus secrets. Parsed by config.ts. */
import type { AdminWriter } from './store/writer';

export interface Env {
  /** Trust records, revocations and cached issuer JWKS (see docs/storage-schema.md). */
  TRUST: KVNamespace;
  /** The admin writer (src/store/writer.ts): every admin change goes through it; the exchange never does. */
  ADMIN_WRITER?: DurableObjectNamespace<AdminWriter>;
  /** `iss` of the credentials and registry tokens this edge signs. Default "edge-credential-provider". */
  EDGE_ISSUER?: string;
  /** `iss` of registry bearer tokens (registry `auth.token.issuer`). Default `<EDGE_ISSUER>/registry-token`. */
  REGISTRY_TOKEN_ISSUER?: string;
  /** Secret: JSON key ring, see src/signing/keys.ts and `npm run keys`. */
  EDGE_SIGNING_KEYS?: string;
  /** Secret: bearer token for /admin/v1/*, read and write. */
  ADMIN_TOKEN?: string;
  /** Secret: bearer token for /admin/v1/*, read only (CI diffs, dashboards). */
  ADMIN_READ_TOKEN?: string;
  /**
   * JSON: the scopes of named tokens (secrets `ADMIN_TOKEN_<NAME>`) and of Access identities,
   * e.g. `{"tokens":{"TEAM_A":{"records":["team-a-*"],"actions":["read","write"]}}}`
   * (src/policy/admin-scope.ts, docs/security.md). Default: none (only the global principals).
   */
  ADMIN_SCOPES?: string;
  /** Cloudflare Access team domain (`https://<team>.cloudflareaccess.com`) in front of the admin API. */
  ACCESS_TEAM_DOMAIN?: string;
  /** The Access application's AUD tag. Required with ACCESS_TEAM_DOMAIN. */
  ACCESS_AUD?: string;
  /** Comma-separated emails or service-token common names that may change records. Default: none (read only). */
  ACCESS_WRITERS?: string;
  /** Seconds after a JWKS fetch before an unknown `kid` may trigger another. Default 30. */
  JWKS_COOLDOWN_SECONDS?: string;
  /** "on" or "off": write audit lines (decisions, admin changes; off e.g. in benchmarks). Errors are written regardless. Default on. */
  AUDIT_LOG?: string;
  /** Workers Analytics Engine dataset for metrics (docs/observability.md). Optional: absent, no metrics. */
  METRICS?: AnalyticsEngineDataset;
  /**
   * "on" or "off": whether upstream endpoint overrides may name any https (or loopback http)
   * origin, for tests and local fakes. Default off: only the vendors' own hosts. Never set it
   * in wrangler.toml; tests and `.dev.vars` set it (docs/upstreams.md).
   */
  ALLOW_ENDPOINT_OVERRIDES?: string;
}
