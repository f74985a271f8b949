/**
 * The trust record at run time: its bounds and defaults, and the few functions the exchange
 * needs. No zod: the exchange imports this, and the record's schema (policy/schema.ts) loads
 * only where a record is checked (the admin API, an unsealed read: store/kv.ts).
 */
import type { Rule } from './schema';

/** Asymmetric algorithms a Kubernetes API server can sign with. Never `none`, never HS*. */
export const SA_TOKEN_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;

/** Credential lifetime bounds: registries assume tokens live >= 60 s; 12 h caps the blast radius. */
export const MIN_CREDENTIAL_TTL = 60;
export const MAX_CREDENTIAL_TTL = 12 * 60 * 60;
export const DEFAULT_CREDENTIAL_TTL = 60 * 60;
/** Kubernetes' default bound token lives 1 h; 24 h is generous and still bounded. */
export const DEFAULT_MAX_TOKEN_LIFETIME = 24 * 60 * 60;

/**
 * Issuers are parts of KV keys (src/store/kv.ts), percent-encoded. KV keys are at most 512
 * bytes and our longest key prefix is under 100, so an issuer may take 400. An issuer that
 * is not well-formed UTF-16 (a lone surrogate) cannot be encoded at all.
 */
export const MAX_ISSUER_KEY_BYTES = 400;
export function issuerStorable(issuer: string): boolean {
  return issuer.isWellFormed() && encodeURIComponent(issuer).length <= MAX_ISSUER_KEY_BYTES;
}

/** The registry token-auth `service` a rule's credentials are for. */
export const ruleService = (rule: Pick<Rule, 'service' | 'registry'>): string => rule.service ?? rule.registry;
