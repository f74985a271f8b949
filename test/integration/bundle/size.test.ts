/**
 * The edge's bundle stays within its budget (bench/budget.mjs). Every byte of the minified
 * bundle is parsed and compiled on each cold start of an isolate, so an import that drags in
 * a whole library fails here, loudly, rather than in a slower cold start nobody measures.
 *
 * Bundled in memory by esbuild with wrangler's own options and our wrangler.toml's
 * (bench/lib/bundle.mjs): the same bytes `wrangler deploy` uploads, which `npm run bench`
 * (startup) checks on every run. The budget is the target, 150 KiB (bench/budget.mjs).
 * Node project; no network.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { BUNDLE_BUDGET_BYTES } from '../../../bench/budget.mjs';
import { bundleWorker } from '../../../bench/lib/bundle.mjs';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;

describe('edge bundle', () => {
  it('is within the bundle budget when minified as wrangler deploy builds it', async () => {
    const { bytes, byGroup } = await bundleWorker('src/index.ts', { cwd: ROOT });
    const parts = byGroup.map(([group, n]) => `${group} ${kib(n)}`).join(', ');
    expect(
      bytes,
      `src/index.ts bundles to ${kib(bytes)}, over the budget of ${kib(BUNDLE_BUDGET_BYTES)} (bench/budget.mjs); by package: ${parts}`,
    ).toBeLessThanOrEqual(BUNDLE_BUDGET_BYTES);
  });
});

describe('what the bundle holds', () => {
  it('holds no shell command text: trust entries are data, rendered by the CLI (scripts/lib/trust-commands.mjs)', async () => {
    const { text } = await bundleWorker('src/index.ts', { cwd: ROOT });
    for (const command of ['aws iam ', 'gcloud iam ', 'gcloud artifacts ', 'az ad app ', 'az role assignment', 'curl -fsS', 'npx wrangler'])
      expect(text).not.toContain(command);
  });
});
