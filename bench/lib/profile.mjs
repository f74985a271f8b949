// A V8 CPU profile of the Worker inside workerd, taken through the inspector that wrangler
// dev exposes (--inspector-port): Profiler.start, run some load, Profiler.stop. `node
// --cpu-prof` cannot reach into workerd; the DevTools protocol can. Self time is attributed
// to source modules by reading the bundle wrangler built (esbuild writes a `// path` comment
// before each module's code).
import { processes } from './proc.mjs';

/** The inspector port of the wrangler dev serving `port` (read from its command line). */
export function inspectorPortOf(port) {
  for (const p of processes()) {
    const args = p.cmdline;
    const i = args.indexOf('--inspector-port');
    if (i !== -1 && args.includes(String(port)) && args.indexOf('--port') !== -1 && args[args.indexOf('--port') + 1] === String(port)) {
      return Number(args[i + 1]);
    }
  }
  throw new Error(`no wrangler dev with --port ${port}`);
}

class Inspector {
  constructor(ws) {
    this.ws = ws;
    this.next = 1;
    this.pending = new Map();
    ws.addEventListener('message', (ev) => {
      const msg = JSON.parse(typeof ev.data === 'string' ? ev.data : Buffer.from(ev.data).toString());
      const p = msg.id && this.pending.get(msg.id);
      if (p) {
        this.pending.delete(msg.id);
        msg.error ? p.reject(new Error(`${msg.error.message}`)) : p.resolve(msg.result);
      }
    });
  }

  /** `target`: wrangler dev's inspector port, or a ws:// URL of workerd's own inspector. */
  static async connect(target) {
    // wrangler's inspector proxy refuses a connection without an Origin it knows.
    const url = typeof target === 'number' ? `ws://127.0.0.1:${target}/ws` : target;
    const ws = new WebSocket(url, { headers: { Origin: 'http://127.0.0.1' } });
    await new Promise((resolve, reject) => {
      ws.addEventListener('open', resolve, { once: true });
      ws.addEventListener('error', () => reject(new Error('inspector connection failed')), { once: true });
    });
    return new Inspector(ws);
  }

  send(method, params = {}) {
    const id = this.next++;
    this.ws.send(JSON.stringify({ id, method, params }));
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      setTimeout(() => {
        if (this.pending.delete(id)) reject(new Error(`inspector: ${method} timed out`));
      }, 30_000).unref();
    });
  }

  close() {
    this.ws.close();
  }
}

/** An inspector session on the Worker behind `port` (wrangler dev's --inspector-port). */
export function openInspector(port) {
  return Inspector.connect(inspectorPortOf(port));
}

/**
 * The isolate's JS heap after a full GC: { used, total } bytes. `url` is the Worker's (it
 * must answer GET /healthz). What the Worker's own code
 * retains, without the runtime's and the allocator's memory that RSS also counts.
 */
export async function retainedHeap(insp, url) {
  await insp.send('HeapProfiler.enable');
  // workerd runs the collection when the isolate is next entered: send it a request.
  const gc = insp.send('HeapProfiler.collectGarbage');
  await fetch(`${url}/healthz`).then((r) => r.arrayBuffer());
  await gc;
  const { usedSize, totalSize } = await insp.send('Runtime.getHeapUsage');
  return { used: usedSize, total: totalSize };
}

/** Module of each line of a bundle: esbuild precedes each module with `// <path>`. */
function moduleMap(source) {
  const lines = source.split('\n');
  const map = new Array(lines.length);
  let current = '(bundle)';
  for (let i = 0; i < lines.length; i++) {
    const m = /^\/\/ (\S+\.[cm]?[jt]sx?)$/.exec(lines[i]);
    if (m) current = m[1].replace(/^(?:\.\.\/|\.\/)+/, '');
    map[i] = current;
  }
  return map;
}

/** Groups a module path: jose, zod, hono, or the edge's own file. */
export function moduleGroup(path) {
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
  if (m) return m[1];
  const own = /(?:^|\/)((?:src|bench)\/.*)$/.exec(path);
  return own ? own[1] : path;
}

/**
 * Profiles the Worker behind `port` while `during()` runs.
 * `ownInclusive`: for each function of src/, the time under it (itself and what it called),
 * each sample counted once per function even when it recurses.
 * @returns {Promise<{ totalMs: number, byModule: Array<[string, number]>, byFunction: Array<[string, number]>, ownInclusive: Array<[string, number]> }>}
 */
export function profileDuring(port, during, options) {
  return profileInspector(inspectorPortOf(port), during, options);
}

/** As profileDuring, for an inspector given by port (wrangler dev's) or ws:// URL (workerd's, lib/isolate.mjs `inspect`). */
export async function profileInspector(target, during, { samplingIntervalUs = 100 } = {}) {
  const insp = await Inspector.connect(target);
  const scripts = new Map();
  insp.ws.addEventListener('message', (ev) => {
    const msg = JSON.parse(typeof ev.data === 'string' ? ev.data : Buffer.from(ev.data).toString());
    if (msg.method === 'Debugger.scriptParsed') scripts.set(msg.params.scriptId, msg.params.url);
  });
  try {
    await insp.send('Debugger.enable');
    await insp.send('Profiler.enable');
    await insp.send('Profiler.setSamplingInterval', { interval: samplingIntervalUs });
    await insp.send('Profiler.start');
    await during();
    const { profile } = await insp.send('Profiler.stop');
    const maps = new Map();
    for (const id of new Set(profile.nodes.map((n) => n.callFrame.scriptId))) {
      if (!id || id === '0') continue;
      try {
        const { scriptSource } = await insp.send('Debugger.getScriptSource', { scriptId: id });
        maps.set(id, moduleMap(scriptSource));
      } catch {
        /* native or gone */
      }
    }
    await insp.send('Debugger.disable').catch(() => {});
    return summarize(profile, maps);
  } finally {
    insp.close();
  }
}

function summarize(profile, maps) {
  const self = new Map();
  const dt = profile.timeDeltas ?? [];
  // Self time per node: the time deltas following each of its samples.
  for (let i = 0; i < profile.samples.length; i++) {
    const d = (dt[i + 1] ?? 0) / 1000;
    self.set(profile.samples[i], (self.get(profile.samples[i]) ?? 0) + d);
  }
  const byModule = new Map();
  const byFunction = new Map();
  const ownInclusive = new Map();
  const parent = new Map();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node);
  const ownName = (cf) => {
    const group = moduleGroup(maps.get(cf.scriptId)?.[cf.lineNumber] ?? '');
    return group.startsWith('src/') ? `${cf.functionName || '(anonymous)'} ${group}` : undefined;
  };
  let total = 0;
  for (const node of profile.nodes) {
    const ms = self.get(node.id) ?? 0;
    if (!ms) continue;
    const cf = node.callFrame;
    let mod;
    if (cf.functionName === '(idle)' || cf.functionName === '(program)' || cf.functionName === '(garbage collector)') mod = cf.functionName;
    else mod = maps.get(cf.scriptId)?.[cf.lineNumber] ?? (cf.url || '(native)');
    const group = moduleGroup(mod);
    if (cf.functionName !== '(idle)') total += ms;
    byModule.set(group, (byModule.get(group) ?? 0) + ms);
    const fname = `${cf.functionName || '(anonymous)'} ${group}${cf.lineNumber >= 0 && maps.has(cf.scriptId) ? '' : ''}`;
    byFunction.set(fname, (byFunction.get(fname) ?? 0) + ms);
    const seen = new Set();
    for (let n = node; n; n = parent.get(n.id)) {
      const name = ownName(n.callFrame);
      if (name && !seen.has(name)) {
        seen.add(name);
        ownInclusive.set(name, (ownInclusive.get(name) ?? 0) + ms);
      }
    }
  }
  const sorted = (m) => [...m.entries()].filter(([k]) => k !== '(idle)').sort((a, b) => b[1] - a[1]);
  return {
    totalMs: total,
    idleMs: byModule.get('(idle)') ?? 0,
    byModule: sorted(byModule),
    byFunction: sorted(byFunction),
    ownInclusive: sorted(ownInclusive),
  };
}
