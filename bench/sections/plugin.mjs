// (4) The exec plugin: wall time of one invocation as the kubelet makes it (spawn, request
// on stdin, POST to the edge on loopback, response on stdout, exit), for the plain file
// (run by its shebang on the pinned Node) and the single executable (SEA), against
// `node -e 0` on the same Node plus one loopback round trip of the same exchange from a
// warm process on a fresh connection (what the plugin cannot avoid). For reference, the
// least any Node plugin can do: a cold `node -e` that reads stdin, POSTs it with node:http
// and prints the answer.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from '../lib/http.mjs';
import { kubeletRequest, saTokens } from '../lib/fixtures.mjs';
import { median, percentile } from '../lib/stats.mjs';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const PLUGIN_FILE = join(ROOT, 'plugin', 'dist', 'edge-credential-provider');
export const SEA_FILE = join(ROOT, 'plugin', 'dist', 'sea', 'edge-credential-provider');

function newestSource(dir) {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestSource(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** Builds with the project's own npm scripts when a build is missing or older than plugin/src. */
function ensureBuilt(ctx, file, script) {
  const src = newestSource(join(ROOT, 'plugin', 'src'));
  if (existsSync(file) && statSync(file).mtimeMs >= src) return 'up to date';
  ctx.log(`  building ${file.slice(ROOT.length)} (npm run ${script})`);
  const npmScript = { 'build:plugin': 'plugin/build.mjs', 'build:sea': 'plugin/build-sea.mjs' }[script];
  execFileSync(process.execPath, [join(ROOT, npmScript)], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  if (!existsSync(file)) throw new Error(`npm run ${script} did not produce ${file}`);
  return 'built now';
}

/** Reads stdin, POSTs it, prints the answer: the floor for a plugin written for Node. */
const MINIMAL_CLIENT = `const b=require('fs').readFileSync(0,'utf8');
require('http').request(process.argv[1],{method:'POST',headers:{'content-type':'application/json','content-length':Buffer.byteLength(b)}},(r)=>{
let t='';r.setEncoding('utf8');r.on('data',(d)=>t+=d);r.on('end',()=>{process.stdout.write(t);process.exitCode=r.statusCode===200?0:1;});}).end(b);`;

export async function pluginSection(ctx) {
  const edge = await ctx.edge();
  const runs = ctx.quick ? 8 : 25;
  const files = {
    file: { path: PLUGIN_FILE, build: ensureBuilt(ctx, PLUGIN_FILE, 'build:plugin') },
    sea: { path: SEA_FILE, build: ensureBuilt(ctx, SEA_FILE, 'build:sea') },
  };
  const env = { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH}`, EDGE_CREDENTIAL_PROVIDER_URL: edge.url };
  const inputs = (await saTokens(edge.iss, runs + 2, 'RS256')).map((t) => JSON.stringify(kubeletRequest(t)));

  const invoke = (cmd, args, input) => {
    const t = process.hrtime.bigint();
    const r = spawnSync(cmd, args, { input, env, encoding: 'utf8', timeout: 60_000 });
    const ms = Number(process.hrtime.bigint() - t) / 1e6;
    return { ms, status: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  const check = (label, r) => {
    if (r.status !== 0) throw new Error(`${label} exited ${r.status}: ${r.stderr.trim().slice(0, 300)}`);
    if (label !== 'node -e 0' && JSON.parse(r.stdout).kind !== 'CredentialProviderResponse') throw new Error(`${label} wrote no CredentialProviderResponse`);
  };
  const variants = {
    'node -e 0': (input) => invoke(process.execPath, ['-e', '0'], input),
    'minimal node:http client': (input) => invoke(process.execPath, ['-e', MINIMAL_CLIENT, `${edge.url}/v1/credentials`], input),
    'plugin file': (input) => invoke(PLUGIN_FILE, [], input),
    'plugin SEA': (input) => invoke(SEA_FILE, [], input),
  };
  const times = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
  const rtt = [];
  // One untimed pass warms the page cache; then interleave, so drift hits all alike.
  for (const [label, run] of Object.entries(variants)) check(label, run(inputs[0]));
  for (let i = 0; i < runs; i++) {
    const input = inputs[i + 1];
    for (const [label, run] of Object.entries(variants)) {
      const r = run(input);
      check(label, r);
      times[label].push(r.ms);
    }
    const rt = await request(`${edge.url}/v1/credentials`, { body: input, headers: { 'content-type': 'application/json' } });
    if (rt.status !== 200) throw new Error(`loopback round trip answered ${rt.status}`);
    rtt.push(rt.ms);
  }
  const node0 = median(times['node -e 0']);
  const rttMs = median(rtt);
  const rows = Object.entries(times).map(([label, xs]) => ({ label, runs, median: median(xs), p90: percentile(xs, 90) }));
  const budget = node0 + rttMs;
  const minimal = median(times['minimal node:http client']);
  for (const r of rows) ctx.log(`  ${r.label.padEnd(12)} median ${r.median.toFixed(1)} ms, p90 ${r.p90.toFixed(1)} ms`);
  ctx.log(`  loopback round trip (fresh connection, warm client) median ${rttMs.toFixed(2)} ms`);
  return {
    runs,
    node: process.version,
    files: Object.fromEntries(Object.entries(files).map(([k, v]) => [k, { path: v.path.slice(ROOT.length), bytes: statSync(v.path).size, build: v.build }])),
    rows,
    node0,
    rttMs,
    budget,
    minimal,
    loadavg: loadavg()[0],
    ratios: Object.fromEntries(rows.filter((r) => r.label.startsWith('plugin')).map((r) => [r.label, r.median / budget])),
    vsMinimal: Object.fromEntries(rows.filter((r) => r.label.startsWith('plugin')).map((r) => [r.label, r.median / minimal])),
  };
}
