// Bench fixtures, made fresh per run: a cluster issuer with real RS256 and ES256 keys, real
// signed service-account tokens shaped like the API server's TokenRequest output, trust
// records (one of them federating with Cloudsmith), a loopback OIDC server that counts how
// often its documents are fetched, and the loopback Cloudsmith of the tests.
import { createServer } from 'node:http';
import { exportJWK, generateKeyPair } from 'jose';
import { kubeletRequest as sharedKubeletRequest, putTrustRecord as sharedPutTrustRecord } from '../../test/support/issuer-server.mjs';
import { AUDIENCE, serviceAccountClaims, signServiceAccountToken } from '../../test/support/kit.mjs';
import { startCloudsmith } from '../../test/support/vendors/cloudsmith.mjs';

export { AUDIENCE };
export const REGISTRY = 'registry.bench:5000';
export const IMAGE = `${REGISTRY}/team-a/app:v1`;
export const SERVICE = REGISTRY; // a rule without `service` uses the registry host

let counter = 0;

/** A cluster issuer with one RSA-2048 (RS256) and one P-256 (ES256) key. */
export async function makeIssuer(issuer = `https://cluster-${++counter}.bench.test`) {
  const rsa = await generateKeyPair('RS256', { extractable: true, modulusLength: 2048 });
  const ec = await generateKeyPair('ES256', { extractable: true });
  const rsaJwk = { ...(await exportJWK(rsa.publicKey)), kid: 'rsa-1', alg: 'RS256', use: 'sig' };
  const ecJwk = { ...(await exportJWK(ec.publicKey)), kid: 'ec-1', alg: 'ES256', use: 'sig' };
  return { issuer, rsa: { privateKey: rsa.privateKey, jwk: rsaJwk }, ec: { privateKey: ec.privateKey, jwk: ecJwk }, jwks: { keys: [rsaJwk, ecJwk] } };
}

/**
 * A service-account token as a kubelet's TokenRequest returns it: 1 h, audience array,
 * kubernetes.io claim with pod and node. `i` varies the pod (and jti) so tokens differ.
 */
export async function saToken(iss, { alg = 'RS256', i = 0, now = Math.floor(Date.now() / 1000), lifetime = 3600 } = {}) {
  const key = alg === 'RS256' ? iss.rsa : iss.ec;
  const claims = serviceAccountClaims({
    issuer: iss.issuer,
    uid: '0b4a7c1e-7e0e-4f5e-9d8c-1a2b3c4d5e6f',
    pod: { name: `builder-7f9c-${String(i).padStart(5, '0')}`, uid: crypto.randomUUID() },
    node: { name: 'node-1', uid: '9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a' },
    now,
    lifetime,
  });
  return signServiceAccountToken(claims, { privateKey: key.privateKey, alg, kid: key.jwk.kid });
}

/** `n` distinct tokens (distinct pods), signed with `alg`. */
export async function saTokens(iss, n, alg) {
  return Promise.all(Array.from({ length: n }, (_, i) => saToken(iss, { alg, i })));
}

/**
 * A trust record with one rule granting team-a pulls on the bench registry, and 4 rules
 * before it that do not match (a record a real cluster would have: a few teams).
 * @param {object} keys the record's key source
 */
export function trustRecord(iss, keys, name = 'bench') {
  const other = (t) => ({ name: `team-${t}-pull`, namespaces: [`team-${t}`], registry: REGISTRY, repositories: [`team-${t}/*`], actions: ['pull'] });
  return {
    name,
    issuer: iss.issuer,
    audiences: [AUDIENCE],
    keys,
    rules: [
      other('x'),
      other('y'),
      other('z'),
      other('w'),
      { name: 'team-a-pull', namespaces: ['team-a'], registry: REGISTRY, repositories: ['team-a/*'], actions: ['pull'] },
    ],
  };
}

export const inlineKeys = (iss) => ({ type: 'inline', jwks: iss.jwks });

/** The Cloudsmith organisation and service account the bench federates with, and the registry it serves. */
export const CLOUDSMITH = { organization: 'acme', serviceAccount: 'puller', registry: 'docker.cloudsmith.io' };
export const UPSTREAM_IMAGE = `${CLOUDSMITH.registry}/acme/team-a/app:v1`;

/**
 * trustRecord's shape (5 rules, the last one matching team-a), but the matching rule federates
 * with the Cloudsmith at `endpoint` (a loopback URL: the schema allows http for loopback only).
 */
export function federatedTrustRecord(iss, keys, endpoint, name = 'bench-cs') {
  const record = trustRecord(iss, keys, name);
  record.rules[record.rules.length - 1] = {
    name: 'team-a-cloudsmith',
    namespaces: ['team-a'],
    registry: CLOUDSMITH.registry,
    repositories: ['acme/team-a/*'],
    upstream: { type: 'cloudsmith', organization: CLOUDSMITH.organization, serviceAccount: CLOUDSMITH.serviceAccount, endpoint },
  };
  return record;
}

/**
 * The loopback Cloudsmith of the tests (test/support/vendors/cloudsmith.mjs), with the
 * organisation and service account above and no provider setting yet: trustEdge adds one
 * once the edge's URL is known. It verifies each workload token by fetching the edge's
 * discovery document and JWKS, and counts its calls (state.calls).
 * @param {{ delayMs?: number }} [o] delayMs: answer each call only after this long (its 'slow' mode)
 */
export async function startBenchCloudsmith({ delayMs } = {}) {
  const cs = await startCloudsmith({ organizations: { [CLOUDSMITH.organization]: { serviceAccounts: [CLOUDSMITH.serviceAccount], providers: [] } } });
  if (delayMs !== undefined) Object.assign(cs.state, { mode: 'slow', slowMs: delayMs });
  return cs;
}

/** Lets team-a's `builder` under record `record` of the edge at `edgeUrl` (its EDGE_ISSUER) log in to `cs`. */
export function trustEdge(cs, edgeUrl, record) {
  cs.state.organizations[CLOUDSMITH.organization].providers.push({
    providerUrl: edgeUrl,
    requiredClaims: { sub: `${record}:team-a:builder`, aud: cs.url },
    serviceAccounts: [CLOUDSMITH.serviceAccount],
  });
}

/** The kubelet's CredentialProviderRequest body, as the plugin forwards it. */
export const kubeletRequest = (token, image = IMAGE) => sharedKubeletRequest(token, image);

/** PUT a trust record through the admin API, under `name` whatever the record says. */
export const putTrustRecord = (edge, name, record) => sharedPutTrustRecord(edge, name, { ...record, name });

/**
 * A loopback OIDC issuer: serves `<url>/.well-known/openid-configuration` and
 * `<url>/openid/v1/jwks` for `iss` (whose `issuer` becomes this server's URL) and counts
 * every request per path. `delayMs` holds each answer back, like a distant API server,
 * so that a burst really arrives while the first fetch is in flight.
 */
export async function startOidcServer(iss, { delayMs = 50 } = {}) {
  const counts = { discovery: 0, jwks: 0, other: 0 };
  const server = createServer((req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    const send = (body) => setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body)), delayMs);
    if (path === '/.well-known/openid-configuration') {
      counts.discovery++;
      send({
        issuer: iss.issuer,
        jwks_uri: `${url}/openid/v1/jwks`,
        response_types_supported: ['id_token'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['RS256', 'ES256'],
      });
    } else if (path === '/openid/v1/jwks') {
      counts.jwks++;
      send(iss.jwks);
    } else {
      counts.other++;
      res.writeHead(404).end();
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}`;
  iss.issuer = url;
  return {
    url,
    counts,
    jwksUri: `${url}/openid/v1/jwks`,
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections?.();
        server.close(resolve);
      }),
  };
}
