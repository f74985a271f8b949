#!/usr/bin/env node
// `npm run bench`: what an exchange costs, against the crypto floor, on this machine.
//
//   node bench/run.mjs [--only floor,warm,token,plugin,cold,startup,soak] [--skip soak] [--runs 3] [--quick]
//
// Sections: floor (1), warm (2), token (3), plugin (4), cold (5, cold start of trust),
// startup (6, cold start of the Worker: bundle size, start-up CPU, first request), soak (60 s, memory).
// Prints the report (Markdown) on stdout, progress on stderr, and writes bench/out/latest.md
// and bench/out/latest.json. Exit code 1 if a section could not run; a missed target is
// reported, not an error (no timing assertion belongs in a test suite). Runs on a snapshot
// of the tree (see lib/snapshot.mjs); `--in-place` runs on the tree itself.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BenchContext } from './lib/context.mjs';
import { render } from './lib/report.mjs';
import { describeTree, makeSnapshot, removeSnapshot } from './lib/snapshot.mjs';
import { coldSection } from './sections/cold.mjs';
import { floorSection } from './sections/floor.mjs';
import { pluginSection } from './sections/plugin.mjs';
import { soakSection } from './sections/soak.mjs';
import { startupSection } from './sections/startup.mjs';
import { tokenSection } from './sections/token.mjs';
import { warmSection } from './sections/warm.mjs';

const SECTIONS = {
  floor: floorSection,
  warm: warmSection,
  token: tokenSection,
  plugin: pluginSection,
  cold: coldSection,
  startup: startupSection,
  soak: soakSection,
};
const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Set in the snapshot's run: the tree the snapshot was taken from (its bench/out gets the report). */
const ORIGIN = process.env.ECP_BENCH_ORIGIN;
const OUT = join(ORIGIN ?? ROOT, 'bench', 'out');

const argv = process.argv.slice(2);
if (!ORIGIN && !argv.includes('--in-place')) {
  const snapshot = makeSnapshot(ROOT);
  process.stderr.write(`[bench] measuring a snapshot of ${ROOT} in ${snapshot}\n`);
  let status = 1;
  // Ctrl-C reaches the child too (same process group); it stops its servers, then we clean up.
  process.on('SIGINT', () => {});
  process.on('SIGTERM', () => {});
  try {
    const r = spawnSync(process.execPath, [join(snapshot, 'bench', 'run.mjs'), ...argv], {
      cwd: snapshot,
      stdio: 'inherit',
      env: { ...process.env, ECP_BENCH_ORIGIN: ROOT, ECP_BENCH_TREE: describeTree(ROOT) },
    });
    status = r.status ?? 1;
  } finally {
    removeSnapshot(snapshot);
  }
  process.exit(status);
}

function parseArgs(argv) {
  const o = { only: Object.keys(SECTIONS), runs: 3, quick: false };
  argv = argv.filter((a) => a !== '--in-place');
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a.startsWith('--only')) o.only = value().split(',');
    else if (a.startsWith('--skip')) {
      const skip = value().split(',');
      o.only = o.only.filter((s) => !skip.includes(s));
    } else if (a.startsWith('--runs')) o.runs = Math.max(1, Number(value()));
    else if (a === '--quick') o.quick = true;
    else throw new Error(`unknown argument ${a}`);
  }
  for (const s of o.only) if (!SECTIONS[s]) throw new Error(`unknown section ${s}; sections: ${Object.keys(SECTIONS).join(', ')}`);
  return o;
}

const opts = parseArgs(argv);
const log = (line) => process.stderr.write(`${line}\n`);
const ctx = new BenchContext({ runs: opts.runs, quick: opts.quick, log });
const started = Date.now();
const results = {};
const errors = {};
const stopAll = async () => {
  await ctx.close();
  process.exit(130);
};
process.once('SIGINT', stopAll);
process.once('SIGTERM', stopAll);
try {
  for (const name of opts.only) {
    const t = Date.now();
    log(`[bench] ${name}`);
    try {
      results[name] = await SECTIONS[name](ctx);
    } catch (err) {
      errors[name] = err instanceof Error ? err.message : String(err);
      log(`[bench] ${name} FAILED: ${errors[name]}`);
    }
    log(`[bench] ${name} took ${((Date.now() - t) / 1000).toFixed(0)} s`);
  }
} finally {
  await ctx.close();
}
const command = `npm run bench${argv.length ? ` -- ${argv.join(' ')}` : ''}`;
const tree = process.env.ECP_BENCH_TREE ?? describeTree(ROOT);
const report = render({ results, errors, opts, command, tree, seconds: (Date.now() - started) / 1000 });
mkdirSync(OUT, { recursive: true });
writeFileSync(join(OUT, 'latest.md'), report);
writeFileSync(
  join(OUT, 'latest.json'),
  JSON.stringify({ date: new Date().toISOString(), command, tree, seconds: (Date.now() - started) / 1000, opts, results, errors }, null, 2),
);
process.stdout.write(report);
log(`[bench] done in ${((Date.now() - started) / 1000).toFixed(0)} s; report in bench/out/latest.md`);
process.exitCode = Object.keys(errors).length ? 1 : 0;
