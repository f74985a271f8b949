/**
 * `install --copy-binary-to` as a process with the script build (the image test covers the
 * single executable under runc): the file that copies itself is the script, found by its own
 * path, and the copy is atomic, executable, skipped when identical, replaced when not, and
 * never made when install refuses.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PLUGIN, runPlugin } from '../plugin/support/plugin';

const FLAGS = ['--url', 'https://ecp.example.com', '--match-image', 'registry.example.com', '--audience', 'edge-credential-provider'];

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ecp-copy-binary-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const install = (...extra: string[]) =>
  runPlugin({ input: '', args: ['install', '--config', join(dir, 'config', 'config.yaml'), '--copy-binary-to', join(dir, 'bin'), ...FLAGS, ...extra] });

describe('install --copy-binary-to with the script build', () => {
  it('copies the script itself as DIR/NAME, executable, then leaves it alone', async () => {
    const first = await install();
    expect(first.code, first.stderr).toBe(0);
    const bin = join(dir, 'bin', 'edge-credential-provider');
    expect(first.stderr).toBe(`edge-credential-provider: copied ${PLUGIN} to ${bin}\n`);
    expect(readFileSync(bin).equals(readFileSync(PLUGIN))).toBe(true);
    expect(statSync(bin).mode & 0o777).toBe(0o755);
    const inode = statSync(bin).ino;

    const second = await install();
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toBe(`unchanged: ${join(dir, 'config', 'config.yaml')}\n`);
    expect(second.stderr).toBe(`edge-credential-provider: ${bin} is already this executable\n`);
    expect(statSync(bin).ino).toBe(inode); // not rewritten
    expect(readdirSync(join(dir, 'bin'))).toEqual(['edge-credential-provider']); // no temporary file left
  });

  it('replaces a different file of that name by a rename', async () => {
    await install();
    const bin = join(dir, 'bin', 'edge-credential-provider');
    writeFileSync(bin, '#!/bin/sh\necho old\n', { mode: 0o700 });
    const inode = statSync(bin).ino;
    const again = await install();
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toBe(`edge-credential-provider: copied ${PLUGIN} to ${bin}\n`);
    expect(statSync(bin).ino).not.toBe(inode);
    expect(readFileSync(bin).equals(readFileSync(PLUGIN))).toBe(true);
    expect(statSync(bin).mode & 0o777).toBe(0o755);
  });

  it('copies nothing when install refuses the flags', async () => {
    const refused = await install('--match-image', 'https://registry.example.com');
    expect(refused.code).toBe(2);
    expect(() => readdirSync(join(dir, 'bin'))).toThrow();
  });
});
