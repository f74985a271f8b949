export interface GhcrFake {
  url: string;
  state: { users: Record<string, string>; calls: number; accepted: Array<{ user: string; scope: string | null }>; refused: number };
  stop(): Promise<void>;
}

export declare function startGhcr(opts?: { users?: Record<string, string> }): Promise<GhcrFake>;
