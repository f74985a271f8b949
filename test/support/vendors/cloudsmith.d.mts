import type { JWTPayload, ProtectedHeaderParameters } from 'jose';
import type { RelyingParty } from './oidc.mjs';

export interface CloudsmithProviderSetting {
  /** The provider's root URL (the edge's issuer). */
  providerUrl: string;
  /** Claims the token must carry with exactly these values; `aud` also sets the audience verified. */
  requiredClaims?: Record<string, string>;
  /** Service-account slugs this setting may log in as. */
  serviceAccounts: string[];
}

export interface CloudsmithOrganization {
  serviceAccounts: string[];
  providers: CloudsmithProviderSetting[];
}

export type CloudsmithMode = 'ok' | 'deny' | 'down' | 'slow' | 'garbage' | 'throttle';

export interface CloudsmithState {
  mode: CloudsmithMode;
  garbage: 'html' | 'no-token' | 'not-jwt';
  /** Seconds, sent as Retry-After in 'throttle'. */
  retryAfter: number;
  /** Seconds the issued API tokens live. */
  tokenLifetime: number;
  /** ms 'slow' waits before answering. */
  slowMs: number;
  /** In every error and garbage body. */
  canary: string;
  organizations: Record<string, CloudsmithOrganization>;
  calls: number;
  accepted: Array<{ token: string; header: ProtectedHeaderParameters; payload: JWTPayload & Record<string, unknown>; org: string; slug: string }>;
  refused: Array<{ reason: string; message: string }>;
  issued: string[];
}

export interface CloudsmithFake {
  url: string;
  state: CloudsmithState;
  rp: RelyingParty;
  stop(): Promise<void>;
}

export declare function startCloudsmith(opts?: {
  organizations?: Record<string, CloudsmithOrganization>;
  algorithms?: string[];
  tokenLifetime?: number;
  slowMs?: number;
}): Promise<CloudsmithFake>;
