#!/usr/bin/env node
// `node bench/compare.mjs a.json b.json`: how far two bench runs (bench/out/latest.json of
// each, copied aside) are apart on the in-isolate rows: per op, the medians and their
// difference relative to the smaller of the two, then the largest. This is how bench/README.md
// states what two runs on one machine may differ by. Only ops present in both are compared.
import { readFileSync } from 'node:fs';
import { fmt, table } from './lib/stats.mjs';

const [fileA, fileB] = process.argv.slice(2);
if (!fileA || !fileB) {
  console.error('usage: node bench/compare.mjs <first latest.json> <second latest.json>');
  process.exit(2);
}
const load = (file) => JSON.parse(readFileSync(file, 'utf8'));
const a = load(fileA);
const b = load(fileB);
if (!a.results.floor || !b.results.floor) throw new Error('both runs need the floor section (npm run bench -- --only floor)');

/** The in-isolate rows: the crypto floor, the app (edge and minimal Worker) and the target ratios. */
function rows(run) {
  const f = run.results.floor;
  const out = new Map();
  for (const [op, m] of Object.entries(f.floor)) out.set(op, m.cpuUs);
  for (const [op, m] of Object.entries(f.steps)) if (op.startsWith('app/')) out.set(op, m.cpuUs);
  for (const t of f.targets ?? []) out.set(`${t.label} / minimal Worker (ratio)`, t.ratio);
  return out;
}

const ra = rows(a);
const rb = rows(b);
const diffs = [...ra.keys()]
  .filter((k) => rb.has(k))
  .map((k) => {
    const [x, y] = [ra.get(k), rb.get(k)];
    return { k, x, y, rel: Math.abs(x - y) / Math.min(x, y) };
  });
console.log(`${fileA} (${a.date}) vs ${fileB} (${b.date})\n`);
console.log(
  table(
    ['row', 'first', 'second', 'difference'],
    diffs.map((d) => [d.k, fmt(d.x, 2), fmt(d.y, 2), `${fmt(d.rel * 100, 1)}%`]),
  ),
);
const worst = (list) => list.reduce((m, d) => (d.rel > m.rel ? d : m), { rel: -1 });
const cpu = worst(diffs.filter((d) => !d.k.endsWith('(ratio)')));
const ratios = worst(diffs.filter((d) => d.k.endsWith('(ratio)')));
console.log(`\nlargest difference, µs rows: ${fmt(cpu.rel * 100, 1)}% (${cpu.k})`);
if (ratios.rel >= 0) console.log(`largest difference, target ratios: ${fmt(ratios.rel * 100, 1)}% (${ratios.k})`);
