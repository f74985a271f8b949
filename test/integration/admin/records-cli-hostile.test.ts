/**
 * `npm run records` against an edge it must not trust: a loopback server that answers record
 * names built to escape the export directory or to drive the terminal. The CLI refuses them
 * (exit 1) and writes nothing; plain http to a host that is not loopback is refused before
 * the admin token is sent.
 */
import { createServer, type Server } from 'node:http';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../e2e/support/processes.mjs';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const NODE = join(ROOT, 'node_modules', 'node', 'bin', 'node');
const CLI = join(ROOT, 'scripts', 'records.mjs');

let names: unknown[] = [];
let requests: string[] = [];
let server: Server;
let url: string;
let root: string;

function records(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return run(NODE, [CLI, ...args], { env: { PATH: process.env.PATH, ADMIN_TOKEN: 'admin-token', ...env } });
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'ecp-hostile-'));
  server = createServer((req, res) => {
    requests.push(req.url ?? '');
    res.setHeader('content-type', 'application/json');
    if (req.url === '/admin/v1/issuers') res.end(JSON.stringify({ items: names }));
    else res.end(JSON.stringify({ name: 'x', issuer: 'https://x.test' }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
  rmSync(root, { recursive: true, force: true });
});

describe('npm run records against a hostile edge', () => {
  it.each([
    ['a path out of the directory', '../../escaped'],
    ['an absolute path', '/tmp/escaped'],
    ['a terminal escape sequence', 'x\u001b]0;owned\u0007'],
    ['a newline that forges output', 'x\nexported 0 record(s)'],
    ['a name that is not a string', { toString: 'x' }],
  ])('refuses to export a record name holding %s, and writes nothing', async (_t, name) => {
    names = ['fine', name];
    requests = [];
    const dir = join(root, `out-${Math.random().toString(36).slice(2)}`);
    const out = await records(['export', dir], { EDGE_URL: url });
    expect(out.code).toBe(1);
    expect(out.stderr).toContain('not DNS labels');
    expect([...(out.stderr + out.stdout)].filter((c) => c !== '\n' && c.charCodeAt(0) < 0x20)).toEqual([]); // nothing raw reaches the terminal
    expect(out.stderr.trim().split('\n')).toHaveLength(1);
    expect(existsSync(dir) ? readdirSync(dir) : []).toEqual([]);
    expect(existsSync(join(root, 'escaped.json'))).toBe(false);
    expect(requests).toEqual(['/admin/v1/issuers']); // no record fetched by a hostile name either
  });

  it.each(['http://ecp.example.com', 'http://10.1.2.3:8787', 'https://user:secret@ecp.example.com'])(
    'refuses EDGE_URL %s before sending the admin token',
    async (edgeUrl) => {
      const out = await records(['export', join(root, 'never')], { EDGE_URL: edgeUrl });
      expect(out.code).toBe(1);
      expect(out.stderr).toMatch(/EDGE_URL must/);
      expect(out.stderr).not.toContain('secret');
    },
  );
});
