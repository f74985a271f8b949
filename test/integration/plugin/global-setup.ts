/**
 * Before the node project runs: builds the exec plugin once, so `npm test` works from a clean
 * clone (the plugin tests execute plugin/dist/edge-credential-provider as the kubelet would),
 * and fetches Node.js 18 for older-node.test.ts if it is not there yet (scripts/node18.mjs:
 * from the npm registry, integrity pinned; `npm install` does not). Without the registry the
 * Node 18 tests fail, naming why; a developer offline runs the rest with SKIP_NODE18=1, which
 * CI (CI=true) ignores.
 */
import { buildPlugin } from '../../../plugin/build.mjs';
import { ensureNode18 } from '../../../scripts/node18.mjs';
import { node18Skipped } from './support/older-node';

export default async function setup(): Promise<void> {
  await buildPlugin();
  if (!node18Skipped()) {
    const r = ensureNode18();
    if (!r.ok) console.warn(`node18: ${r.problem}; the plugin's Node 18 tests will fail (offline: SKIP_NODE18=1 npm test runs the rest)`);
  }
}
