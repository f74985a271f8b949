// The cluster's state file (state.json in its directory): pids, ports, issuer, paths, so that
// `up`, `status` and `down` can run in different processes.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const DEFAULT_DIR = '/tmp/ecp-cluster';
/** Start order etcd -> apiserver -> (controller-manager, scheduler) -> containerd -> kubelet; stop in reverse. */
export const STOP_ORDER = ['kubelet', 'containerd', 'scheduler', 'controllerManager', 'apiserver', 'etcd'];

export function readState(dir = DEFAULT_DIR) {
  const file = join(dir, 'state.json');
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, 'utf8'));
}

export function writeState(dir, state) {
  writeFileSync(join(dir, 'state.json'), `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
}
