// A loopback OIDC issuer for Node-side tests and benchmarks: real key pairs, a discovery
// document and a JWKS endpoint that count how often they are fetched, and real signed
// service-account tokens. Behaviour can be switched at run time (fail, swap keys).
import { createServer } from 'node:http';
import { exportJWK, generateKeyPair } from 'jose';
import { serviceAccountClaims, signServiceAccountToken } from './sa-token.mjs';

/**
 * @param {{ alg?: 'RS256'|'ES256' }} [opts]
 */
export async function startIssuer(opts = {}) {
  const alg = opts.alg ?? 'RS256';
  const makeKey = async (kid) => {
    const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
    return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
  };
  const state = {
    keys: [await makeKey('key-1')],
    counts: { discovery: 0, jwks: 0 },
    /** HTTP status to answer with instead of the documents, or 0 for normal. */
    failWith: 0,
    /** Override for the discovery document's `issuer` (to test mismatches). */
    discoveryIssuer: /** @type {string | undefined} */ (undefined),
  };
  const server = createServer((req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    if (path === '/.well-known/openid-configuration') state.counts.discovery++;
    else if (path === '/openid/v1/jwks') state.counts.jwks++;
    if (state.failWith) {
      res.writeHead(state.failWith).end('unavailable');
      return;
    }
    if (path === '/.well-known/openid-configuration') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({
        issuer: state.discoveryIssuer ?? issuer.url,
        jwks_uri: `${issuer.url}/openid/v1/jwks`,
        response_types_supported: ['id_token'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: [alg],
      }));
    } else if (path === '/openid/v1/jwks') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: state.keys.map((k) => k.jwk) }));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = {
    url: `http://127.0.0.1:${server.address().port}`,
    state,
    get jwksUri() { return `${issuer.url}/openid/v1/jwks`; },
    /** Adds a key (rotation) and returns its kid. */
    async addKey(kid) {
      state.keys.push(await makeKey(kid));
      return kid;
    },
    /**
     * @param {{ namespace?: string, serviceAccount?: string, audience?: string, kid?: string, lifetime?: number, now?: number }} [o]
     */
    async token(o = {}) {
      const ns = o.namespace ?? 'team-a';
      const sa = o.serviceAccount ?? 'builder';
      const key = state.keys.find((k) => k.kid === (o.kid ?? state.keys[0].kid)) ?? state.keys[0];
      const claims = serviceAccountClaims({
        issuer: issuer.url,
        namespace: ns,
        serviceAccount: sa,
        uid: '0b4a7c1e-7e0e-4f5e-9d8c-1a2b3c4d5e6f',
        pod: { name: `${sa}-7f9c`, uid: '5c3e2d1f-0a9b-4c8d-8e7f-6a5b4c3d2e1f' },
        node: { name: 'node-1', uid: '9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a' },
        audience: o.audience,
        now: o.now,
        lifetime: o.lifetime,
      });
      // An unknown kid is signed by a key the issuer never published.
      const privateKey = o.kid && !state.keys.some((k) => k.kid === o.kid) ? (await makeKey(o.kid)).privateKey : key.privateKey;
      return signServiceAccountToken(claims, { privateKey, alg, kid: o.kid ?? key.kid });
    },
    stop: () => new Promise((resolve) => server.close(resolve)),
  };
  return issuer;
}

/** A kubelet CredentialProviderRequest. */
export function kubeletRequest(token, image, apiVersion = 'credentialprovider.kubelet.k8s.io/v1') {
  return { apiVersion, kind: 'CredentialProviderRequest', image, serviceAccountToken: token, serviceAccountAnnotations: {} };
}

/** PUT a trust record through the admin API. */
export async function putTrustRecord(edge, name, record) {
  const res = await fetch(`${edge.url}/admin/v1/issuers/${name}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${edge.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify(record),
  });
  if (res.status !== 200 && res.status !== 201) throw new Error(`PUT ${name}: ${res.status} ${await res.text()}`);
  return res.json();
}
