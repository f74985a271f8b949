/**
 * A test cluster issuer: real key pairs (RS256 and ES256) and real signed service-account
 * tokens shaped like the API server's TokenRequest output, plus admin-API helpers.
 */
import { env, exports } from 'cloudflare:workers';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import { AUDIENCE, serviceAccountClaims, signServiceAccountToken } from '../sa-token.mjs';

export { AUDIENCE };
export const ADMIN = () => ({ authorization: `Bearer ${env.ADMIN_TOKEN}` });

export interface TestIssuer {
  issuer: string;
  rsa: { privateKey: CryptoKey; jwk: JWK };
  ec: { privateKey: CryptoKey; jwk: JWK };
  jwks: { keys: JWK[] };
}

let counter = 0;

export async function makeIssuer(issuer = `https://cluster-${++counter}-${crypto.randomUUID().slice(0, 8)}.k8s.test`): Promise<TestIssuer> {
  const rsa = await generateKeyPair('RS256', { extractable: true });
  const ec = await generateKeyPair('ES256', { extractable: true });
  const rsaJwk = { ...(await exportJWK(rsa.publicKey)), kid: `rsa-${counter}`, alg: 'RS256', use: 'sig' };
  const ecJwk = { ...(await exportJWK(ec.publicKey)), kid: `ec-${counter}`, alg: 'ES256', use: 'sig' };
  return {
    issuer,
    rsa: { privateKey: rsa.privateKey, jwk: rsaJwk },
    ec: { privateKey: ec.privateKey, jwk: ecJwk },
    jwks: { keys: [rsaJwk, ecJwk] },
  };
}

export interface TokenOptions {
  namespace?: string;
  serviceAccount?: string;
  uid?: string;
  alg?: 'RS256' | 'ES256';
  kid?: string;
  /** Claims to override or (with undefined) remove. */
  claims?: Record<string, unknown>;
  /** Seconds since the epoch. Default: now. */
  now?: number;
  lifetime?: number;
  signingKey?: CryptoKey;
}

export function now(): number {
  return Math.floor(Date.now() / 1000);
}

export async function saToken(iss: TestIssuer, opts: TokenOptions = {}): Promise<string> {
  const alg = opts.alg ?? 'RS256';
  const claims: Record<string, unknown> = serviceAccountClaims({
    issuer: iss.issuer,
    namespace: opts.namespace,
    serviceAccount: opts.serviceAccount,
    uid: opts.uid,
    now: opts.now ?? now(),
    lifetime: opts.lifetime,
  });
  for (const [k, v] of Object.entries(opts.claims ?? {})) {
    if (v === undefined) delete claims[k];
    else claims[k] = v;
  }
  const key = opts.signingKey ?? (alg === 'RS256' ? iss.rsa.privateKey : iss.ec.privateKey);
  const kid = opts.kid ?? (alg === 'RS256' ? iss.rsa.jwk.kid : iss.ec.jwk.kid);
  return signServiceAccountToken(claims, { privateKey: key, alg, kid });
}

export function defaultRecord(iss: TestIssuer, overrides: Record<string, unknown> = {}) {
  return {
    issuer: iss.issuer,
    audiences: [AUDIENCE],
    keys: { type: 'inline', jwks: iss.jwks },
    rules: [
      { name: 'team-a-pull', namespaces: ['team-a'], registry: 'registry.test:5000', repositories: ['team-a/*'], actions: ['pull'] },
    ],
    ...overrides,
  };
}

export function edgeFetch(path: string, init?: RequestInit): Promise<Response> {
  return exports.default.fetch(new Request(`https://edge.test${path}`, init));
}

export async function putRecord(name: string, record: unknown): Promise<Response> {
  return edgeFetch(`/admin/v1/issuers/${name}`, {
    method: 'PUT',
    headers: { ...ADMIN(), 'content-type': 'application/json' },
    body: JSON.stringify(record),
  });
}

export function credentialRequest(token: string | undefined, image = 'registry.test:5000/team-a/app:v1', extra: Record<string, unknown> = {}) {
  return {
    apiVersion: 'credentialprovider.kubelet.k8s.io/v1',
    kind: 'CredentialProviderRequest',
    image,
    ...(token ? { serviceAccountToken: token } : {}),
    serviceAccountAnnotations: {},
    ...extra,
  };
}

export function postCredentials(body: unknown): Promise<Response> {
  return edgeFetch('/v1/credentials', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}
