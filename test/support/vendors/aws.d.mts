import type { JWTPayload, ProtectedHeaderParameters } from 'jose';
import type { RelyingParty } from './oidc.mjs';

export interface IamOidcProvider {
  /** The issuer URL. */
  url: string;
  /** Accepted audiences ("client IDs"). */
  clientIds: string[];
}

export interface IamRole {
  /** URL of the IAM OIDC provider the trust policy names as federated principal. */
  provider: string;
  /** Trust-policy conditions: { StringEquals | StringLike: { "<provider>:sub" | "<provider>:aud": value | values } }. */
  conditions?: Record<string, Record<string, string | string[]>>;
  /** Seconds. Default 3600. */
  maxSessionDuration?: number;
  /** false: the role may not call ecr:GetAuthorizationToken. */
  ecr?: boolean;
}

export interface AwsSession {
  secretAccessKey: string;
  sessionToken: string;
  roleArn: string;
  sessionName: string;
  /** Seconds since the epoch. */
  expiresAt: number;
}

export interface AwsState {
  providers: IamOidcProvider[];
  roles: Record<string, IamRole>;
  canary: string;
  sts: {
    mode: 'ok' | 'throttle' | 'down';
    calls: number;
    accepted: Array<{
      token: string;
      header: ProtectedHeaderParameters;
      payload: JWTPayload & Record<string, unknown>;
      roleArn: string;
      sessionName: string;
      durationSeconds: number;
      accessKeyId: string;
    }>;
    refused: Array<{ code: string; reason: string }>;
  };
  ecr: {
    mode: 'ok' | 'throttle';
    calls: number;
    verified: number;
    refused: Array<{ code: string; reason: string }>;
    issued: string[];
  };
}

export interface AwsFake {
  region: string;
  accountId: string;
  stsUrl: string;
  ecrUrl: string;
  state: AwsState;
  rp: RelyingParty;
  sessions: Map<string, AwsSession>;
  stop(): Promise<void>;
}

export declare function startAws(opts?: {
  region?: string;
  accountId?: string;
  providers?: IamOidcProvider[];
  roles?: Record<string, IamRole>;
  algorithms?: string[];
}): Promise<AwsFake>;

export declare const iamProviderKey: (issuerUrl: string) => string;
