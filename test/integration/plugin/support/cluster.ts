/**
 * A pretend cluster for the real-edge tests: an RS256 key pair, service-account tokens
 * signed with it (claims shaped like the API server's TokenRequest output) and the trust
 * record that registers it with the edge through the admin API, keys inline.
 */
import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import { AUDIENCE, serviceAccountClaims, signServiceAccountToken } from '../../../support/sa-token.mjs';

export { AUDIENCE };
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
  const sa = opts.serviceAccount ?? 'builder';
  const claims = serviceAccountClaims({
    issuer: cluster.issuer,
    namespace: opts.namespace,
    serviceAccount: sa,
    pod: { name: `${sa}-7d9f8`, uid: '99999999-8888-7777-6666-555555555555' },
    audience: opts.audience,
    now: opts.issuedAt,
    lifetime: opts.lifetime,
  });
  return signServiceAccountToken(claims, { privateKey: cluster.privateKey, alg: 'RS256', kid: cluster.jwk.kid });
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
