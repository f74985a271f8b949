// Child processes for the end-to-end suite: one-shot commands with a time limit, and
// long-running services in their own process group, stopped by that group's id. Every
// service started here is remembered and, should a test run die before its afterAll,
// ended when this process exits. Nothing is ever stopped by name.
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { signalGroup, stopGroup } from '../../support/process-group.mjs';

const live = new Set();
process.once('exit', () => {
  for (const pid of live) signalGroup(pid, 'SIGKILL');
});

/** Absolute path of `name` on PATH, or undefined. */
export function which(name) {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const file = join(dir, name);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      /* not here */
    }
  }
  return undefined;
}

/**
 * Runs a command to completion. Never throws for a non-zero exit: the caller asserts.
 * @param {string} cmd
 * @param {string[]} args
 * @param {{ input?: string, env?: NodeJS.ProcessEnv, cwd?: string, timeoutMs?: number }} [opts]
 * @returns {Promise<{ code: number | null, signal: string | null, stdout: string, stderr: string }>}
 */
export function run(cmd, args, { input, env, cwd, timeoutMs = 60_000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: env ?? process.env, cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    child.stdin.on('error', () => {}); // a command that exits without reading its stdin: its exit code tells
    child.stdin.end(input ?? '');
  });
}

/** Like run, but throws with the command's output when it does not exit 0. */
export async function runOk(cmd, args, opts) {
  const result = await run(cmd, args, opts);
  if (result.code !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} exited ${result.code ?? result.signal}:\n${result.stdout}\n${result.stderr}`);
  }
  return result;
}

/**
 * Starts a long-running service in its own process group.
 * @returns {{ pid: number, logs: () => string, exited: () => boolean, stop: () => Promise<void> }}
 */
export function startService(cmd, args, { env, cwd } = {}) {
  const child = spawn(cmd, args, { env: env ?? process.env, cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  const append = (d) => {
    output += d;
    if (output.length > 1_000_000) output = output.slice(-500_000); // keep the tail of a chatty log
  };
  child.stdout.on('data', append);
  child.stderr.on('data', append);
  const done = new Promise((resolve) => child.once('exit', resolve));
  live.add(child.pid);
  const exited = () => child.exitCode !== null || child.signalCode !== null;
  return {
    pid: child.pid,
    logs: () => output,
    exited,
    async stop() {
      await stopGroup(child, done);
      live.delete(child.pid);
    },
  };
}

/** Polls `check` until it returns true, or throws `describe()` after `timeoutMs`. */
export async function waitFor(check, { timeoutMs = 30_000, intervalMs = 100, describe = () => 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      /* not yet */
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${describe()}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
