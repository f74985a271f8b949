/**
 * decide(): the edge's one decision, shared by POST /v1/credentials and the admin `explain`.
 *
 *   parse the image → read `iss` (unverified) → trust record + revocations (KV, isolate cache)
 *   → record enabled → issuer keys (inline / jwks_uri / discovery) → verify the token (pure)
 *   → revocations (pure) → rules (pure) → credential lifetime (pure)
 *
 * It returns a decision: granted with everything minting needs, or denied with the error
 * (stable code, status) and as much of the workload as was established, for the audit line
 * and for explain. It throws only when a dependency failed (KV, JWKS: 503), because that is
 * not an answer about the workload. I/O happens here; every check is a pure function.
 */
import { EdgeError, IssuerDisabled, PolicyDenied, Revoked, TokenMissing, UnknownIssuer } from './errors';
import { issuerKeys } from './identity/jwks';
import { readToken, verifyServiceAccountToken } from './identity/verify';
import type { Workload } from './identity/workload';
import type { CacheKeyType } from './kubelet';
import { credentialLifetime, evaluate, type RuleTrace } from './policy/evaluate';
import type { Grant } from './policy/grant';
import { describeRevocation, findRevocation } from './policy/revocation';
import type { Rule } from './policy/schema';
import { parseImageRef, type ImageRef } from './registry/image-ref';
import { issuerKeyStore } from './store/issuer-keys';
import { loadTrust } from './store/trust';

export interface ExchangeRequest {
  /** The pod's service-account token, if the kubelet sent one. */
  token: string | undefined;
  image: string;
  /** The service account's annotations, as the kubelet (or whoever calls) asserts them. */
  annotations: Record<string, string>;
}

export interface DecideDeps {
  kv: KVNamespace;
  fetch: typeof fetch;
  /** Work after the response (ctx.waitUntil): caching fetched keys in KV. */
  waitUntil: (p: Promise<unknown>) => void;
  /** Unknown-kid JWKS refetch cooldown, ms. */
  jwksCooldownMs: number;
  /** Seconds since the epoch. */
  now: number;
  /** Told the trust record's name as soon as it is found, also when decide then throws (metrics of a 503). */
  found?: (record: string) => void;
}

export interface Granted {
  granted: true;
  workload: Workload;
  image: ImageRef;
  rule: Rule;
  grants: Grant[];
  /** The registry's token-auth `service` name. */
  service: string;
  /** Credential lifetime, seconds: the rule's ttl, never past the token. */
  ttl: number;
  cacheKeyType: CacheKeyType;
  /** The record's vendorCacheEpoch (0 if unset): part of the vendor-credential cache key. */
  vendorCacheEpoch: number;
  trace: RuleTrace[];
}

export interface Denied {
  granted: false;
  error: EdgeError;
  code: string;
  /** The rules tried, when evaluation got that far. */
  trace: RuleTrace[];
  /** What was established before the denial. */
  issuer?: string;
  image?: ImageRef;
  workload?: Workload;
  /** The revocation entry that denied, described. */
  revocation?: string;
}

export type Decision = Granted | Denied;

export async function decide(req: ExchangeRequest, deps: DecideDeps): Promise<Decision> {
  const known: Omit<Denied, 'granted' | 'error' | 'code' | 'trace'> = {};
  let trace: RuleTrace[] = [];
  try {
    const image = parseImageRef(req.image);
    known.image = image;
    if (!req.token) throw new TokenMissing();
    const token = readToken(req.token);
    known.issuer = token.issuer;
    const trust = await loadTrust(deps.kv, token.issuer, deps.now);
    if (!trust) throw new UnknownIssuer();
    const { record } = trust.compiled;
    deps.found?.(record.name);
    if (record.disabled) throw new IssuerDisabled({ detail: `record ${record.name}` });

    const keys = await issuerKeys(record, { store: issuerKeyStore(deps.kv), fetch: deps.fetch, waitUntil: deps.waitUntil, cooldownMs: deps.jwksCooldownMs });
    const workload = await verifyServiceAccountToken(token, record, keys.getKey, deps.now);
    known.workload = workload;

    const revocation = findRevocation(trust.revocations, { workload }, deps.now);
    if (revocation) {
      known.revocation = describeRevocation(revocation);
      throw new Revoked({ detail: `revoked by ${known.revocation}` });
    }

    const evaluation = evaluate(trust.compiled, workload, req.annotations, image);
    trace = evaluation.trace;
    if (!evaluation.allowed) throw new PolicyDenied({ detail: trace.map((t) => `${t.rule}: ${t.reason}`).join('; ') || 'no rules' });
    const ttl = credentialLifetime(evaluation.rule.ttl, workload.expiresAt, deps.now);
    return {
      granted: true,
      workload,
      image,
      rule: evaluation.rule,
      grants: evaluation.grants,
      service: evaluation.service,
      ttl,
      cacheKeyType: record.cacheKeyType,
      vendorCacheEpoch: record.vendorCacheEpoch ?? 0,
      trace,
    };
  } catch (err) {
    if (err instanceof EdgeError && err.status < 500) return { granted: false, error: err, code: err.code, trace, ...known };
    throw err;
  }
}
