/**
 * A pretend cluster for the real-edge tests: an RS256 key pair, service-account tokens
 * signed with it (claims shaped like the API server's TokenRequest output) and the trust
 * record that registers it with the edge through the admin API, keys inline.
 */
import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';

export const AUDIENCE = 'edge-credential-provider';
export const REGISTRY = 'registry.test:5000';

export interface Cluster {
  issuer: string;
  privateKey: CryptoKey;
  jwk: JWK;
}

export async function makeCluster(issuer = `https://cluster-${randomUUID().slice(0, 8)}.k8s.test`): Promise<Cluster> {
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(publicKey)), kid: `rsa-${randomUUID().slice(0, 8)}`, alg: 'RS256', use: 'sig' };
  return { issuer, privateKey, jwk };
}

export interface TokenOptions {
  namespace?: string;
  serviceAccount?: string;
  audience?: string;
  /** Seconds since the epoch the token was issued. Default: now. */
  issuedAt?: number;
  lifetime?: number;
}

export async function saToken(cluster: Cluster, opts: TokenOptions = {}): Promise<string> {
  const ns = opts.namespace ?? 'team-a';
  const sa = opts.serviceAccount ?? 'builder';
  const iat = opts.issuedAt ?? Math.floor(Date.now() / 1000);
  return new SignJWT({
    iss: cluster.issuer,
    sub: `system:serviceaccount:${ns}:${sa}`,
    aud: [opts.audience ?? AUDIENCE],
    iat,
    nbf: iat,
    exp: iat + (opts.lifetime ?? 3600),
    jti: randomUUID(),
    'kubernetes.io': {
      namespace: ns,
      serviceaccount: { name: sa, uid: '11111111-2222-3333-4444-555555555555' },
      pod: { name: `${sa}-7d9f8`, uid: '99999999-8888-7777-6666-555555555555' },
      node: { name: 'node-1', uid: 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee' },
    },
  })
    .setProtectedHeader({ alg: 'RS256', kid: cluster.jwk.kid, typ: 'JWT' })
    .sign(cluster.privateKey);
}

/** Registers the cluster with the edge: team-a may pull team-a/* from the test registry. */
export async function register(edge: { url: string; adminToken: string }, name: string, cluster: Cluster): Promise<void> {
  const res = await fetch(`${edge.url}/admin/v1/issuers/${name}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${edge.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      issuer: cluster.issuer,
      audiences: [AUDIENCE],
      keys: { type: 'inline', jwks: { keys: [cluster.jwk] } },
      rules: [{ name: 'team-a-pull', namespaces: ['team-a'], registry: REGISTRY, repositories: ['team-a/*'], actions: ['pull'] }],
    }),
  });
  if (res.status !== 201 && res.status !== 200) throw new Error(`registering ${name}: ${res.status} ${await res.text()}`);
}
