// Downloads of the installer build, each checked against installer/pins.mjs and cached
// outside the repository ($ECP_INSTALLER_CACHE, default ~/.cache/edge-credential-provider/installer):
// Node's own binaries from the npm registry (`npm pack node-linux-<cpu>@<version>`) and the
// Debian packages (`apt-get download <pkg>:<arch>=<version>`). A cached file is re-hashed on
// every use; a mismatch is refused, never unpacked.
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ARCHES, DEBS, NODE_PACKAGES, NODE_VERSION } from './pins.mjs';

export const CACHE_DIR =
  process.env.ECP_INSTALLER_CACHE || join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'edge-credential-provider', 'installer');

const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');
const integrityOf = (bytes) => `sha512-${createHash('sha512').update(bytes).digest('base64')}`;

/** Debian's file name for a package version: the epoch dropped, `:` never appears. */
export const debFile = (name, version, arch) => `${name}_${version.replace(/^\d+:/, '')}_${arch}.deb`;

/**
 * Node's binary for an image architecture, unpacked in the cache.
 * @returns {{ bin: string, tarball: string, name: string, integrity: string }}
 */
export function ensureNode(arch) {
  const pkg = NODE_PACKAGES[arch];
  if (!pkg) throw new Error(`no Node package pinned for ${arch}`);
  const spec = `${pkg.name}@${NODE_VERSION}`;
  const dir = join(CACHE_DIR, 'npm');
  const tarball = join(dir, `${pkg.name}-${NODE_VERSION}.tgz`);
  mkdirSync(dir, { recursive: true });
  if (!existsSync(tarball)) {
    const work = join(dir, `.pack-${process.pid}`);
    rmSync(work, { recursive: true, force: true });
    mkdirSync(work);
    try {
      execFileSync('npm', ['pack', spec, '--silent', '--pack-destination', work], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 300_000 });
      const got = readdirSync(work).find((f) => f.endsWith('.tgz'));
      if (!got) throw new Error(`npm pack ${spec} wrote no tarball`);
      renameSync(join(work, got), tarball);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }
  const actual = integrityOf(readFileSync(tarball));
  if (actual !== pkg.integrity) {
    rmSync(tarball, { force: true });
    throw new Error(`${spec} has integrity ${actual}, not the pinned ${pkg.integrity}: refused (and removed from the cache)`);
  }
  const unpacked = join(dir, `${pkg.name}-${NODE_VERSION}`);
  const bin = join(unpacked, 'package', 'bin', 'node');
  if (!existsSync(bin)) {
    // Unpacked beside and renamed into place, so a build running at the same time never
    // sees half a binary.
    const partial = `${unpacked}.${process.pid}.partial`;
    rmSync(partial, { recursive: true, force: true });
    mkdirSync(partial);
    execFileSync('tar', ['-xzf', tarball, '-C', partial, 'package/bin/node', 'package/LICENSE']);
    rmSync(unpacked, { recursive: true, force: true });
    renameSync(partial, unpacked);
  }
  return { bin, tarball, name: pkg.name, integrity: pkg.integrity };
}

/**
 * One pinned Debian package for an image architecture, in the cache and checked.
 * @returns {string} the .deb's path
 */
export function ensureDeb(deb, arch) {
  const debArch = ARCHES[arch].debian;
  const dir = join(CACHE_DIR, 'deb');
  const file = join(dir, debFile(deb.name, deb.version, debArch));
  mkdirSync(dir, { recursive: true });
  if (!existsSync(file)) {
    try {
      execFileSync('apt-get', ['download', `${deb.name}:${debArch}=${deb.version}`], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], timeout: 300_000 });
    } catch (err) {
      const why =
        err.stderr
          ?.toString()
          .trim()
          .split('\n')
          .find((l) => l.startsWith('E:')) ?? err.message;
      throw new Error(
        `apt-get download ${deb.name}:${debArch}=${deb.version} failed (${why}). For a foreign architecture, as root: ` +
          `dpkg --add-architecture ${debArch} && apt-get update. If the mirror no longer has this version, move the pin in installer/pins.mjs.`,
      );
    }
  }
  const actual = sha256(readFileSync(file));
  if (actual !== deb.sha256[arch]) {
    rmSync(file, { force: true });
    throw new Error(
      `${debFile(deb.name, deb.version, debArch)} has sha256 ${actual}, not the pinned ${deb.sha256[arch]}: refused (and removed from the cache)`,
    );
  }
  return file;
}

/** Every pinned input for the architectures, fetched and checked. */
export function ensureAll(arches) {
  return Object.fromEntries(arches.map((arch) => [arch, { node: ensureNode(arch), debs: DEBS.map((deb) => ({ deb, path: ensureDeb(deb, arch) })) }]));
}
