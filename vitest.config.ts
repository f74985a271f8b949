/**
 * `npm test`: two projects.
 * - worker: test/unit and test/integration/worker run inside workerd with real local KV
 *   (@cloudflare/vitest-pool-workers), against a key ring made fresh for this run.
 * - node: test/integration/plugin runs the built exec plugin as a child process;
 *   test/integration/upstream runs the edge against loopback fakes of registry vendors;
 *   test/unit/plugin checks its pure modules in Node, where the plugin runs; test/unit/chart
 *   renders the Helm chart with the pinned Helm (built once from the Go module proxy);
 *   test/integration/installer checks the installer build's downloads and copy step (the image
 *   itself, built twice and run under runc, is in the e2e suite)
 *   (root, runc, skopeo, docker-registry; skipped with the reason otherwise).
 * The end-to-end suite (real registry, skopeo, containerd) is vitest.e2e.config.ts.
 */
import { fileURLToPath } from 'node:url';
import { cloudflareTest } from '@cloudflare/vitest-pool-workers';
import { defineConfig } from 'vitest/config';
import { generateAdminToken, generateKeyRing } from './scripts/lib/keys.mjs';

export const TEST_ADMIN_TOKEN = generateAdminToken();
export const TEST_ADMIN_READ_TOKEN = generateAdminToken();

export default defineConfig({
  test: {
    projects: [
      {
        plugins: [
          cloudflareTest({
            // The sources, not wrangler.toml's `main` (dist/worker/, the built upload): the pool
            // bundles them itself, dynamic imports included, so tests see every change at once.
            main: fileURLToPath(new URL('./src/index.ts', import.meta.url)),
            wrangler: { configPath: './wrangler.toml' },
            miniflare: {
              bindings: {
                EDGE_ISSUER: 'https://edge.test',
                EDGE_SIGNING_KEYS: JSON.stringify(generateKeyRing()),
                ADMIN_TOKEN: TEST_ADMIN_TOKEN,
                ADMIN_READ_TOKEN: TEST_ADMIN_READ_TOKEN,
                AUDIT_LOG: 'off',
              },
            },
          }),
        ],
        test: {
          name: 'worker',
          include: ['test/unit/**/*.test.ts', 'test/integration/worker/**/*.test.ts'],
          exclude: ['test/unit/scripts/**', 'test/unit/plugin/**', 'test/unit/chart/**', 'test/unit/layout.test.ts'], // Node code: the node project runs them
        },
      },
      {
        test: {
          name: 'node',
          environment: 'node',
          include: [
            'test/integration/plugin/**/*.test.ts',
            'test/integration/edge/**/*.test.ts',
            'test/integration/upstream/**/*.test.ts',
            'test/integration/admin/**/*.test.ts',
            'test/integration/bundle/**/*.test.ts',
            'test/integration/installer/**/*.test.ts',
            'test/unit/scripts/**/*.test.ts',
            'test/unit/plugin/**/*.test.ts',
            'test/unit/chart/**/*.test.ts',
            'test/unit/layout.test.ts',
          ],
          // Needs root, runc, apt-get's arm64 packages and qemu: the e2e suite runs it (vitest.e2e.config.ts).
          exclude: ['test/integration/installer/image.test.ts'],
          globalSetup: ['test/integration/plugin/global-setup.ts'],
        },
      },
    ],
  },
});
