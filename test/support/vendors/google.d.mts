import type { JWTPayload, ProtectedHeaderParameters } from 'jose';
import type { RelyingParty } from './oidc.mjs';

export interface GoogleProvider {
  /** projects/N/locations/global/workloadIdentityPools/P/providers/X */
  name: string;
  issuer: string;
  /** Empty or absent: the provider's own resource name, with or without "https:". */
  allowedAudiences?: string[];
  disabled?: boolean;
}

export type GoogleMode = 'ok' | 'deny' | 'down' | 'throttle' | 'slow' | 'garbage';

export interface GoogleState {
  providers: GoogleProvider[];
  /** By e-mail: the members of roles/iam.workloadIdentityUser. */
  serviceAccounts: Record<string, { members: string[] }>;
  /** Seconds STS tokens live. */
  federatedLifetime: number;
  garbage: 'html' | 'no-token' | 'no-expiry';
  retryAfter: number;
  slowMs: number;
  canary: string;
  sts: {
    mode: GoogleMode;
    calls: number;
    refused: Array<{ error: string; reason: string }>;
    accepted: Array<{ token: string; header: ProtectedHeaderParameters; payload: JWTPayload & Record<string, unknown>; principal: string }>;
  };
  iam: {
    mode: GoogleMode;
    calls: number;
    refused: Array<{ error: string; reason: string }>;
    issued: Array<{ serviceAccount: string; lifetime: number; principal: string; accessToken: string }>;
  };
}

export interface GoogleFake {
  stsUrl: string;
  iamUrl: string;
  state: GoogleState;
  rp: RelyingParty;
  principalOf(token: string): string | undefined;
  stop(): Promise<void>;
}

export declare function startGoogle(opts?: {
  providers?: GoogleProvider[];
  serviceAccounts?: Record<string, { members: string[] }>;
  algorithms?: string[];
  federatedLifetime?: number;
  slowMs?: number;
}): Promise<GoogleFake>;

export declare const garPrincipal: (providerName: string, sub: string) => string;
