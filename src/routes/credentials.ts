/**
 * POST /v1/credentials: the kubelet's CredentialProviderRequest in (forwarded by the exec
 * plugin), a CredentialProviderResponse out with the same apiVersion and only the fields
 * the kubelet defines (it decodes strictly). Denials are 4xx with a stable code.
 */
import { Hono } from 'hono';
import { z } from 'zod';
import { DEFAULT_EDGE_ISSUER } from '../env';
import { BadRequest, EdgeError, PolicyDenied, UnsupportedApiVersion } from '../errors';
import { authorize, type ExchangeTrace } from '../exchange';
import { auditEnabled, logEvent, tokenFingerprint } from '../log';
import { credentialLifetime, mintCredential } from '../registry/credential';
import { loadKeyRing } from '../signing/keys';
import { readJsonBody } from './body';
import type { AppEnv } from './types';

export const API_VERSIONS = [
  'credentialprovider.kubelet.k8s.io/v1',
  'credentialprovider.kubelet.k8s.io/v1beta1',
  'credentialprovider.kubelet.k8s.io/v1alpha1',
] as const;

export const CredentialProviderRequestSchema = z.object({
  apiVersion: z.string(),
  kind: z.string(),
  image: z.string().max(4096),
  serviceAccountToken: z.string().max(16 * 1024).optional(),
  serviceAccountAnnotations: z.record(z.string().max(317), z.string().max(64 * 1024)).optional(),
});

/** Go's time.Duration.String() for whole seconds: 3300 → "55m0s", 30 → "30s". */
export function goDuration(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (h) return `${h}h${m}m${s}s`;
  if (m) return `${m}m${s}s`;
  return `${s}s`;
}

/**
 * The kubelet stops using a cached credential this long before it expires, so a pull that
 * starts just before expiry still completes: 10% of the lifetime, at least 30 s, at most 5 min.
 */
export function cacheSeconds(ttl: number): number {
  const margin = Math.min(300, Math.max(30, Math.floor(ttl / 10)));
  return Math.max(0, ttl - margin);
}

export const credentials = new Hono<AppEnv>().post('/v1/credentials', async (c) => {
  const started = Date.now();
  const now = Math.floor(started / 1000);
  const trace: ExchangeTrace = {};
  let tokenFp: string | undefined;
  try {
    const parsed = CredentialProviderRequestSchema.safeParse(await readJsonBody(c.req.raw));
    if (!parsed.success) throw new BadRequest({ detail: 'request does not match CredentialProviderRequest' });
    const req = parsed.data;
    if (!(API_VERSIONS as readonly string[]).includes(req.apiVersion) || req.kind !== 'CredentialProviderRequest') {
      throw new UnsupportedApiVersion({ detail: `apiVersion ${req.apiVersion.slice(0, 80)} kind ${req.kind.slice(0, 40)}` });
    }
    if (req.serviceAccountToken && auditEnabled(c.env)) tokenFp = await tokenFingerprint(req.serviceAccountToken);

    const { identity, image, decision, compiled } = await authorize(
      { token: req.serviceAccountToken, image: req.image, annotations: req.serviceAccountAnnotations ?? {} },
      { env: c.env, waitUntil: (p) => c.executionCtx.waitUntil(p), now },
      trace,
    );
    if (!decision.allowed) throw new PolicyDenied({ detail: decision.trace.map((t) => `${t.rule}: ${t.reason}`).join('; ') || 'no rules' });

    // The credential never outlives the identity proof it was minted from.
    const ttl = credentialLifetime(decision.rule.ttl, identity.expiresAt, now);
    const ring = await loadKeyRing(c.env.EDGE_SIGNING_KEYS);
    const minted = await mintCredential(ring, {
      edgeIssuer: c.env.EDGE_ISSUER ?? DEFAULT_EDGE_ISSUER,
      identity: {
        cluster: identity.issuer,
        namespace: identity.namespace,
        serviceaccount: identity.serviceAccount,
        ...(identity.pod ? { pod: identity.pod } : {}),
      },
      registry: image.registry,
      service: decision.service,
      rule: decision.rule.name,
      grants: decision.grants,
      ttl,
      now,
    });
    logEvent(c.env, 'exchange', {
      outcome: 'granted', ...trace, rule: decision.rule.name, record: compiled.record.name, ttl, token: tokenFp, ms: Date.now() - started,
    });
    return c.json({
      apiVersion: req.apiVersion,
      kind: 'CredentialProviderResponse',
      cacheKeyType: compiled.record.cacheKeyType,
      cacheDuration: goDuration(cacheSeconds(ttl)),
      auth: { [image.registry]: { username: minted.username, password: minted.password } },
    });
  } catch (err) {
    if (err instanceof EdgeError) {
      logEvent(c.env, 'exchange', { outcome: 'denied', ...trace, code: err.code, reason: err.detail, token: tokenFp, ms: Date.now() - started });
    }
    throw err;
  }
});
