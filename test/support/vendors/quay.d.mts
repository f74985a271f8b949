import type { JWTPayload, ProtectedHeaderParameters } from 'jose';
import type { RelyingParty } from './oidc.mjs';

export interface QuayFederationEntry {
  issuer: string;
  subject: string;
  /** Newer Quay releases: when listed, aud must be one of them. */
  audiences?: string[];
}

export type QuayMode = 'ok' | 'deny' | 'down' | 'throttle' | 'slow' | 'garbage';

export interface QuayState {
  /** By full robot name, `<org>+<robot>`. */
  robots: Record<string, QuayFederationEntry[]>;
  mode: QuayMode;
  garbage: 'html' | 'no-token' | 'not-jwt';
  retryAfter: number;
  slowMs: number;
  canary: string;
  calls: number;
  accepted: Array<{ robot: string; token: string; header: ProtectedHeaderParameters; payload: JWTPayload & Record<string, unknown> }>;
  refused: Array<{ reason: string; message: string }>;
  issued: string[];
}

export interface QuayFake {
  url: string;
  state: QuayState;
  rp: RelyingParty;
  stop(): Promise<void>;
}

export declare function startQuay(opts?: { robots?: Record<string, QuayFederationEntry[]>; slowMs?: number }): Promise<QuayFake>;
