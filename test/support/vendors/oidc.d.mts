import type { JWTPayload, ProtectedHeaderParameters } from 'jose';

export type RefusalReason = 'malformed' | 'unreachable' | 'issuer' | 'alg' | 'kid' | 'signature' | 'iss' | 'aud' | 'exp' | 'nbf' | 'iat' | 'sub' | 'claims';

export declare class RelyingPartyError extends Error {
  readonly reason: RefusalReason;
  constructor(reason: RefusalReason, message: string);
}

export interface Verified {
  payload: JWTPayload & Record<string, unknown>;
  header: ProtectedHeaderParameters;
}

export interface RelyingParty {
  /** Discovery documents and JWKS fetched so far. */
  counts: { discovery: number; jwks: number };
  verify(token: string, expect: { issuer: string; audience?: string | string[] }): Promise<Verified>;
  forget(): void;
}

export declare function relyingParty(opts: { algorithms: string[]; clockTolerance?: number; keyTypes?: string[] }): RelyingParty;
