/**
 * `npm run records` as a first-hour user meets it, against a loopback stand-in for the edge's
 * admin API: DIR relative to where the command was typed (INIT_CWD), the variable that is
 * missing named, no or an unknown command a failure, and `diff` exiting 2 only when `apply`
 * would write something (a live record not in the directory is listed; it counts with --prune).
 */
import { createServer, type Server } from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSchema } from '../../../scripts/lib/schema.mjs';
import { run } from '../../e2e/support/processes.mjs';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const NODE = join(ROOT, 'node_modules', 'node', 'bin', 'node');
const CLI = join(ROOT, 'scripts', 'records.mjs');

const record = (name: string, audience = 'edge-credential-provider') => ({
  name,
  issuer: `https://k8s.${name}.example.com`,
  audiences: [audience],
  keys: { type: 'discovery' },
  rules: [{ name: 'team-a', namespaces: ['team-a'], registry: 'registry.example.com', repositories: ['team-a/*'] }],
});

let live: Map<string, unknown>;
let server: Server;
let url: string;
let root: string;

function records(args: string[], env: Record<string, string | undefined>, cwd = ROOT): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return run(NODE, [CLI, ...args], { cwd, env: { PATH: process.env.PATH, ...env } });
}

beforeAll(async () => {
  const { TrustRecordSchema } = (await loadSchema()) as { TrustRecordSchema: { parse(v: unknown): unknown } };
  // The edge answers records as its schema stores them (defaults filled in).
  live = new Map([
    ['alpha', TrustRecordSchema.parse(record('alpha'))],
    ['stray', TrustRecordSchema.parse(record('stray'))],
  ]);
  root = mkdtempSync(join(tmpdir(), 'ecp-records-local-'));
  mkdirSync(join(root, 'infra', 'records'), { recursive: true });
  writeFileSync(join(root, 'infra', 'records', 'alpha.json'), JSON.stringify(record('alpha')));
  mkdirSync(join(root, 'changed'));
  writeFileSync(join(root, 'changed', 'alpha.json'), JSON.stringify(record('alpha', 'another-audience')));
  server = createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    if (req.headers.authorization !== 'Bearer admin-token') {
      res.statusCode = 401;
      res.end(JSON.stringify({ error: 'ERR_UNAUTHORIZED' }));
    } else if (req.url === '/admin/v1/issuers') res.end(JSON.stringify({ items: [...live.keys()] }));
    else {
      const body = live.get(req.url?.slice('/admin/v1/issuers/'.length) ?? '');
      res.statusCode = body ? 200 : 404;
      res.setHeader('etag', '"v1"');
      res.end(JSON.stringify(body ?? { error: 'ERR_NOT_FOUND' }));
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
  rmSync(root, { recursive: true, force: true });
});

describe('npm run records, first hour', () => {
  const edge = () => ({ EDGE_URL: url, ADMIN_TOKEN: 'admin-token' });

  it('reads DIR relative to the directory the command was typed in, not the package root', async () => {
    const out = await records(['validate', 'records'], { INIT_CWD: join(root, 'infra') });
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toBe('1 record valid\n');
    const missing = await records(['validate', 'nowhere'], { INIT_CWD: join(root, 'infra') });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`nowhere: no such directory (${join(root, 'infra', 'nowhere')})`);
  });

  it('exits 0 when apply would change nothing, listing the live record that is not in the directory', async () => {
    const out = await records(['diff', 'records'], { ...edge(), INIT_CWD: join(root, 'infra') });
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toContain('? not in the directory (kept; --prune deletes) stray');
    expect(out.stdout).toContain('no changes');
  });

  it('exits 2 when apply --prune would delete it, with --prune', async () => {
    const out = await records(['diff', join(root, 'infra', 'records'), '--prune'], edge());
    expect(out.code, out.stderr).toBe(2);
    expect(out.stdout).toContain('- delete stray');
  });

  it('exits 2 when apply would update a record', async () => {
    const out = await records(['diff', join(root, 'changed')], edge());
    expect(out.code, out.stderr).toBe(2);
    expect(out.stdout).toContain('~ update alpha');
  });

  it.each<[string, Record<string, string | undefined>, string, string | undefined]>([
    ['EDGE_URL', { ADMIN_TOKEN: 'admin-token' }, 'set EDGE_URL (', 'ADMIN_TOKEN'],
    ['ADMIN_TOKEN', { EDGE_URL: 'https://ecp.example.com' }, 'set ADMIN_TOKEN (', 'EDGE_URL'],
    ['both', {}, 'set EDGE_URL (', undefined],
  ])('names the missing variable (%s)', async (_what, env, says, notSaid) => {
    const out = await records(['diff', join(root, 'infra', 'records')], env);
    expect(out.code).toBe(1);
    expect(out.stderr).toContain(says);
    if (notSaid) expect(out.stderr).not.toContain(notSaid);
  });

  it.each([
    ['no command', [] as string[]],
    ['an unknown command', ['frobnicate']],
  ])('answers %s with the usage on stderr and exit code 1', async (_what, args) => {
    const out = await records(args, {});
    expect(out.code).toBe(1);
    expect(out.stdout).toBe('');
    expect(out.stderr).toContain('usage: npm run records');
  });
});
