import type { JWK } from 'jose';

export declare const AUDIENCE: string;
export declare const API_VERSION: string;
export declare const REGISTRY: string;
export declare const DEFAULT_UID: string;

type NameUid = { name: string; uid: string };

export interface ServiceAccountClaimOptions {
  issuer: string;
  namespace?: string;
  serviceAccount?: string;
  uid?: string;
  /** Default: `<serviceAccount>-pod`; null leaves it out. */
  pod?: NameUid | null;
  /** Default: node-1; null leaves it out. */
  node?: NameUid | null;
  audience?: string;
  /** Seconds since the epoch the token is issued. Default: now. */
  now?: number;
  /** Seconds. Default 3600. */
  lifetime?: number;
}
export declare function serviceAccountClaims(o: ServiceAccountClaimOptions): Record<string, unknown> & { iss: string; sub: string; exp: number };
export declare function signServiceAccountToken(claims: Record<string, unknown>, key: { privateKey: CryptoKey; alg: string; kid?: string }): Promise<string>;

export interface TokenOptions extends Partial<ServiceAccountClaimOptions> {
  alg?: 'RS256' | 'ES256';
  kid?: string;
  /** Claims to override or (with undefined) remove. */
  claims?: Record<string, unknown>;
  /** Sign with this key instead of the cluster's. */
  signingKey?: CryptoKey;
}

export interface TestCluster {
  issuer: string;
  rsa: { privateKey: CryptoKey; jwk: JWK };
  ec: { privateKey: CryptoKey; jwk: JWK };
  jwks: { keys: JWK[] };
  token(opts?: TokenOptions): Promise<string>;
}
export declare function makeCluster(opts?: { issuer?: string }): Promise<TestCluster>;

export interface KubeletRequest {
  apiVersion: string;
  kind: 'CredentialProviderRequest';
  image: string;
  serviceAccountToken?: string;
  serviceAccountAnnotations: Record<string, string>;
}
export declare function kubeletRequest(
  image: string,
  token: string | undefined,
  opts?: { apiVersion?: string; annotations?: Record<string, string> },
): KubeletRequest;
export declare function trustRecord(cluster: { issuer: string; jwks: { keys: JWK[] } }, overrides?: Record<string, unknown>): Record<string, unknown>;

export interface AdminClient {
  put(name: string, record: unknown): Promise<Response>;
  get(name: string): Promise<Response>;
  delete(name: string): Promise<Response>;
  revoke(name: string, revocation: unknown): Promise<Response>;
  explain(body: unknown): Promise<Response>;
  register(name: string, record: unknown): Promise<Record<string, unknown>>;
}
export declare function adminClient(send: (path: string, init: RequestInit) => Promise<Response>, adminToken: string): AdminClient;
export declare function edgeAdmin(edge: { url: string; adminToken: string }): AdminClient;
