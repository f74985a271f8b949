import type { JWK, JWTPayload } from 'jose';
import type { RelyingParty } from './oidc.mjs';

export interface HarborRobot {
  name: string;
  /** Claims the token must carry with exactly these values (iss, aud, sub, ...). */
  claimRules: Record<string, string>;
  /** Projects the robot may pull from. */
  projects: string[];
}

export interface HarborState {
  providers: Array<{ openidConfigurationUrl: string }>;
  robots: HarborRobot[];
  /** Robot accounts with a static secret: name → secret. */
  robotSecrets: Record<string, string>;
  mode: 'ok' | 'deny' | 'down';
  canary: string;
  /** GETs of the token endpoint. */
  calls: number;
  /** POSTs to the token endpoint (answered 404). */
  posts: number;
  /** `payload`: the verified workload token of a federated robot; absent for a robot secret. */
  accepted: Array<{ robot: string; username: string; scope: string; payload?: JWTPayload & Record<string, unknown> }>;
  /** `username`: the Basic auth name, once the refusal is about a robot (claims, scope, secret). */
  refused: Array<{ reason: string; username?: string }>;
}

export interface HarborFake {
  url: string;
  state: HarborState;
  rp: RelyingParty;
  stop(): Promise<void>;
}

export interface HarborOptions {
  providers?: Array<{ openidConfigurationUrl: string }>;
  robots?: HarborRobot[];
  /**
   * Issue distribution registry tokens (ES256, header kid = `key.kid`, the libtrust id) with this
   * `iss`, for a registry whose rootcertbundle is `key.certificate`. Default: opaque tokens.
   */
  registryTokens?: { issuer: string; key: { kid: string; privateJwk: JWK; certificate?: string } };
  /** Robot accounts with a static secret (name → secret), which may pull and push. Default: none. */
  robotSecrets?: Record<string, string>;
}

export declare function startHarbor(opts?: HarborOptions): Promise<HarborFake>;
