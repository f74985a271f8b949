import type { JWTPayload, ProtectedHeaderParameters } from 'jose';
import type { RelyingParty } from './oidc.mjs';

export interface DockerConnection {
  organization: string;
  issuer: string;
  /** The rulesets' subject patterns ("*" a wildcard). */
  subjects: string[];
}

export type DockerHubMode = 'ok' | 'deny' | 'down' | 'throttle' | 'slow' | 'garbage';

export interface DockerHubState {
  connections: Record<string, DockerConnection>;
  mode: DockerHubMode;
  garbage: 'html' | 'no-token';
  tokens: 'opaque' | 'jwt';
  retryAfter: number;
  slowMs: number;
  canary: string;
  calls: number;
  accepted: Array<{
    connectionId: string;
    organization: string;
    expiresIn: number;
    token: string;
    header: ProtectedHeaderParameters;
    payload: JWTPayload & Record<string, unknown>;
  }>;
  refused: Array<{ reason: string; message: string }>;
  issued: Array<{ accessToken: string; organization: string; expiresIn: number }>;
}

export interface DockerHubFake {
  url: string;
  state: DockerHubState;
  rp: RelyingParty;
  stop(): Promise<void>;
}

export declare const DOCKER_AUDIENCE: string;
export declare function startDockerHub(opts?: { connections?: Record<string, DockerConnection>; slowMs?: number }): Promise<DockerHubFake>;
