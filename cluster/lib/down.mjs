// Taking the cluster down, and telling what runs: stop every process it started (by recorded
// pid, the kubelet first), remove the pods' containers so their shims exit, remove the empty
// cgroups runc left, unmount what is mounted under the cluster's directory and remove it.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { runs, sleep, stopDaemon } from './daemon.mjs';
import { DEFAULT_DIR, readState, STOP_ORDER, writeState } from './state.mjs';

/** Components `up` starts only when asked (`controllers`). */
const OPTIONAL = ['controllerManager', 'scheduler'];

/** Mount points at or below `dir`, deepest first. */
function mountsUnder(dir) {
  const lines = readFileSync('/proc/self/mountinfo', 'utf8').split('\n');
  const points = lines
    .map((l) => l.split(' ')[4])
    .filter((p) => p && (p === dir || p.startsWith(`${dir}/`)))
    .map((p) => p.replace(/\\040/g, ' '));
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}

/**
 * runc (cgroupfs driver) makes a cgroup per container under <hierarchy>/k8s.io/ (containerd's
 * namespace); they outlive a container killed with its shim. Removes the empty ones and then
 * k8s.io itself where empty: rmdir never removes a cgroup that still holds a process.
 */
function removeEmptyCgroups() {
  let removed = 0;
  const root = '/sys/fs/cgroup';
  for (const hierarchy of existsSync(root) ? readdirSync(root) : []) {
    const parent = join(root, hierarchy, 'k8s.io');
    if (!existsSync(parent)) continue;
    for (const entry of readdirSync(parent, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      try {
        rmdirSync(join(parent, entry.name));
        removed++;
      } catch {
        /* in use */
      }
    }
    try {
      rmdirSync(parent);
      removed++;
    } catch {
      /* in use */
    }
  }
  return removed;
}

/** Processes whose command line names `needle` (our containerd's socket: its shims). */
function pidsNaming(needle) {
  const out = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmd.includes(needle) && Number(entry) !== process.pid) out.push(Number(entry));
    } catch {
      /* gone */
    }
  }
  return out;
}

/**
 * Stops every process the cluster started (by recorded pid, kubelet first), removes the
 * pods' containers through containerd so their shims exit, ends any shim of our containerd
 * still running, unmounts what is mounted under the directory and removes it.
 * @returns {Promise<string[]>} what it did, one line each
 */
export async function down(dir = DEFAULT_DIR, { retain = false } = {}) {
  const state = readState(dir);
  const report = [];
  if (!state) {
    if (existsSync(dir) && !retain) rmSync(dir, { recursive: true, force: true });
    return ['no cluster state; nothing was running'];
  }
  for (const name of STOP_ORDER) {
    const p = state.pids[name];
    if (!p) continue;
    if (name === 'containerd' && runs(p.pid, p.exe)) {
      // Remove every task and container in the k8s.io namespace first, so the shims exit.
      const ctr = (...args) => {
        try {
          return execFileSync(join(p.exe, '..', 'ctr'), ['--address', state.containerd.address, '--namespace', 'k8s.io', ...args], {
            stdio: ['ignore', 'pipe', 'pipe'],
            timeout: 30_000,
          }).toString();
        } catch {
          return '';
        }
      };
      const tasks = ctr('tasks', 'ls', '-q').split('\n').filter(Boolean);
      for (const t of tasks) ctr('tasks', 'kill', '-s', 'SIGKILL', t);
      for (const t of tasks) {
        for (let i = 0; i < 20 && ctr('tasks', 'delete', t) === '' && ctr('tasks', 'ls', '-q').includes(t); i++) await sleep(200);
      }
      const containers = ctr('containers', 'ls', '-q').split('\n').filter(Boolean);
      for (const c of containers) ctr('containers', 'delete', c);
      if (tasks.length || containers.length) report.push(`removed ${tasks.length} task(s), ${containers.length} container(s)`);
    }
    const how = await stopDaemon(p.pid, p.exe);
    report.push(`${name} (pid ${p.pid}): ${how}`);
    state.pids[name] = undefined;
    writeState(dir, state);
  }
  if (state.containerd?.address) {
    for (const pid of pidsNaming(state.containerd.address)) {
      try {
        process.kill(pid, 'SIGKILL');
        report.push(`shim (pid ${pid}): killed`);
      } catch {
        /* gone */
      }
    }
  }
  await sleep(200);
  const cgroups = removeEmptyCgroups();
  if (cgroups) report.push(`removed ${cgroups} empty cgroup(s) under /sys/fs/cgroup/*/k8s.io`);
  for (const point of mountsUnder(dir)) {
    try {
      execFileSync('umount', [point], { stdio: 'ignore' });
    } catch {
      execFileSync('umount', ['-l', point], { stdio: 'ignore' });
    }
    report.push(`unmounted ${point}`);
  }
  if (!retain) {
    rmSync(dir, { recursive: true, force: true });
    report.push(`removed ${dir}`);
  }
  return report;
}

/** One line per component: running or not, plus what a person needs to use the cluster. */
export function status(dir = DEFAULT_DIR) {
  const state = readState(dir);
  if (!state) return { running: false, lines: [`no cluster in ${dir}`] };
  const lines = [];
  let all = true;
  for (const name of [...STOP_ORDER].reverse()) {
    const p = state.pids[name];
    if (!p && OPTIONAL.includes(name)) continue; // not started with this cluster
    const alive = p ? runs(p.pid, p.exe) : false;
    all &&= alive;
    lines.push(`${name}: ${alive ? `running (pid ${p.pid})` : 'not running'}`);
  }
  lines.push(`release: ${state.release}`, `KUBECONFIG=${state.kubeconfig}`, `issuer: ${state.issuer}`, `logs: ${join(dir, 'logs')}`);
  return { running: all, lines, state };
}
