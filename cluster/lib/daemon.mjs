// The cluster's long-running processes. Each runs in its own process group (so a component's
// children, such as etcd's or the kubelet's helpers, end with it), writes to its own numbered
// log, and outlives the command that started it (`npm run cluster -- up` returns; `down`
// ends them by the pid recorded in the cluster's state file). A pid is only ever signalled
// after /proc confirms it still runs the binary we started, so a recycled pid is left alone.
import { spawn } from 'node:child_process';
import { appendFileSync, closeSync, openSync, readFileSync, readlinkSync } from 'node:fs';

/**
 * Starts `cmd args` detached, stdout and stderr appended to `log`.
 * @returns {{ pid: number, exe: string, exited: () => boolean, exit: Promise<{ code: number | null, signal: string | null }> }}
 */
export function startDaemon({ cmd, args, env, cwd, log, reason = 'started' }) {
  appendFileSync(log, `\n=== ${new Date().toISOString()} ${reason}: ${cmd} ${args.join(' ')}\n`);
  const fd = openSync(log, 'a');
  const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', fd, fd], detached: true });
  closeSync(fd);
  let status = null;
  const exit = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      status = { code, signal };
      resolve(status);
    });
    child.once('error', (err) => {
      status = { code: null, signal: String(err) };
      resolve(status);
    });
  });
  child.unref();
  return { pid: child.pid ?? -1, exe: cmd, exited: () => status !== null, exit };
}

/** True if `pid` is alive and runs `exe` (compared by /proc/<pid>/exe, deleted binaries included). */
export function runs(pid, exe) {
  try {
    const link = readlinkSync(`/proc/${pid}/exe`).replace(/ \(deleted\)$/, '');
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return link === exe && state !== 'Z';
  } catch {
    return false;
  }
}

function signalGroup(pid, signal) {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      /* gone */
    }
  }
}

/**
 * Stops the daemon `pid` (and its process group): SIGTERM, then SIGKILL after `graceMs`.
 * Resolves once it is gone; a pid that no longer runs `exe` is not touched.
 */
export async function stopDaemon(pid, exe, { graceMs = 10_000 } = {}) {
  if (!runs(pid, exe)) return 'not running';
  signalGroup(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (runs(pid, exe)) {
    if (Date.now() > deadline) {
      signalGroup(pid, 'SIGKILL');
      await sleep(200);
      if (!runs(pid, exe)) return 'killed';
    }
    await sleep(100);
  }
  return 'stopped';
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Polls `check` until it returns a truthy value, racing the daemon's exit: a component that
 * dies while we wait fails at once, with the tail of its log; one that times out is stopped.
 */
export async function waitReady(daemon, check, { what, log, timeoutMs = 60_000, intervalMs = 250 }) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (daemon?.exited()) throw new Error(`${what} exited while starting; its log (${log}):\n${tail(log)}`);
    try {
      const ok = await check();
      if (ok) return ok;
    } catch {
      /* not yet */
    }
    if (Date.now() > deadline) {
      // Not left running unrecorded: the caller never learns its pid.
      if (daemon) await stopDaemon(daemon.pid, daemon.exe);
      throw new Error(`${what} not ready after ${timeoutMs / 1000} s; its log (${log}):\n${tail(log)}`);
    }
    await sleep(intervalMs);
  }
}

/** The last `lines` lines of a log file. */
export function tail(file, lines = 40) {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/**
 * Runs `start` (which picks free ports and starts a component) again, up to `attempts` times,
 * when the component died because a port it was given was taken in the meantime: a port the
 * kernel called free can be handed to another process's outgoing connection before the
 * component binds it.
 */
export async function retryOnPortClash(start, attempts = 3) {
  for (let i = 1; ; i++) {
    try {
      return await start();
    } catch (err) {
      if (i >= attempts || !/address already in use/.test(String(err))) throw err;
    }
  }
}
