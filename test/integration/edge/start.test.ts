/**
 * `npm start -- --port N` as a process (scripts/dev-setup.mjs, then wrangler dev): the edge
 * listens on N, signs with EDGE_ISSUER http://127.0.0.1:N, its hints name that URL, and
 * `npm run demo` finds it there without being told.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminToken, DEV_EDGE_URL_FILE } from '../../../scripts/lib/dev-edge.mjs';
import { freePort } from '../../support/edge.mjs';
import { edgeAdmin, kubeletRequest, makeCluster, REGISTRY, trustRecord } from '../../support/kit.mjs';
import { stopGroup } from '../../support/process-group.mjs';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const NODE = join(ROOT, 'node_modules', 'node', 'bin', 'node');

let child: ReturnType<typeof spawn>;
let exited: Promise<unknown>;
let output = '';
let url: string;
let state: string;
let recorded: string | undefined;

beforeAll(async () => {
  try {
    recorded = readFileSync(DEV_EDGE_URL_FILE, 'utf8'); // a developer's own npm start: put back afterwards
  } catch {
    recorded = undefined;
  }
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  state = mkdtempSync(join(tmpdir(), 'ecp-start-'));
  child = spawn(
    NODE,
    [
      'scripts/dev-setup.mjs',
      '--port',
      String(port),
      '--persist-to',
      state,
      '--inspector-port',
      String(await freePort()),
      '--show-interactive-dev-session=false',
    ],
    { cwd: ROOT, env: { ...process.env, CI: 'true', NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  exited = new Promise((r) => child.once('exit', r));
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`npm start exited (${child.exitCode}):\n${output}`);
    if (
      await fetch(`${url}/healthz`).then(
        (r) => r.ok,
        () => false,
      )
    )
      break;
    if (Date.now() > deadline) throw new Error(`npm start did not become healthy on ${url}:\n${output}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}, 90_000);
afterAll(async () => {
  if (child) await stopGroup(child, exited);
  if (recorded === undefined) rmSync(DEV_EDGE_URL_FILE, { force: true });
  else writeFileSync(DEV_EDGE_URL_FILE, recorded);
  rmSync(state, { recursive: true, force: true });
});

describe('npm start -- --port N', () => {
  it('prints hints that name the port it listens on', () => {
    expect(output).toContain(`The edge: ${url} (EDGE_ISSUER ${url}).`);
    expect(output).toContain(`${url}/admin/v1/issuers`);
  });

  it('signs credentials with EDGE_ISSUER on that port', async () => {
    const cluster = await makeCluster();
    await edgeAdmin({ url, adminToken: adminToken() ?? '' }).register('start-test', trustRecord(cluster));
    const res = await fetch(`${url}/v1/credentials`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(kubeletRequest(`${REGISTRY}/team-a/app:v1`, await cluster.token())),
    });
    expect(res.status).toBe(200);
    const { auth } = (await res.json()) as { auth: Record<string, { password: string }> };
    expect(decodeJwt(Object.values(auth)[0]!.password).iss).toBe(url);
  });

  it('is where npm run demo looks, without EDGE_URL', () => {
    const env = { ...process.env };
    delete env.EDGE_URL;
    delete env.ADMIN_TOKEN;
    const demo = spawnSync(NODE, ['scripts/demo.mjs'], { cwd: ROOT, env, encoding: 'utf8', timeout: 60_000 });
    expect(demo.status, demo.stderr).toBe(0);
    expect(demo.stdout).toContain('POST /v1/credentials (registry.example.com/team-a/app:v1) -> 200');
  });
});
