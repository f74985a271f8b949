/**
 * POST /v1/credentials: the kubelet's CredentialProviderRequest in (forwarded by the exec
 * plugin), a CredentialProviderResponse out with the same apiVersion and only the fields
 * the kubelet defines (it decodes strictly). parse → decide → mint → respond; one audit
 * line per request. Denials are 4xx with a stable code.
 */
import { Hono } from './hono';
import { loadConfig } from '../config';
import { decide, type Decision } from '../decide';
import { BadRequest, EdgeError, UnsupportedApiVersion } from '../errors';
import { cacheSeconds, credentialProviderResponse, isSupportedRequest, parseCredentialProviderRequest } from '../kubelet';
import { logEnabled, logEvent, tokenFingerprint, type LogFields } from '../log';
import { failed, metric, OK } from '../metrics';
import { mintCredential } from '../registry/credential';
import { loadCredentialKeys, loadKeyRing } from '../signing/keys';
import { expiryMargin } from '../upstream/cache';
import { federate } from '../upstream/federate';
import type { Upstream } from '../upstream/schema';
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

/** A string binding of the Worker by name (a `static` upstream's secret); KV and other bindings are not strings. */
function secretBinding(env: object, name: string): string | undefined {
  const value: unknown = (env as Record<string, unknown>)[name];
  return typeof value === 'string' ? value : undefined;
}

export const credentials = new Hono<AppEnv>().post('/v1/credentials', async (c) => {
  const config = loadConfig(c.env);
  const started = Date.now();
  const now = Math.floor(started / 1000);
  let decision: Decision | undefined;
  let token: string | undefined;
  // For the data points: the record once found, JWKS and discovery fetches, outcome and code; the upstream
  // once federation starts (whatever fails after that is the vendor call), and the requests it sent.
  let record: string | undefined;
  let fetches = 0;
  let result = OK;
  let upstream: Upstream | undefined;
  let vendorStarted = 0;
  let calls = 0;
  try {
    const req = parseCredentialProviderRequest(await readJsonBody(c.req.raw));
    if (!req) throw new BadRequest({ detail: 'request does not match CredentialProviderRequest' });
    if (!isSupportedRequest(req)) {
      throw new UnsupportedApiVersion({ detail: `apiVersion ${req.apiVersion.slice(0, 80)} kind ${req.kind.slice(0, 40)}` });
    }
    if (req.serviceAccountToken && logEnabled()) token = await tokenFingerprint(req.serviceAccountToken);

    decision = await decide(
      { token: req.serviceAccountToken, image: req.image, annotations: req.serviceAccountAnnotations ?? {} },
      {
        kv: c.env.TRUST,
        fetch: (...a) => {
          fetches++;
          return fetch(...a);
        },
        waitUntil: (p) => c.executionCtx.waitUntil(p),
        jwksCooldownMs: config.jwksCooldownMs,
        now,
        found: (r) => (record = r),
      },
    );
    if (!decision.granted) throw decision.error;

    upstream = decision.rule.upstream;
    if (upstream) {
      // Federated: the vendor's own credential, cached by the kubelet until shortly before it expires and never past the rule's ttl
      // (a Harbor workload token: 5 minutes less the margin; a static secret: the ttl).
      vendorStarted = Date.now();
      const vendor = await federate(upstream, decision.rule, decision.workload, {
        ring: await loadKeyRing(c.env.EDGE_SIGNING_KEYS),
        edgeIssuer: config.edgeIssuer,
        fetch: (...a) => {
          calls++;
          return fetch(...a);
        },
        now,
        clock: Date.now,
        cache: caches.default,
        secret: c.env.EDGE_SIGNING_KEYS!,
        waitUntil: (p) => c.executionCtx.waitUntil(p),
        secrets: (name) => secretBinding(c.env, name),
        allowEndpointOverrides: config.allowEndpointOverrides,
        cacheEpoch: decision.vendorCacheEpoch,
      });
      const remaining = vendor.expiresAt - now;
      const cacheFor = Math.min(cacheSeconds(decision.ttl), remaining - expiryMargin(remaining));
      logEvent('exchange', {
        outcome: 'granted',
        ...auditFields(decision),
        upstream: upstream.type,
        cache: Math.max(0, cacheFor),
        token,
        ms: Date.now() - started,
      });
      // The record's cacheKeyType, as for an edge credential: with Image (the default) the kubelet
      // asks again for an image it has not pulled, so the rule's `repositories` keeps deciding
      // which images get the vendor's credential (Registry would hand it to every image of the
      // registry). The vendor call is not repeated: the credential is cached per identity.
      return Response.json(credentialProviderResponse(req.apiVersion, decision.cacheKeyType, cacheFor, decision.image.registry, vendor));
    }

    const minted = await mintCredential(await loadCredentialKeys(c.env.EDGE_SIGNING_KEYS), {
      edgeIssuer: config.edgeIssuer,
      workload: decision.workload,
      registry: decision.image.registry,
      service: decision.service,
      rule: decision.rule.name,
      grants: decision.grants,
      ttl: decision.ttl,
      now,
    });
    if (logEnabled())
      logEvent('exchange', { outcome: 'granted', ...auditFields(decision), ttl: decision.ttl, credential: minted.id, token, ms: Date.now() - started });
    // The runtime's Response.json, not Hono's c.json (which builds its own headers first): the
    // warm path counts it (bench/FINDINGS.md). Nothing else sets a header on this route.
    return Response.json(credentialProviderResponse(req.apiVersion, decision.cacheKeyType, cacheSeconds(decision.ttl), decision.image.registry, minted));
  } catch (err) {
    if (err instanceof EdgeError) {
      logEvent('exchange', { outcome: 'denied', ...auditFields(decision), code: err.code, reason: err.detail, token, ms: Date.now() - started });
    }
    result = failed(err);
    throw err;
  } finally {
    const d = decision;
    // hit: no request went to the vendor (the isolate, the Cache API, a concurrent request); harbor and static never send one.
    const cache = upstream && !/^(harbor|static)$/.test(upstream.type) ? (calls ? 'miss' : 'hit') : undefined;
    const blobs = ['exchange', ...result, record, d?.granted ? d.rule.name : undefined, upstream?.type, d?.workload && d.image?.registry, cache];
    metric(c.env, blobs, Date.now() - started, fetches);
    blobs[0] = 'vendor';
    if (cache) metric(c.env, blobs, Date.now() - vendorStarted);
  }
});
