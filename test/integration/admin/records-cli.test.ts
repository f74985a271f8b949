/**
 * `npm run records` as a process, against the real local edge: validate offline, diff with CI
 * exit codes, apply (and prune), export, a concurrent writer refused with 412, history and
 * rollback. The CLI runs on the pinned Node, as `npm run` would run it.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEdge } from '../../support/edge.mjs';
import { edgeAdmin, makeCluster, trustRecord, type TestCluster } from '../../support/kit.mjs';
import { run } from '../../e2e/support/processes.mjs';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const NODE = join(ROOT, 'node_modules', 'node', 'bin', 'node');
const CLI = join(ROOT, 'scripts', 'records.mjs');

let edge: Awaited<ReturnType<typeof startEdge>>;
let dir: string;
let a: TestCluster;
let b: TestCluster;

function records(args: string[], env: Record<string, string | undefined> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return run(NODE, [CLI, ...args], { env: { PATH: process.env.PATH, EDGE_URL: edge.url, ADMIN_TOKEN: edge.adminToken, ...env } });
}

const write = (file: string, value: unknown) => writeFileSync(join(dir, file), typeof value === 'string' ? value : JSON.stringify(value, null, 2));

beforeAll(async () => {
  edge = await startEdge();
  dir = mkdtempSync(join(tmpdir(), 'ecp-records-'));
  a = await makeCluster();
  b = await makeCluster();
}, 90_000);
afterAll(async () => {
  await edge?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('npm run records', () => {
  it('validates a directory offline, naming file, path and field of each problem', async () => {
    const bad = mkdtempSync(join(tmpdir(), 'ecp-records-bad-'));
    try {
      writeFileSync(join(bad, 'one.yaml'), `issuer: ${a.issuer}\naudiences: []\nkeys: { type: discovery }\nrules: []\n`);
      writeFileSync(join(bad, 'two.json'), '{"issuer": ');
      const out = await records(['validate', bad], { EDGE_URL: undefined, ADMIN_TOKEN: undefined });
      expect(out.code).toBe(1);
      expect(out.stderr).toContain(`${join(bad, 'one.yaml')}: audiences:`);
      expect(out.stderr).toContain(`${join(bad, 'two.json')}: not valid JSON`);
    } finally {
      rmSync(bad, { recursive: true, force: true });
    }
  });

  it('validates the example directory', async () => {
    const out = await records(['validate', join(ROOT, 'examples', 'records')], { EDGE_URL: undefined, ADMIN_TOKEN: undefined });
    expect(out.stdout).toContain('2 records valid');
    expect(out.code).toBe(0);
  });

  it('diffs (exit 2), applies, then finds nothing to change (exit 0)', async () => {
    write('cluster-a.json', trustRecord(a));
    write('cluster-b.yaml', `issuer: ${b.issuer}\naudiences: [edge-credential-provider]\nkeys: { type: jwks_uri, uri: "https://b.example/jwks" }\nrules: []\n`);
    const diff = await records(['diff', dir]);
    expect(diff.code).toBe(2);
    expect(diff.stdout).toContain('+ create cluster-a');
    expect(diff.stdout).toContain('+ create cluster-b');

    const dry = await records(['apply', dir, '--dry-run']);
    expect(dry.code).toBe(0);
    expect((await edgeAdmin(edge).get('cluster-a')).status).toBe(404);

    const apply = await records(['apply', dir]);
    expect(apply.code, apply.stderr).toBe(0);
    expect((await edgeAdmin(edge).get('cluster-a')).status).toBe(200);
    expect((await records(['diff', dir])).code).toBe(0);
  });

  it('shows a field-level diff of a changed record', async () => {
    write('cluster-a.json', trustRecord(a, { audiences: ['changed'] }));
    const diff = await records(['diff', dir]);
    expect(diff.code).toBe(2);
    expect(diff.stdout).toContain('~ update cluster-a');
    expect(diff.stdout).toContain('audiences: ["edge-credential-provider"] → ["changed"]');
    expect((await records(['apply', dir])).code).toBe(0);
  });

  it('prunes records that are not in the directory only when asked', async () => {
    await edgeAdmin(edge).register('stray', trustRecord(await makeCluster()));
    const plain = await records(['apply', dir]);
    expect(plain.stdout).toContain('? not in the directory (kept; --prune deletes) stray');
    expect((await edgeAdmin(edge).get('stray')).status).toBe(200);
    const pruned = await records(['apply', dir, '--prune']);
    expect(pruned.code, pruned.stderr).toBe(0);
    expect((await edgeAdmin(edge).get('stray')).status).toBe(404);
  });

  it('exports the live records as files that diff clean', async () => {
    const out = mkdtempSync(join(tmpdir(), 'ecp-records-export-'));
    try {
      expect((await records(['export', out, '--yaml'])).code).toBe(0);
      expect(readFileSync(join(out, 'cluster-a.yaml'), 'utf8')).toContain(a.issuer);
      expect((await records(['diff', out])).code).toBe(0);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it('refuses to overwrite a record another writer changed since it was read (412)', async () => {
    const admin = edgeAdmin(edge);
    const stale = (await admin.get('cluster-a')).headers.get('etag')!;
    await admin.put('cluster-a', trustRecord(a, { audiences: ['by-someone-else'] }));
    const res = await fetch(`${edge.url}/admin/v1/issuers/cluster-a`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${edge.adminToken}`, 'content-type': 'application/json', 'if-match': stale },
      body: JSON.stringify(trustRecord(a)),
    });
    expect(res.status).toBe(412);
    expect(((await res.json()) as { error: string }).error).toBe('ERR_PRECONDITION_FAILED');
  });

  it('rolls a record back to an earlier version from its history', async () => {
    const admin = edgeAdmin(edge);
    const history = (await (
      await fetch(`${edge.url}/admin/v1/issuers/cluster-a/history`, { headers: { authorization: `Bearer ${edge.adminToken}` } })
    ).json()) as { items: { version: number; record?: { audiences: string[] } }[] };
    const first = history.items.at(-1)!;
    expect(first.record!.audiences).toEqual(['edge-credential-provider']);
    const out = await records(['rollback', 'cluster-a', String(first.version)]);
    expect(out.code, out.stderr).toBe(0);
    expect(((await (await admin.get('cluster-a')).json()) as { audiences: string[] }).audiences).toEqual(['edge-credential-provider']);
    expect((await records(['rollback', 'cluster-a', '999'])).code).toBe(1);
  });

  it('exits 1 with one clear line when the edge refuses the credentials', async () => {
    const out = await records(['diff', dir], { ADMIN_TOKEN: 'wrong' });
    expect(out.code).toBe(1);
    expect(out.stderr).toMatch(/^records: list records: 401 ERR_UNAUTHORIZED/);
    expect(out.stderr).not.toContain('wrong');
  });
});
