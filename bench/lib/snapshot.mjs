// The bench runs on a snapshot of the working tree, copied to a temporary directory at the
// start. `wrangler dev` watches the sources it bundled and restarts the Worker when one
// changes; in a tree where others are editing, that would restart the edge in the middle of
// a measurement (and lose the bench Worker's state). The snapshot also keeps plugin builds
// made by the bench out of plugin/dist.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const COPY = ['src', 'bench', 'plugin', 'scripts', 'test/support', 'wrangler.toml', 'package.json', 'tsconfig.json'];
const SKIP = [/\/bench\/out(\/|$)/, /\/plugin\/dist\/sea\/work(\/|$)/, /\/\.wrangler(\/|$)/];

/** Copies what the bench needs from `root`; node_modules is linked, not copied. */
export function makeSnapshot(root) {
  const dir = mkdtempSync(join(tmpdir(), 'ecp-bench-tree-'));
  for (const entry of COPY) {
    const from = join(root, entry);
    if (!existsSync(from)) continue;
    cpSync(from, join(dir, entry), { recursive: true, preserveTimestamps: true, filter: (src) => !SKIP.some((re) => re.test(src)) });
  }
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir');
  return dir;
}

export function removeSnapshot(dir) {
  rmSync(dir, { recursive: true, force: true });
}

/** "abc1234 + 3 changed files" for the report, from read-only git commands; "" without git. */
export function describeTree(root) {
  try {
    const head = execFileSync('git', ['-C', root, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const changed = execFileSync('git', ['-C', root, 'status', '--porcelain', '--', 'src', 'plugin/src'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    })
      .split('\n')
      .filter(Boolean).length;
    return changed ? `${head} + ${changed} uncommitted change${changed === 1 ? '' : 's'} in src/ and plugin/src/` : head;
  } catch {
    return '';
  }
}
