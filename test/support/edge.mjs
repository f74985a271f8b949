// Starts the real edge (`wrangler dev`, local mode) on a free loopback port for Node-side
// tests, end-to-end runs and benchmarks. Each instance gets its own KV directory and its
// own fresh key ring and admin token; nothing from the developer's .dev.vars leaks in.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateAdminToken, generateKeyRing } from '../../scripts/lib/keys.mjs';
import { stopGroup } from './process-group.mjs';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
// Run wrangler's JS entry on this very Node (the pinned one), not whatever `node` is on PATH.
const WRANGLER = join(ROOT, 'node_modules', 'wrangler', 'bin', 'wrangler.js');

/** A free TCP port on 127.0.0.1, chosen by the kernel. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Starts `wrangler dev --local` for a Worker config on a free loopback port (or `port`, to
 * restart a Worker where its clients expect it), with `vars` (bindings and secrets) from a
 * private env file, its own KV directory, and waits for GET /healthz. The edge (startEdge)
 * and the bench Worker both start this way.
 * @param {{ config?: string, vars: (url: string) => Record<string,string>, timeoutMs?: number, label?: string, port?: number }} opts
 * @returns {Promise<{ url: string, port: number, pid: number, logs: () => string, stop: () => Promise<void> }>}
 */
export async function startWrangler(opts) {
  const label = opts.label ?? 'wrangler dev';
  const dir = mkdtempSync(join(tmpdir(), 'ecp-wrangler-'));
  const port = opts.port ?? (await freePort());
  const inspectorPort = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const envFile = join(dir, 'worker.env');
  writeFileSync(
    envFile,
    Object.entries(opts.vars(url))
      .map(([k, v]) => `${k}='${v}'`)
      .join('\n') + '\n',
    { mode: 0o600 },
  );

  let output = '';
  const child = spawn(
    process.execPath,
    [
      WRANGLER,
      'dev',
      ...(opts.config ? ['--config', opts.config] : []),
      '--local',
      '--ip',
      '127.0.0.1',
      '--port',
      String(port),
      '--inspector-port',
      String(inspectorPort),
      '--persist-to',
      join(dir, 'state'),
      '--env-file',
      envFile,
      '--show-interactive-dev-session=false',
      '--log-level',
      'log',
    ],
    {
      cwd: ROOT,
      env: { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: 'false', WRANGLER_SEND_METRICS: 'false', CI: 'true', NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // its own process group, so stop() ends workerd too
    },
  );
  // stdout and stderr interleave in one log: append whole lines only, so that a chunk of one
  // never lands inside a line of the other (tests parse the JSON log lines).
  const partial = { out: '', err: '' };
  const append = (stream) => (d) => {
    const text = partial[stream] + d;
    const cut = text.lastIndexOf('\n') + 1;
    output += text.slice(0, cut);
    partial[stream] = text.slice(cut);
  };
  child.stdout.on('data', append('out'));
  child.stderr.on('data', append('err'));
  const everything = () => output + partial.out + partial.err;
  const exited = new Promise((resolve) => child.once('exit', resolve));

  const stop = async () => {
    await stopGroup(child, exited);
    rmSync(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`${label} exited early (${child.exitCode}):\n${everything()}`);
    }
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.ok) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`${label} did not become healthy on ${url}:\n${everything()}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { url, port, pid: child.pid, logs: () => output, stop };
}

/**
 * The EDGE_SIGNING_KEYS secret (src/signing/keys.ts; made by scripts/lib/keys.mjs).
 * @typedef {{ active: string, keys: Array<{ kid: string, privateJwk: import('jose').JWK, certificate?: string }>,
 *   workload?: { active: string, keys: Array<{ kid: string, privateJwk: import('jose').JWK }> },
 *   rsa?: { active: string, keys: Array<{ kid: string, privateJwk: import('jose').JWK }> } }} KeyRingSecret
 */

/**
 * The edge, with a fresh key ring and admin token unless given. `port`: listen there instead
 * of on a free port (a restart with a rotated key ring keeps the issuer URL, EDGE_ISSUER).
 * @param {{ vars?: Record<string,string>, keyRing?: KeyRingSecret, adminToken?: string, timeoutMs?: number, port?: number }} [opts]
 * @returns {Promise<{ url: string, port: number, pid: number, adminToken: string, keyRing: KeyRingSecret, logs: () => string, stop: () => Promise<void> }>}
 */
export async function startEdge(opts = {}) {
  const keyRing = opts.keyRing ?? generateKeyRing();
  const adminToken = opts.adminToken ?? generateAdminToken();
  const worker = await startWrangler({
    label: 'edge (wrangler dev)',
    timeoutMs: opts.timeoutMs,
    port: opts.port,
    // ALLOW_ENDPOINT_OVERRIDES: the vendor fakes listen on loopback (a production edge leaves it unset).
    vars: (url) => ({
      EDGE_ISSUER: url,
      AUDIT_LOG: 'on',
      ALLOW_ENDPOINT_OVERRIDES: 'on',
      ...opts.vars,
      EDGE_SIGNING_KEYS: JSON.stringify(keyRing),
      ADMIN_TOKEN: adminToken,
    }),
  });
  return { ...worker, adminToken, keyRing };
}
