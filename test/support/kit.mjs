// The test fixture kit, one for every suite (workerd and Node alike, and the bench): a
// cluster with real keys, its service-account tokens shaped like the API server's
// TokenRequest output, the kubelet's request, a trust record for the cluster, and an admin
// client. Only jose, fetch and WebCrypto: it runs wherever the edge's tests run.
import { exportJWK, generateKeyPair, SignJWT } from 'jose';

export const AUDIENCE = 'edge-credential-provider';
export const API_VERSION = 'credentialprovider.kubelet.k8s.io/v1';
/** The registry every default rule names. */
export const REGISTRY = 'registry.test:5000';
export const DEFAULT_UID = '11111111-2222-3333-4444-555555555555';
const POD_UID = '99999999-8888-7777-6666-555555555555';
const NODE = { name: 'node-1', uid: 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee' };

/** Claims of a token bound to a pod of `namespace/serviceAccount`; see kit.d.mts. */
export function serviceAccountClaims(o) {
  const namespace = o.namespace ?? 'team-a';
  const serviceAccount = o.serviceAccount ?? 'builder';
  const now = o.now ?? Math.floor(Date.now() / 1000);
  const pod = o.pod === undefined ? { name: `${serviceAccount}-pod`, uid: POD_UID } : o.pod;
  const node = o.node === undefined ? NODE : o.node;
  return {
    iss: o.issuer,
    sub: `system:serviceaccount:${namespace}:${serviceAccount}`,
    aud: [o.audience ?? AUDIENCE],
    iat: now,
    nbf: now,
    exp: now + (o.lifetime ?? 3600),
    jti: crypto.randomUUID(),
    'kubernetes.io': {
      namespace,
      serviceaccount: { name: serviceAccount, uid: o.uid ?? DEFAULT_UID },
      ...(pod ? { pod } : {}),
      ...(node ? { node } : {}),
    },
  };
}

/** Signs claims as a cluster issuer does (header alg, kid, typ JWT). */
export function signServiceAccountToken(claims, key) {
  return new SignJWT(claims).setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT' }).sign(key.privateKey);
}

let counter = 0;

/** A cluster issuer with an RS256 (RSA-2048) and an ES256 key; see kit.d.mts. */
export async function makeCluster(opts = {}) {
  const n = ++counter;
  const issuer = opts.issuer ?? `https://cluster-${n}-${crypto.randomUUID().slice(0, 8)}.k8s.test`;
  const pair = async (alg, kid) => {
    const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
    return { privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
  };
  const rsa = await pair('RS256', `rsa-${n}`);
  const ec = await pair('ES256', `ec-${n}`);
  const cluster = {
    issuer,
    rsa,
    ec,
    jwks: { keys: [rsa.jwk, ec.jwk] },
    token(t = {}) {
      const claims = serviceAccountClaims({ ...t, issuer: t.issuer ?? issuer });
      for (const [k, v] of Object.entries(t.claims ?? {})) {
        if (v === undefined) delete claims[k];
        else claims[k] = v;
      }
      const alg = t.alg ?? 'RS256';
      const key = alg === 'RS256' ? rsa : ec;
      return signServiceAccountToken(claims, { privateKey: t.signingKey ?? key.privateKey, alg, kid: t.kid ?? key.jwk.kid });
    },
  };
  return cluster;
}

/** What the kubelet writes on the plugin's stdin (and the plugin forwards) in service-account mode. */
export function kubeletRequest(image, token, opts = {}) {
  return {
    apiVersion: opts.apiVersion ?? API_VERSION,
    kind: 'CredentialProviderRequest',
    image,
    ...(token ? { serviceAccountToken: token } : {}),
    serviceAccountAnnotations: opts.annotations ?? {},
  };
}

/** A trust record for the cluster, keys inline: team-a may pull team-a/* from REGISTRY, unless overridden. */
export function trustRecord(cluster, overrides = {}) {
  return {
    issuer: cluster.issuer,
    audiences: [AUDIENCE],
    keys: { type: 'inline', jwks: cluster.jwks },
    rules: [{ name: 'team-a-pull', namespaces: ['team-a'], registry: REGISTRY, repositories: ['team-a/*'], actions: ['pull'] }],
    ...overrides,
  };
}

/**
 * The admin API, through `send(path, init)` (exports.default.fetch in workerd, or fetch to a
 * running edge). Methods answer the raw Response; `put` and `must` helpers throw on failure.
 */
export function adminClient(send, adminToken) {
  const call = (path, init = {}) =>
    send(`/admin/v1${path}`, {
      ...init,
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json', ...init.headers },
    });
  const json = (method, path, body) => call(path, { method, body: JSON.stringify(body) });
  return {
    put: (name, record) => json('PUT', `/issuers/${name}`, record),
    get: (name) => call(`/issuers/${name}`),
    delete: (name) => call(`/issuers/${name}`, { method: 'DELETE' }),
    revoke: (name, revocation) => json('POST', `/issuers/${name}/revocations`, revocation),
    explain: (body) => json('POST', '/explain', body),
    /** PUT that must succeed (200 or 201); answers the stored record. */
    async register(name, record) {
      const res = await json('PUT', `/issuers/${name}`, record);
      if (res.status !== 200 && res.status !== 201) throw new Error(`PUT ${name}: ${res.status} ${await res.text()}`);
      return res.json();
    },
  };
}

/** An admin client for an edge started by test/support/edge.mjs. */
export const edgeAdmin = (edge) => adminClient((path, init) => fetch(`${edge.url}${path}`, init), edge.adminToken);
