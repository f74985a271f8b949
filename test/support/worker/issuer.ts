/**
 * A test cluster issuer: real key pairs (RS256 and ES256) and real signed service-account
 * tokens shaped like the API server's TokenRequest output, plus admin-API helpers.
 */
import { env, exports } from 'cloudflare:workers';
import { exportJWK, generateKeyPair, SignJWT, type JWK, type JWTPayload } from 'jose';

export const AUDIENCE = 'edge-credential-provider';
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
  const ns = opts.namespace ?? 'team-a';
  const sa = opts.serviceAccount ?? 'builder';
  const t = opts.now ?? now();
  const alg = opts.alg ?? 'RS256';
  const claims: JWTPayload = {
    iss: iss.issuer,
    sub: `system:serviceaccount:${ns}:${sa}`,
    aud: [AUDIENCE],
    iat: t,
    nbf: t,
    exp: t + (opts.lifetime ?? 3600),
    jti: crypto.randomUUID(),
    'kubernetes.io': {
      namespace: ns,
      serviceaccount: { name: sa, uid: opts.uid ?? '11111111-2222-3333-4444-555555555555' },
      pod: { name: `${sa}-pod`, uid: '99999999-8888-7777-6666-555555555555' },
      node: { name: 'node-1', uid: 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee' },
    },
  };
  for (const [k, v] of Object.entries(opts.claims ?? {})) {
    if (v === undefined) delete claims[k];
    else claims[k] = v;
  }
  const key = opts.signingKey ?? (alg === 'RS256' ? iss.rsa.privateKey : iss.ec.privateKey);
  const kid = opts.kid ?? (alg === 'RS256' ? iss.rsa.jwk.kid : iss.ec.jwk.kid);
  return new SignJWT(claims).setProtectedHeader({ alg, kid, typ: 'JWT' }).sign(key);
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
