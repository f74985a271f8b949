/**
 * Process entry point: the only module that touches `process`. Wires stdin/stdout/stderr,
 * the environment, argv and node:http (transport.ts) into `run`, then exits with its code once
 * stdout has been flushed (exiting explicitly, so an idle keep-alive socket cannot hold
 * the kubelet waiting).
 */
import { NAME, run } from './run';
import { MAX_BUDGET_MS } from './options';
import { nodePost } from './transport';
import { nodeFiles } from './files';

// In a single executable Node runs the injected script with __filename = process.execPath,
// so this names the SEA there and the script file otherwise: what --copy-binary-to copies.
declare const __filename: string;

/** Last resort, should `run` ever overrun its own budget: still inside the kubelet's minute. */
const HARD_STOP_MS = MAX_BUDGET_MS + 2_000;

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
  post: nodePost,
  env: process.env,
  argv: process.argv.slice(2),
  files: nodeFiles,
  self: __filename,
}).then(exit, () => {
  process.stderr.write(`${NAME}: internal error; please report it\n`);
  exit(1);
});
