#!/usr/bin/env node
// Measures start-up cost: median and p90 wall time of N runs of `--version` for the script
// build (on the pinned Node and on the system Node) and the SEA build, next to `node -e 0`.
//   node plugin/measure-start.mjs [runs]      (build both first: npm run build:sea)
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { PLUGIN_FILE } from './build.mjs';
import { SEA_FILE } from './build-sea.mjs';

const runs = Number(process.argv[2] ?? 30);
const systemNode = ['/usr/local/bin/node', '/usr/bin/node'].find(existsSync);

function measure(label, cmd, args) {
  spawnSync(cmd, args); // warm the page cache
  const times = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const r = spawnSync(cmd, args, { stdio: 'ignore' });
    times.push(performance.now() - t0);
    if (r.status !== 0) throw new Error(`${label} exited ${r.status}`);
  }
  times.sort((a, b) => a - b);
  const pick = (q) => times[Math.min(times.length - 1, Math.floor(q * times.length))].toFixed(0);
  console.log(`${label.padEnd(44)} median ${pick(0.5).padStart(4)} ms   p90 ${pick(0.9).padStart(4)} ms`);
}

const pinned = process.execPath;
const version = (node) => spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim();
console.log(`${runs} runs each; plugin ${statSync(PLUGIN_FILE).size} bytes` + (existsSync(SEA_FILE) ? `, SEA ${statSync(SEA_FILE).size} bytes` : ''));
measure(`node -e 0 (${version(pinned)})`, pinned, ['-e', '0']);
measure(`plugin --version (${version(pinned)})`, pinned, [PLUGIN_FILE, '--version']);
if (systemNode) {
  measure(`node -e 0 (${version(systemNode)})`, systemNode, ['-e', '0']);
  measure(`plugin --version (${version(systemNode)})`, systemNode, [PLUGIN_FILE, '--version']);
}
if (existsSync(SEA_FILE)) measure('SEA --version', SEA_FILE, ['--version']);
