/**
 * POST /v1/credentials: the kubelet's CredentialProviderRequest in (forwarded by the exec
 * plugin), a CredentialProviderResponse out with the same apiVersion and only the fields
 * the kubelet defines (it decodes strictly). parse → decide → mint → respond; one audit
 * line per request. Denials are 4xx with a stable code.
 */
import { Hono } from 'hono';
import { decide, type Decision } from '../decide';
import { BadRequest, EdgeError, UnsupportedApiVersion } from '../errors';
import { CredentialProviderRequestSchema, credentialProviderResponse, isSupportedRequest } from '../kubelet';
import { logEnabled, logEvent, tokenFingerprint, type LogFields } from '../log';
import { mintCredential } from '../registry/credential';
import { loadKeyRing } from '../signing/keys';
import { readJsonBody } from './body';
import type { AppEnv } from './types';

/** The audit line's description of a decision: who, what, which rule; never a secret. */
function auditFields(d: Decision | undefined): LogFields {
  if (!d) return {};
  const w = d.workload;
  return {
    issuer: w?.cluster ?? (d.granted ? undefined : d.issuer),
    record: w?.record,
    namespace: w?.namespace,
    serviceAccount: w?.serviceAccount.name,
    serviceAccountUid: w?.serviceAccount.uid,
    pod: w?.pod?.name,
    image: d.image ? `${d.image.registry}/${d.image.repository}` : undefined,
    rule: d.granted ? d.rule.name : undefined,
    revocation: d.granted ? undefined : d.revocation,
  };
}

export const credentials = new Hono<AppEnv>().post('/v1/credentials', async (c) => {
  const config = c.get('config');
  const started = Date.now();
  const now = Math.floor(started / 1000);
  let decision: Decision | undefined;
  let token: string | undefined;
  try {
    const parsed = CredentialProviderRequestSchema.safeParse(await readJsonBody(c.req.raw));
    if (!parsed.success) throw new BadRequest({ detail: 'request does not match CredentialProviderRequest' });
    const req = parsed.data;
    if (!isSupportedRequest(req)) {
      throw new UnsupportedApiVersion({ detail: `apiVersion ${req.apiVersion.slice(0, 80)} kind ${req.kind.slice(0, 40)}` });
    }
    if (req.serviceAccountToken && logEnabled()) token = await tokenFingerprint(req.serviceAccountToken);

    decision = await decide(
      { token: req.serviceAccountToken, image: req.image, annotations: req.serviceAccountAnnotations ?? {} },
      { kv: c.env.TRUST, fetch: (...a) => fetch(...a), waitUntil: (p) => c.executionCtx.waitUntil(p), jwksCooldownMs: config.jwksCooldownMs, now },
    );
    if (!decision.granted) throw decision.error;

    const minted = await mintCredential(await loadKeyRing(c.env.EDGE_SIGNING_KEYS), {
      edgeIssuer: config.edgeIssuer,
      workload: decision.workload,
      registry: decision.image.registry,
      service: decision.service,
      rule: decision.rule.name,
      grants: decision.grants,
      ttl: decision.ttl,
      now,
    });
    logEvent('exchange', { outcome: 'granted', ...auditFields(decision), ttl: decision.ttl, credential: minted.id, token, ms: Date.now() - started });
    return c.json(credentialProviderResponse(req.apiVersion, decision.cacheKeyType, decision.ttl, decision.image.registry, minted));
  } catch (err) {
    if (err instanceof EdgeError) {
      logEvent('exchange', { outcome: 'denied', ...auditFields(decision), code: err.code, reason: err.detail, token, ms: Date.now() - started });
    }
    throw err;
  }
});
