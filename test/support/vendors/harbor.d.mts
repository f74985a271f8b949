import type { JWTPayload } from 'jose';
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
  mode: 'ok' | 'deny' | 'down';
  canary: string;
  calls: number;
  accepted: Array<{ robot: string; username: string; scope: string; payload: JWTPayload & Record<string, unknown> }>;
  refused: Array<{ reason: string }>;
}

export interface HarborFake {
  url: string;
  state: HarborState;
  rp: RelyingParty;
  stop(): Promise<void>;
}

export declare function startHarbor(opts?: { providers?: Array<{ openidConfigurationUrl: string }>; robots?: HarborRobot[] }): Promise<HarborFake>;
