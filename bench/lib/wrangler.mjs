// Starts a bench Worker (bench/floor.wrangler.toml) under `wrangler dev --local` exactly the
// way test/support/edge.mjs starts the edge (same wrangler, same workerd, same flags), so
// that the floor and the edge are measured in the same runtime.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../test/support/edge.mjs';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const WRANGLER = join(ROOT, 'node_modules', 'wrangler', 'bin', 'wrangler.js');

/**
 * @param {{ config: string, vars?: Record<string,string>, timeoutMs?: number }} opts
 * @returns {Promise<{ url: string, pid: number, logs: () => string, stop: () => Promise<void> }>}
 */
export async function startWorker(opts) {
  const dir = mkdtempSync(join(tmpdir(), 'ecp-bench-'));
  const port = await freePort();
  const inspectorPort = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const envFile = join(dir, 'bench.env');
  writeFileSync(envFile, Object.entries(opts.vars ?? {}).map(([k, v]) => `${k}='${v}'`).join('\n') + '\n', { mode: 0o600 });
  let output = '';
  const child = spawn(
    process.execPath,
    [WRANGLER, 'dev', '--config', opts.config, '--local', '--ip', '127.0.0.1', '--port', String(port),
      '--inspector-port', String(inspectorPort), '--persist-to', join(dir, 'state'), '--env-file', envFile,
      '--show-interactive-dev-session=false', '--log-level', 'log'],
    {
      cwd: ROOT,
      env: { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: 'false', WRANGLER_SEND_METRICS: 'false', CI: 'true', NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    },
  );
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      try { process.kill(-child.pid, 'SIGTERM'); } catch { /* gone */ }
      const timer = setTimeout(() => { try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ } }, 5000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`wrangler dev (${opts.config}) exited early (${child.exitCode}):\n${output}`);
    }
    try {
      if ((await fetch(`${url}/healthz`)).ok) break;
    } catch { /* not yet */ }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`bench worker did not start on ${url}:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { url, pid: child.pid, logs: () => output, stop };
}
