export declare const AUDIENCE: string;
export interface ServiceAccountClaimOptions {
  issuer: string;
  namespace?: string;
  serviceAccount?: string;
  uid?: string;
  pod?: { name: string; uid: string } | null;
  node?: { name: string; uid: string } | null;
  audience?: string;
  now?: number;
  lifetime?: number;
}
export declare function serviceAccountClaims(o: ServiceAccountClaimOptions): Record<string, unknown> & { iss: string; sub: string; exp: number };
export declare function signServiceAccountToken(
  claims: Record<string, unknown>,
  key: { privateKey: CryptoKey; alg: string; kid?: string },
): Promise<string>;
