// The image side of the end-to-end suite: umoci builds a small OCI image offline, skopeo
// pushes and pulls it (GET token requests), and a private containerd driven by ctr pulls
// it the way the kubelet's runtime does (POST token requests, GET as fallback).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run, runOk, startService, waitFor } from './processes.mjs';

/** Builds `oci:<dir>/layout:v1`, one layer holding /hello.txt. Returns the skopeo source ref. */
export async function buildImage(dir) {
  const layout = join(dir, 'layout');
  const file = join(dir, 'hello.txt');
  writeFileSync(file, 'hello from the edge-credential-provider end-to-end suite\n');
  await runOk('umoci', ['init', '--layout', layout]);
  await runOk('umoci', ['new', '--image', `${layout}:v1`]);
  await runOk('umoci', ['insert', '--image', `${layout}:v1`, file, '/hello.txt']);
  await runOk('umoci', ['config', '--image', `${layout}:v1`, '--config.cmd', '/hello.txt', '--config.label', 'org.example.e2e=true']);
  return `oci:${layout}:v1`;
}

/**
 * skopeo with no ambient configuration: its own HOME and auth file, no signature policy
 * file needed, plain HTTP to the loopback registry.
 */
export function skopeo(dir, args, opts) {
  const home = join(dir, 'skopeo-home');
  mkdirSync(home, { recursive: true });
  return run('skopeo', ['--insecure-policy', ...args], {
    timeoutMs: 90_000,
    ...opts,
    env: { ...process.env, HOME: home, REGISTRY_AUTH_FILE: join(home, 'auth.json'), XDG_RUNTIME_DIR: home },
  });
}

export function skopeoPush(dir, source, target, creds) {
  return skopeo(dir, ['copy', '--dest-tls-verify=false', '--dest-creds', `${creds.username}:${creds.password}`, source, `docker://${target}`]);
}

export function skopeoInspect(dir, target, creds) {
  return skopeo(dir, ['inspect', '--tls-verify=false', '--creds', `${creds.username}:${creds.password}`, `docker://${target}`]);
}

/**
 * A containerd of our own: root, state, socket and config in `dir`, the CRI plugin and the
 * snapshotters this machine may not support disabled, the native snapshotter for unpacking.
 */
export async function startContainerd(dir) {
  const address = join(dir, 'containerd.sock');
  const config = join(dir, 'config.toml');
  mkdirSync(join(dir, 'root'), { recursive: true });
  mkdirSync(join(dir, 'state'), { recursive: true });
  writeFileSync(
    config,
    [
      'version = 2',
      `root = ${JSON.stringify(join(dir, 'root'))}`,
      `state = ${JSON.stringify(join(dir, 'state'))}`,
      'disabled_plugins = [',
      '  "io.containerd.grpc.v1.cri",',
      '  "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",',
      '  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs",',
      '  "io.containerd.internal.v1.opt", "io.containerd.tracing.processor.v1.otlp",',
      ']',
      '[grpc]',
      `  address = ${JSON.stringify(address)}`,
      '[ttrpc]',
      `  address = ${JSON.stringify(`${address}.ttrpc`)}`,
      '[debug]',
      '  address = ""',
      '[metrics]',
      '  address = ""',
      '',
    ].join('\n'),
  );
  const svc = startService('containerd', ['--config', config, '--log-level', 'info']);
  const ctr = (args, opts) => run('ctr', ['--address', address, '--namespace', 'e2e', ...args], { timeoutMs: 90_000, ...opts });
  try {
    await waitFor(
      async () => {
        if (svc.exited()) throw new Error('exited');
        return (await ctr(['version'], { timeoutMs: 5000 })).code === 0;
      },
      { timeoutMs: 30_000, intervalMs: 200, describe: () => `containerd on ${address}:\n${svc.logs()}` },
    );
    if (svc.exited()) throw new Error(`containerd exited:\n${svc.logs()}`);
  } catch (err) {
    await svc.stop();
    throw err;
  }
  return {
    address,
    ctr,
    /** `ctr images pull` as the kubelet's runtime would, with the credential as user:password. */
    pull: (ref, creds) => ctr(['images', 'pull', '--plain-http', '--snapshotter', 'native', '--user', `${creds.username}:${creds.password}`, ref]),
    /** The same with the credential given as an OAuth2 refresh token (`--refresh`). */
    pullWithRefreshToken: (ref, token) => ctr(['images', 'pull', '--plain-http', '--snapshotter', 'native', '--refresh', token, ref]),
    logs: svc.logs,
    stop: svc.stop,
  };
}
