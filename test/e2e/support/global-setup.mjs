// Runs once before the end-to-end suite: every real part must be installed (a missing one
// fails the run loudly; it is never skipped), and the exec plugin is built from source so
// the suite tests what is in the tree.
import { fileURLToPath } from 'node:url';
import { runOk, which } from './processes.mjs';

/** What the suite drives, and the Debian package each comes from (.ci/run installs them). */
export const TOOLS = {
  'docker-registry': 'docker-registry',
  skopeo: 'skopeo',
  umoci: 'umoci',
  containerd: 'containerd',
  ctr: 'containerd',
};

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

export default async function setup() {
  const missing = Object.keys(TOOLS).filter((tool) => !which(tool));
  if (missing.length) {
    const packages = [...new Set(missing.map((t) => TOOLS[t]))].join(' ');
    throw new Error(
      `end-to-end suite: missing ${missing.join(', ')} on PATH. Install them (as root: apt-get install -y ${packages} runc) ` +
        'or run .ci/run, which does. The suite does not skip: it needs the real registry and runtimes.',
    );
  }
  if (process.getuid?.() !== 0) throw new Error('end-to-end suite: containerd needs root; run it as root (CI does)');
  await runOk(process.execPath, ['plugin/build.mjs'], { cwd: ROOT, timeoutMs: 120_000 });
}
