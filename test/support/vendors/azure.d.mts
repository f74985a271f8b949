import type { JWTPayload, ProtectedHeaderParameters } from 'jose';
import type { RelyingParty } from './oidc.mjs';

export interface FederatedCredential {
  name: string;
  issuer: string;
  subject: string;
  audiences: string[];
}

export interface EntraApplication {
  credentials: FederatedCredential[];
  /** The application has AcrPull on the registry. */
  acrPull: boolean;
}

export type AzureMode = 'ok' | 'deny' | 'down' | 'throttle' | 'slow' | 'garbage';

export interface AzureState {
  tenantId: string;
  registry: string;
  applications: Record<string, EntraApplication>;
  tokenLifetime: number;
  garbage: 'html' | 'no-token';
  retryAfter: number;
  slowMs: number;
  canary: string;
  entra: {
    mode: AzureMode;
    calls: number;
    refused: Array<{ code: string; error: string; reason: string }>;
    accepted: Array<{ token: string; header: ProtectedHeaderParameters; payload: JWTPayload & Record<string, unknown>; clientId: string; credential: string }>;
  };
  acr: {
    mode: AzureMode;
    calls: number;
    refused: Array<{ code: string; reason: string }>;
    issued: Array<{ refreshToken: string; clientId: string }>;
    refreshTokens: 'jwt' | 'opaque';
    pulls: Array<{ clientId: string; scope: string | null }>;
  };
}

export interface AzureFake {
  entraUrl: string;
  acrUrl: string;
  state: AzureState;
  rp: RelyingParty;
  /** Adds a federated credential; throws past 20 per application or a subject over 600 characters, as Entra does. */
  addCredential(clientId: string, credential: FederatedCredential): void;
  stop(): Promise<void>;
}

export declare function startAzure(opts: {
  tenantId: string;
  registry: string;
  applications?: Record<string, { credentials?: FederatedCredential[]; acrPull?: boolean }>;
  tokenLifetime?: number;
  slowMs?: number;
}): Promise<AzureFake>;

export declare const MAX_FEDERATED_CREDENTIALS: number;
export declare const MAX_SUBJECT_LENGTH: number;
