// What the cluster suite's global setup provides to its test files (vitest inject()).
declare module 'vitest' {
  export interface ProvidedContext {
    clusterDir: string;
    clusterRelease: string;
  }
}
export {};
