#!/usr/bin/env node
// The records, upstream and keys-sync CLIs as one command, `ecp <cli> [arguments]`, and the
// entry that `npm run build:cli` bundles into dist/cli/ecp.mjs: one file, Node >= 18, no
// dependencies at run time (the edge's schemas from src/, zod and yaml are inside), for a CI job
// or a CronJob that has no checkout. From a checkout, `node scripts/ecp.mjs records ...` runs the
// same code as `npm run records -- ...`.
//
// Each CLI module runs itself when it is loaded, reading process.argv as if it had been started
// alone: this takes the CLI's name out of argv and then loads that one module (a dynamic import,
// which the bundle keeps lazy: the other CLIs' code is never run). Exit codes are the CLI's own.
import './lib/compat.mjs';

const CLIS = {
  records: () => import('./records.mjs'),
  upstream: () => import('./upstream.mjs'),
  'keys-sync': () => import('./keys-sync.mjs'),
};

const USAGE = `usage: ecp <cli> [arguments]      (node ecp.mjs, or the file itself: it has a #! line)

  records     trust records as code: validate, diff, apply, export, rollback
  upstream    the vendor-side trust entry for a federated rule
  keys-sync   push a cluster's service-account keys to its trust record

ecp <cli> --help shows each one's arguments; docs/cli.md says where this file comes from.`;

const [name] = process.argv.splice(2, 1);
if (name === '--help' || name === '-h' || name === 'help') {
  process.stdout.write(`${USAGE}\n`);
} else if (name === undefined) {
  process.stderr.write(`ecp: a cli is needed\n${USAGE}\n`);
  process.exitCode = 1;
} else if (!Object.hasOwn(CLIS, name)) {
  process.stderr.write(`ecp: unknown cli ${JSON.stringify(name).slice(0, 80)}\n${USAGE}\n`);
  process.exitCode = 1;
} else {
  await CLIS[name]();
}
