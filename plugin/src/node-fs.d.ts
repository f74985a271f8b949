/**
 * The node:fs calls files.ts makes, declared here for the same reason as node.d.ts: the
 * plugin type-checks without @types/node.
 */
declare module 'node:fs' {
  interface Stats {
    mode: number;
    size: number;
    uid: number;
    gid: number;
    isFile(): boolean;
    isDirectory(): boolean;
  }
  interface Dirent {
    name: string;
    isDirectory(): boolean;
  }
  export function statSync(path: string): Stats;
  export function realpathSync(path: string): string;
  export function readFileSync(path: string, encoding: 'utf8'): string;
  export function readdirSync(path: string, options: { withFileTypes: true }): Dirent[];
  export function mkdirSync(path: string, options: { recursive: true }): string | undefined;
  export function openSync(path: string, flags: string, mode?: number): number;
  export function writeSync(fd: number, text: string): number;
  export function fsyncSync(fd: number): void;
  export function fchmodSync(fd: number, mode: number): void;
  export function fchownSync(fd: number, uid: number, gid: number): void;
  export function closeSync(fd: number): void;
  export function renameSync(from: string, to: string): void;
  export function readSync(fd: number, buffer: Uint8Array, offset: number, length: number, position: number | null): number;
  export function copyFileSync(from: string, to: string, mode?: number): void;
  export function chmodSync(path: string, mode: number): void;
  export const constants: { COPYFILE_EXCL: number };
  export function unlinkSync(path: string): void;
}
