/**
 * The few Node.js APIs the plugin uses, declared here so the plugin type-checks with the
 * DOM lib alone and no @types/node (the plugin has no dependencies, not even for types).
 */
declare module 'node:crypto' {
  interface Hash {
    update(data: string): Hash;
    digest(encoding: 'hex'): string;
  }
  export function createHash(algorithm: 'sha256'): Hash;
}

interface NodeWritable {
  write(chunk: string, callback?: (err?: Error | null) => void): boolean;
}

declare const process: {
  argv: string[];
  env: Record<string, string | undefined>;
  stdin: AsyncIterable<Uint8Array>;
  stdout: NodeWritable;
  stderr: NodeWritable;
  exitCode: number | undefined;
  exit(code?: number): never;
  emitWarning: (warning: string | Error, ...rest: unknown[]) => void;
};
