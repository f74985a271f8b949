/**
 * The edge's start-up set stays within its budget (bench/budget.mjs): the main module and the
 * chunks it imports statically, which workerd compiles and evaluates on every fresh isolate.
 * So an import that drags a library onto every pull's path (zod, the admin API) fails here,
 * loudly, rather than in a slower cold start nobody measures.
 *
 * Built in memory by the Worker's own build (scripts/lib/worker-build.mjs, bench/lib/bundle.mjs):
 * the bytes `wrangler deploy` uploads from dist/worker/, which `npm run bench` (startup) checks
 * on every run. Node project; no network.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { BUNDLE_BUDGET_BYTES } from '../../../bench/budget.mjs';
import { bundleWorker } from '../../../bench/lib/bundle.mjs';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
const built = bundleWorker('src/index.ts', { cwd: ROOT });

describe('edge bundle', () => {
  it('has a start-up set within the bundle budget, minified as wrangler deploy uploads it', async () => {
    const { bytes, byGroup, files } = await built;
    const parts = byGroup.map(([group, n]) => `${group} ${kib(n)}`).join(', ');
    const modules = files.filter((f) => f.startup).map((f) => f.path);
    expect(
      bytes,
      `the start-up set (${modules.join(', ')}) is ${kib(bytes)}, over the budget of ${kib(BUNDLE_BUDGET_BYTES)} (bench/budget.mjs); by package: ${parts}`,
    ).toBeLessThanOrEqual(BUNDLE_BUDGET_BYTES);
  });

  it('loads zod, the admin API and key sync only on first use: none is in the start-up set', async () => {
    const { byGroup, files } = await built;
    expect(byGroup.map(([group]) => group)).not.toContain('zod');
    expect(files.filter((f) => f.startup).map((f) => f.path)).not.toEqual(expect.arrayContaining([expect.stringMatching(/^chunks\/(admin|keys)-/)]));
    // And they are built: loaded later, not missing.
    expect(files.filter((f) => !f.startup).map((f) => f.path)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^chunks\/admin-/), expect.stringMatching(/^chunks\/keys-/)]),
    );
  });
});

describe('what the bundle holds', () => {
  it('holds no shell command text in any module: trust entries are data, rendered by the CLI (scripts/lib/trust-commands.mjs)', async () => {
    const { text } = await built;
    for (const command of ['aws iam ', 'gcloud iam ', 'gcloud artifacts ', 'az ad app ', 'az role assignment', 'curl -fsS', 'npx wrangler'])
      expect(text).not.toContain(command);
  });
});
