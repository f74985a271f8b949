/**
 * Reading the installer image's OCI layout in tests (blobs, manifests, layer tars) and
 * running its root file system: under runc as the kubelet's runtime would, or an arm64
 * one under qemu-user. Every process a test starts, it stops.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { run, which } from '../../../e2e/support/processes.mjs';

export interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion (killed after `timeoutMs`); never throws for an exit code. The suites' run(). */
export function exec(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<Ran> {
  return run(cmd, args, opts);
}

/** exec, throwing with the output unless the command exits 0. */
export async function execOk(cmd: string, args: string[], opts?: { env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<Ran> {
  const result = await exec(cmd, args, opts);
  if (result.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${result.code}:\n${result.stdout}${result.stderr}`);
  return result;
}

export const ROOT = join(import.meta.dirname, '..', '..', '..', '..');
export const TAG = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version as string;
export const SEA_PATH = 'opt/edge-credential-provider/edge-credential-provider';
export const SCRIPT_PATH = 'opt/edge-credential-provider/edge-credential-provider.js';

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { architecture: string; os: string; variant?: string };
  annotations?: Record<string, string>;
}
export interface Manifest {
  config: Descriptor;
  layers: Descriptor[];
  annotations: Record<string, string>;
}
export interface Index {
  manifests: Descriptor[];
  annotations: Record<string, string>;
}

export const blob = (layout: string, digest: string) => readFileSync(join(layout, 'blobs', 'sha256', digest.replace(/^sha256:/, '')));
export const blobJson = <T>(layout: string, digest: string) => JSON.parse(blob(layout, digest).toString('utf8')) as T;

/** The index the layout's index.json names by the tag. */
export function indexOf(layout: string): { descriptor: Descriptor; index: Index } {
  const top = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as Index;
  const descriptor = top.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === TAG);
  if (!descriptor) throw new Error(`no ${TAG} in ${layout}/index.json`);
  return { descriptor, index: blobJson<Index>(layout, descriptor.digest) };
}

export function manifestOf(layout: string, arch: string): Manifest {
  const entry = indexOf(layout).index.manifests.find((m) => m.platform?.architecture === arch);
  if (!entry) throw new Error(`no linux/${arch} in the index`);
  return blobJson<Manifest>(layout, entry.digest);
}

export interface TarEntry {
  path: string;
  type: string;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  link: string;
}

/** The headers of a gzipped layer, in archive order. */
export function tarEntries(gz: Buffer): TarEntry[] {
  const tar = gunzipSync(gz);
  const entries: TarEntry[] = [];
  const str = (at: number, len: number) =>
    tar
      .subarray(at, at + len)
      .toString('utf8')
      .replace(/\0.*$/s, '');
  const num = (at: number, len: number) => Number.parseInt(str(at, len).trim() || '0', 8);
  for (let at = 0; at + 512 <= tar.length; ) {
    if (tar.subarray(at, at + 512).every((b) => b === 0)) break;
    const prefix = str(at + 345, 155);
    const name = str(at, 100);
    const size = num(at + 124, 12);
    entries.push({
      path: prefix ? `${prefix}/${name}` : name,
      type: str(at + 156, 1),
      mode: num(at + 100, 8),
      uid: num(at + 108, 8),
      gid: num(at + 116, 8),
      mtime: num(at + 136, 12),
      link: str(at + 157, 100),
    });
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return entries;
}

/** Unpacks an image's layers into `rootfs` with tar, as a runtime's snapshotter would. */
export function unpack(layout: string, arch: string, rootfs: string): void {
  mkdirSync(rootfs, { recursive: true });
  for (const layer of manifestOf(layout, arch).layers) {
    execFileSync('tar', ['-xzf', join(layout, 'blobs', 'sha256', layer.digest.slice('sha256:'.length)), '-C', rootfs]);
  }
}

export interface Bind {
  source: string;
  destination: string;
}

let containers = 0;
/** charts/edge-credential-provider values.yaml resources.install.limits.memory. */
const INSTALL_MEMORY_LIMIT = 128 * 1024 * 1024;

/**
 * Runs `args` in an OCI bundle over `rootfs` with runc, as the DaemonSet's init container
 * runs: uid 0, every capability dropped, no new privileges, a read-only root file system,
 * 128 MiB of memory, and only `binds` writable.
 */
export async function runc(bundle: string, args: string[], binds: Bind[] = []) {
  const spec = join(bundle, 'config.json');
  rmSync(spec, { force: true });
  execFileSync('runc', ['spec', '--bundle', bundle]);
  const config = JSON.parse(readFileSync(spec, 'utf8'));
  config.process.terminal = false;
  config.process.args = args;
  config.process.user = { uid: 0, gid: 0 };
  config.process.noNewPrivileges = true;
  config.process.capabilities = { bounding: [], effective: [], permitted: [], ambient: [] };
  config.process.env = ['PATH=/opt/edge-credential-provider'];
  config.root = { path: 'rootfs', readonly: true };
  // The chart's default memory limit for the install container: copying the ~100 MB
  // executable must fit in it.
  config.linux.resources = { ...config.linux.resources, memory: { limit: INSTALL_MEMORY_LIMIT } };
  config.mounts.push(...binds.map((b) => ({ destination: b.destination, type: 'bind', source: b.source, options: ['rbind', 'rw'] })));
  writeFileSync(spec, JSON.stringify(config));
  const id = `ecp-installer-test-${process.pid}-${++containers}`;
  // runc run waits for the container and removes it; --root keeps its state out of /run/runc.
  return exec('runc', ['--root', join(bundle, '..', 'runc-state'), 'run', '--bundle', bundle, id], { timeoutMs: 60_000 });
}

/** What the installer tests need on this machine, or why they are skipped. */
export function missingTools(): string | undefined {
  if (process.platform !== 'linux' || process.arch !== 'x64') return 'the installer build and its runc test run on linux/x64';
  if (process.getuid?.() !== 0) return 'runc and apt-get download need root';
  const missing = ['runc', 'skopeo', 'docker-registry', 'dpkg-deb', 'apt-get', 'readelf', 'strip'].filter((t) => !which(t));
  if (!which('llvm-strip') && !which('aarch64-linux-gnu-strip')) missing.push('a strip for arm64 (llvm-strip or aarch64-linux-gnu-strip)');
  if (missing.length) return `missing ${missing.join(', ')} (Debian: apt-get install runc skopeo docker-registry binutils llvm)`;
  const foreign = execFileSync('dpkg', ['--print-foreign-architectures'], { encoding: 'utf8' }).split('\n');
  if (!foreign.includes('arm64')) return 'apt-get cannot fetch arm64 packages: dpkg --add-architecture arm64 && apt-get update (as root, once)';
  return undefined;
}

export const qemuAarch64 = () => which('qemu-aarch64-static') ?? which('qemu-aarch64');
