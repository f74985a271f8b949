/**
 * `npm run test:e2e`: the end-to-end suite with real parts, all on 127.0.0.1: the edge
 * (wrangler dev), docker-registry (distribution 2.8), skopeo, umoci, containerd + ctr, and
 * the built exec plugin. Node environment, one file at a time (2 cores; each file starts
 * its own servers). The global setup fails the run, never skips it, when a tool is missing.
 */
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    name: 'e2e',
    environment: 'node',
    // The installer image (built twice, run under runc and qemu) needs what the e2e suite needs.
    include: ['test/e2e/**/*.test.ts', 'test/integration/installer/image.test.ts'],
    globalSetup: ['test/e2e/support/global-setup.mjs'],
    fileParallelism: false,
    pool: 'forks',
    // Starting the edge, a registry and containerd takes seconds; a pull a few more.
    testTimeout: 120_000,
    hookTimeout: 180_000,
  },
});
