#!/usr/bin/env node
// `npm run bench`: what an exchange costs, against the crypto floor, on this machine.
//
//   node bench/run.mjs [--only floor,warm,token,plugin,cold,soak] [--skip soak] [--runs 3] [--quick]
//
// Sections: floor (1), warm (2), token (3), plugin (4), cold (5), soak (60 s, memory).
// Prints the report (Markdown) on stdout, progress on stderr, and writes bench/out/latest.md
// and bench/out/latest.json. Exit code 1 if a section could not run; a missed target is
// reported, not an error (no timing assertion belongs in a test suite).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BenchContext } from './lib/context.mjs';
import { render } from './lib/report.mjs';
import { coldSection } from './sections/cold.mjs';
import { floorSection } from './sections/floor.mjs';
import { pluginSection } from './sections/plugin.mjs';
import { soakSection } from './sections/soak.mjs';
import { tokenSection } from './sections/token.mjs';
import { warmSection } from './sections/warm.mjs';

const SECTIONS = { floor: floorSection, warm: warmSection, token: tokenSection, plugin: pluginSection, cold: coldSection, soak: soakSection };
const OUT = fileURLToPath(new URL('./out/', import.meta.url));

function parseArgs(argv) {
  const o = { only: Object.keys(SECTIONS), runs: 3, quick: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a.startsWith('--only')) o.only = value().split(',');
    else if (a.startsWith('--skip')) { const skip = value().split(','); o.only = o.only.filter((s) => !skip.includes(s)); }
    else if (a.startsWith('--runs')) o.runs = Math.max(1, Number(value()));
    else if (a === '--quick') o.quick = true;
    else throw new Error(`unknown argument ${a}`);
  }
  for (const s of o.only) if (!SECTIONS[s]) throw new Error(`unknown section ${s}; sections: ${Object.keys(SECTIONS).join(', ')}`);
  return o;
}

const opts = parseArgs(process.argv.slice(2));
const log = (line) => process.stderr.write(`${line}\n`);
const ctx = new BenchContext({ runs: opts.runs, quick: opts.quick, log });
const started = Date.now();
const results = {};
const errors = {};
const stopAll = async () => { await ctx.close(); process.exit(130); };
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
const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
const report = render({ results, errors, opts, command, seconds: (Date.now() - started) / 1000 });
mkdirSync(OUT, { recursive: true });
writeFileSync(join(OUT, 'latest.md'), report);
writeFileSync(join(OUT, 'latest.json'), JSON.stringify({ date: new Date().toISOString(), command, opts, results, errors }, null, 2));
process.stdout.write(report);
log(`[bench] done in ${((Date.now() - started) / 1000).toFixed(0)} s; report in bench/out/latest.md`);
process.exitCode = Object.keys(errors).length ? 1 : 0;
