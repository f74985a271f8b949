/**
 * Public, unauthenticated endpoints: health and readiness, the edge's public signing keys, the
 * certificate bundle a registry's `auth.token.rootcertbundle` needs, and the OpenID Connect
 * discovery document that makes the edge an identity provider for registry vendors (upstream/).
 */
import type { Context } from 'hono';
import { Hono } from './hono';
import { loadConfig } from '../config';
import { type EdgeError, NotConfigured, NotFound, StoreUnavailable } from '../errors';
import { logEvent } from '../log';
import { oidcIssuerProblem } from '../net';
import { loadKeyRing } from '../signing/keys';
import { keys } from '../store/kv';
import type { AppEnv } from './types';

/** The public key documents and discovery: cacheable for 5 minutes. */
const cacheFiveMinutes = (c: Context) => c.header('Cache-Control', 'public, max-age=300');

function toPem(base64Der: string): string {
  return `-----BEGIN CERTIFICATE-----\n${base64Der.match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----\n`;
}

export const wellKnown = new Hono<AppEnv>()
  .get('/healthz', (c) => {
    loadConfig(c.env); // a misconfigured edge is not healthy: 503 ERR_NOT_CONFIGURED
    return c.json({ ok: true });
  })
  // For an uptime monitor: the settings parse (as /healthz), KV answers (a read of a key that is
  // never written; null is an answer), the signing keys load. ok or not, nothing else: the
  // reason goes to the error log (ERR_STORE_UNAVAILABLE for KV, ERR_NOT_CONFIGURED for the keys).
  .get('/readyz', async (c) => {
    loadConfig(c.env);
    const ok = await Promise.all([c.env.TRUST.get(keys.ready), loadKeyRing(c.env.EDGE_SIGNING_KEYS)]).then(
      () => true,
      (err: Partial<EdgeError>) => {
        logEvent('error', { path: '/readyz', code: err.code ?? StoreUnavailable.code, detail: err.detail });
        return false;
      },
    );
    return c.json({ ok }, ok ? 200 : 503, { 'Cache-Control': 'no-store' });
  })
  // The OpenID Connect JWKS that registry vendors trust: workload-token keys only.
  .get('/.well-known/jwks.json', async (c) => {
    const ring = await loadKeyRing(c.env.EDGE_SIGNING_KEYS);
    cacheFiveMinutes(c);
    return c.json(ring.jwks);
  })
  // The keys registries verify registry tokens with (distribution 3.x `auth.token.jwks`): never in the OIDC JWKS.
  .get('/.well-known/registry-jwks.json', async (c) => {
    const ring = await loadKeyRing(c.env.EDGE_SIGNING_KEYS);
    cacheFiveMinutes(c);
    return c.json(ring.registryJwks);
  })
  .get('/.well-known/openid-configuration', async (c) => {
    const { edgeIssuer } = loadConfig(c.env);
    const problem = oidcIssuerProblem(edgeIssuer);
    if (problem) {
      throw new NotConfigured({
        detail: problem,
        message: "EDGE_ISSUER must be the edge's https origin for it to serve as an OpenID Connect provider",
      });
    }
    const ring = await loadKeyRing(c.env.EDGE_SIGNING_KEYS);
    cacheFiveMinutes(c);
    return c.json({
      issuer: edgeIssuer,
      jwks_uri: `${edgeIssuer.replace(/\/+$/, '')}/.well-known/jwks.json`,
      response_types_supported: ['id_token'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: [...(ring.workload ? ['ES256'] : []), ...(ring.rsa ? ['RS256'] : [])],
      claims_supported: ['iss', 'sub', 'aud', 'exp', 'iat', 'nbf', 'jti', 'record', 'cluster', 'namespace', 'service_account', 'service_account_uid'],
    });
  })
  .get('/.well-known/registry-certs.pem', async (c) => {
    const ring = await loadKeyRing(c.env.EDGE_SIGNING_KEYS);
    // Active key first, then the retiring ones: the registry must trust all of them
    // until tokens signed by a retiring key have expired.
    const certs = ring.keys.flatMap((k) => (k.certificate ? [k.certificate] : []));
    if (certs.length === 0) throw new NotFound({ detail: 'the key ring has no certificates' });
    c.header('Content-Type', 'application/x-pem-file');
    cacheFiveMinutes(c);
    return c.body(certs.map(toPem).join(''));
  });
