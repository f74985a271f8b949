/**
 * `npm run test:cluster`: the real single-node cluster (cluster/): etcd, kube-apiserver,
 * containerd v2 and the kubelet built from the Go module proxy, the edge (wrangler dev), a
 * distribution registry, the built plugin exec'd by the kubelet. One file at a time: they
 * share the node and restart its kubelet. ECP_CLUSTER_RELEASE=1.36 runs the older release.
 */
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    name: 'cluster',
    environment: 'node',
    include: ['test/cluster/**/*.test.ts'],
    globalSetup: ['test/cluster/support/global-setup.mjs'],
    fileParallelism: false,
    pool: 'forks',
    testTimeout: 180_000,
    // The first run builds kube-apiserver, the kubelet, etcd and containerd (tens of minutes cold).
    hookTimeout: 3_600_000,
  },
});
