export interface AccessTeam {
  url: string;
  aud: string;
  certsFetched(): number;
  token(o?: { email?: string; commonName?: string; aud?: string | string[]; exp?: number; iss?: string; foreignKey?: boolean }): Promise<string>;
  stop(): Promise<void>;
}
export declare function startAccessTeam(o?: { aud?: string }): Promise<AccessTeam>;
