/**
 * Older Node.js versions to prove the plugin runs on a Node older than the project's pinned 24:
 * the system's Node.js 20, and Node.js 18 (the floor), fetched from the npm registry by
 * scripts/node18.mjs in the test run's global setup. Not found is an error, never a silent
 * skip; the Node 18 tests are skipped only on a platform without a pinned package, or when a
 * developer asks with SKIP_NODE18=1 outside CI.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { NODE18_BIN, NODE18_PROBLEM_FILE, NODE18_VERSION, node18Applies, node18Version } from '../../../../scripts/node18.mjs';

/** Whether the Node 18 tests are left out: not applicable here, or SKIP_NODE18=1 (never in CI). */
export function node18Skipped(env: NodeJS.ProcessEnv = process.env, applies = node18Applies()): boolean {
  if (env.CI && env.CI !== 'false') return false;
  return !applies || env.SKIP_NODE18 === '1';
}

export function findNode20(): { path: string; version: string } {
  const candidates = new Set<string>();
  try {
    const found = execFileSync('which', ['-a', 'node'], { encoding: 'utf8', env: { PATH: '/usr/local/bin:/usr/bin:/bin' } });
    for (const line of found.split('\n')) if (line.trim()) candidates.add(line.trim());
  } catch {
    /* which finds nothing: fall through to the fixed places */
  }
  for (const p of ['/usr/local/bin/node', '/usr/bin/node']) if (existsSync(p)) candidates.add(p);
  const tried: string[] = [];
  for (const path of candidates) {
    const version = execFileSync(path, ['--version'], { encoding: 'utf8' }).trim();
    tried.push(`${path} ${version}`);
    if (version.startsWith('v20.')) return { path, version };
  }
  throw new Error(`no Node.js 20 found (tried: ${tried.join(', ') || 'nothing'}); install Debian's nodejs package`);
}

export function findNode18(): { path: string; version: string } {
  const version = node18Version();
  if (version !== `v${NODE18_VERSION}`) {
    let problem = '';
    try {
      problem = ` (${readFileSync(NODE18_PROBLEM_FILE, 'utf8').trim()})`;
    } catch {
      /* no failed fetch recorded */
    }
    throw new Error(
      `no Node.js ${NODE18_VERSION} at ${NODE18_BIN} (found ${version ?? 'nothing'})${problem}: the test run fetches it from the npm registry, ` +
        '`npm run node18` does it by hand; offline, SKIP_NODE18=1 npm test runs the rest',
    );
  }
  return { path: NODE18_BIN, version };
}
