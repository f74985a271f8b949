/**
 * Process entry point: the only module that touches `process`. Wires stdin/stdout/stderr,
 * the environment, argv and the built-in fetch into `run`, then exits with its code once
 * stdout has been flushed (exiting explicitly, so an idle keep-alive socket cannot hold
 * the kubelet waiting).
 */
import { NAME, run } from './run';
import { MAX_BUDGET_MS } from './options';

/** Last resort, should `run` ever overrun its own budget: still inside the kubelet's minute. */
const HARD_STOP_MS = MAX_BUDGET_MS + 2_000;

// Node 18 flags the built-in fetch as experimental on first use; that warning would be a
// second stderr line in the kubelet's log. Other warnings pass through.
const emitWarning = process.emitWarning;
process.emitWarning = (warning: string | Error, ...rest: unknown[]) => {
  const text = typeof warning === 'string' ? warning : warning.message;
  if (/fetch/i.test(text) && /experimental/i.test(`${text} ${String(rest[0] ?? '')}`)) return;
  emitWarning.call(process, warning, ...rest);
};

const hardStop = setTimeout(() => {
  process.stderr.write(`${NAME}: gave up after ${HARD_STOP_MS / 1000}s without a result\n`);
  process.exit(1);
}, HARD_STOP_MS) as unknown as { unref(): void };
hardStop.unref();

const exit = (code: number) => process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));

run({
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  fetch: globalThis.fetch,
  env: process.env,
  argv: process.argv.slice(2),
}).then(exit, () => {
  process.stderr.write(`${NAME}: internal error; please report it\n`);
  exit(1);
});
