// /proc readers for the benchmark: the processes under a wrangler dev, their CPU time and RSS.
// Linux only (the bench machine and CI are Linux); everything here is read-only.
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second for utime/stime in /proc/<pid>/stat (getconf CLK_TCK; 100 on Linux). */
export const CLK_TCK = 100;

function readStat(pid) {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // comm may contain spaces and parentheses: split after the last ')'.
  const close = text.lastIndexOf(')');
  const comm = text.slice(text.indexOf('(') + 1, close);
  const f = text.slice(close + 2).split(' ');
  // f[0] = state (field 3), so field n is f[n - 3].
  return { pid, comm, ppid: Number(f[1]), utime: Number(f[11]), stime: Number(f[12]) };
}

/** Every process as { pid, ppid, comm, cmdline }. */
export function processes() {
  const out = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const s = readStat(Number(name));
      const cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').filter(Boolean);
      out.push({ pid: s.pid, ppid: s.ppid, comm: s.comm, cmdline });
    } catch {
      /* exited while we looked */
    }
  }
  return out;
}

/** All descendants of `root` (not including it). */
export function descendants(root) {
  const all = processes();
  const found = [];
  const walk = (pid) => {
    for (const p of all)
      if (p.ppid === pid) {
        found.push(p);
        walk(p.pid);
      }
  };
  walk(root);
  return found;
}

/**
 * The processes of one `wrangler dev` (spawned as `root`): the workerd that runs the user
 * Worker (started with --inspector-addr), the workerd that runs wrangler's proxy Worker
 * (owns the public port and forwards to the first), and wrangler's Node process.
 */
export function wranglerProcesses(root) {
  const list = descendants(root);
  const workerds = list.filter((p) => p.comm === 'workerd');
  const user = workerds.find((p) => p.cmdline.some((a) => a.startsWith('--inspector-addr')));
  const proxy = workerds.find((p) => p !== user);
  const node = [{ pid: root }, ...list].filter((p) => p.pid === root || /node|MainThread/.test(p.comm ?? ''));
  if (!user) throw new Error(`no user workerd under pid ${root}: ${JSON.stringify(list.map((p) => [p.pid, p.comm]))}`);
  return { user: user.pid, proxy: proxy?.pid, node: node.map((p) => p.pid) };
}

/**
 * The same, found from the port wrangler dev listens on (test/support/edge.mjs does not
 * hand out its child's pid): the proxy workerd owns `entry=127.0.0.1:<port>`; its parent is
 * wrangler's Node process, whose other workerd child runs the user Worker.
 */
export function wranglerProcessesByPort(port) {
  const all = processes();
  const proxy = all.find((p) => p.comm === 'workerd' && p.cmdline.includes(`--socket-addr=entry=127.0.0.1:${port}`));
  if (!proxy) throw new Error(`no workerd listening on 127.0.0.1:${port}`);
  const cli = all.find((p) => p.pid === proxy.ppid);
  const launcher = cli && all.find((p) => p.pid === cli.ppid);
  const root = launcher && launcher.comm !== 'workerd' && /wrangler/.test(launcher.cmdline.join(' ')) ? launcher.pid : cli.pid;
  return wranglerProcesses(root);
}

/** utime + stime of a process (all its threads, living and exited), in seconds. */
export function cpuSeconds(pid) {
  const s = readStat(pid);
  return (s.utime + s.stime) / CLK_TCK;
}

/**
 * CPU time of a process in seconds with nanosecond resolution: the sum over its threads of
 * /proc/<pid>/task/<tid>/schedstat's first field. Threads that exit in between are lost,
 * which is fine for workerd's long-lived threads over a short interval; stat's utime+stime
 * (10 ms ticks) is used for long runs.
 */
export function threadCpuSeconds(pid) {
  let ns = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      /* thread gone */
    }
  }
  return ns / 1e9;
}

/** Resident set size in bytes (VmRSS). */
export function rssBytes(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

/** Whether a process still exists (a Worker that wrangler dev restarted has a new pid). */
export function alive(pid) {
  try {
    readFileSync(`/proc/${pid}/stat`);
    return true;
  } catch {
    return false;
  }
}

/** CPU seconds of several named processes at once: { name: seconds }. */
export function cpuSnapshot(pids) {
  const out = {};
  for (const [name, pid] of Object.entries(pids)) {
    if (Array.isArray(pid)) out[name] = pid.reduce((sum, p) => sum + safeCpu(p), 0);
    else if (pid) out[name] = safeCpu(pid);
  }
  return out;
}

function safeCpu(pid) {
  try {
    return cpuSeconds(pid);
  } catch {
    return 0;
  }
}

export function cpuDelta(before, after) {
  const out = {};
  for (const k of Object.keys(after)) out[k] = after[k] - (before[k] ?? 0);
  return out;
}
