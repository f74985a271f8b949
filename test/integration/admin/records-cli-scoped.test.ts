/**
 * `npm run records` with a scoped token (ADMIN_TOKEN_<NAME>, ADMIN_SCOPES) against the real local
 * edge: one directory for every team, as examples/owned-records lays it out; each team's token
 * diffs and applies its own records, skips the others' files, prunes only what it may write, and
 * an apply that needs a scope the token lacks is refused before anything is written; and the
 * example directory applied once per owner token, as its workflow does.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../e2e/support/processes.mjs';
import { startEdge } from '../../support/edge.mjs';
import { edgeAdmin, makeCluster, trustRecord, type TestCluster } from '../../support/kit.mjs';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const NODE = join(ROOT, 'node_modules', 'node', 'bin', 'node');
const CLI = join(ROOT, 'scripts', 'records.mjs');

const TEAM_A = 'team-a-ci-token-0123456789abcdef';
const TEAM_A_OWNER = 'team-a-owner-token-0123456789abcdef';
const SCOPES = {
  tokens: {
    TEAM_A: { records: ['team-a-*'], actions: ['read', 'write'] },
    TEAM_A_OWNER: { records: ['team-a-*'], actions: ['read', 'write', 'keys'] },
  },
};

let edge: Awaited<ReturnType<typeof startEdge>>;
let dir: string;
let clusters: Record<'a1' | 'a2' | 'b1', TestCluster>;

function records(args: string[], token: string) {
  return run(NODE, [CLI, ...args], { env: { PATH: process.env.PATH, EDGE_URL: edge.url, ADMIN_TOKEN: token } });
}
const write = (name: string, record: unknown) => writeFileSync(join(dir, `${name}.json`), JSON.stringify(record, null, 2));
const status = async (name: string) => (await edgeAdmin(edge).get(name)).status;

beforeAll(async () => {
  edge = await startEdge({ vars: { ADMIN_SCOPES: JSON.stringify(SCOPES), ADMIN_TOKEN_TEAM_A: TEAM_A, ADMIN_TOKEN_TEAM_A_OWNER: TEAM_A_OWNER } });
  dir = mkdtempSync(join(tmpdir(), 'ecp-records-scoped-'));
  const [a1, a2, b1] = await Promise.all([makeCluster(), makeCluster(), makeCluster()]);
  clusters = { a1: a1!, a2: a2!, b1: b1! };
  // team-a-eu exists; team-b-eu belongs to another team (and its file is in the same directory).
  await edgeAdmin(edge).register('team-a-eu', trustRecord(clusters.a1));
  await edgeAdmin(edge).register('team-b-eu', trustRecord(clusters.b1));
  write('team-a-eu', trustRecord(clusters.a1, { audiences: ['team-a'] }));
  write('team-b-eu', trustRecord(clusters.b1, { audiences: ['not-team-a'] }));
}, 90_000);
afterAll(async () => {
  await edge?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('npm run records with a scoped token', () => {
  it('diffs only its own records and names the files it skipped', async () => {
    const diff = await records(['diff', dir], TEAM_A);
    expect(diff.code, diff.stderr).toBe(2);
    expect(diff.stdout).toContain('= skipped 1 outside the scope of token:team-a: team-b-eu');
    expect(diff.stdout).toContain('~ update team-a-eu');
    expect(diff.stdout).not.toContain('update team-b-eu');
  });

  it("applies its own records and leaves the other team's alone", async () => {
    const apply = await records(['apply', dir], TEAM_A);
    expect(apply.code, apply.stderr).toBe(0);
    const a = (await (await edgeAdmin(edge).get('team-a-eu')).json()) as { audiences: string[] };
    const b = (await (await edgeAdmin(edge).get('team-b-eu')).json()) as { audiences: string[] };
    expect(a.audiences).toEqual(['team-a']);
    expect(b.audiences).not.toEqual(['not-team-a']);
    expect((await records(['diff', dir], TEAM_A)).code).toBe(0);
  });

  it('refuses an apply that needs keys before writing anything, naming the scope', async () => {
    write('team-a-new', trustRecord(clusters.a2));
    write('team-a-eu', trustRecord(clusters.a1, { audiences: ['team-a', 'second'] }));
    const apply = await records(['apply', dir], TEAM_A);
    expect(apply.code).toBe(1);
    expect(apply.stderr).toContain('token:team-a lacks "keys" on team-a-new; nothing was written');
    expect(await status('team-a-new')).toBe(404);
    const a = (await (await edgeAdmin(edge).get('team-a-eu')).json()) as { audiences: string[] };
    expect(a.audiences).toEqual(['team-a']); // the change it could make was not made either
    // diff, run by the same token, says so before a merge does.
    const diff = await records(['diff', dir], TEAM_A);
    expect(diff.stderr).toContain('warning: apply would be refused: token:team-a lacks "keys" on team-a-new');
    // The owner's token, with keys, applies it.
    const owner = await records(['apply', dir], TEAM_A_OWNER);
    expect(owner.code, owner.stderr).toBe(0);
    expect(await status('team-a-new')).toBe(200);
  });

  it('prunes only records it may write', async () => {
    rmSync(join(dir, 'team-a-new.json'));
    rmSync(join(dir, 'team-b-eu.json'));
    await edgeAdmin(edge).register('team-b-other', trustRecord(await makeCluster()));
    const pruned = await records(['apply', dir, '--prune'], TEAM_A);
    expect(pruned.code, pruned.stderr).toBe(0);
    expect(pruned.stdout).toContain('- delete team-a-new');
    expect(await status('team-a-new')).toBe(404);
    // Records of other teams are not even listed to it: neither deleted nor named.
    expect(pruned.stdout).not.toContain('team-b');
    expect(await status('team-b-eu')).toBe(200);
    expect(await status('team-b-other')).toBe(200);
  });

  it('is still the global admin with ADMIN_TOKEN: every file compared, nothing skipped', async () => {
    const diff = await records(['diff', dir], edge.adminToken);
    expect(diff.stdout).not.toContain('skipped');
    expect(diff.stdout).toContain('? not in the directory (kept; --prune deletes) team-b-eu');
  });
});

describe('examples/owned-records, applied once per owner as its workflow does', () => {
  const EXAMPLE = join(ROOT, 'examples', 'owned-records');
  const OWNERS = { TEAM_A: 'owner-a-token-0123456789abcdef', TEAM_B: 'owner-b-token-0123456789abcdef', PLATFORM: 'owner-p-token-0123456789abcdef' };
  let owned: Awaited<ReturnType<typeof startEdge>> | undefined;
  afterAll(async () => {
    await owned?.stop();
  });
  const apply = (token: string) =>
    run(NODE, [CLI, 'apply', join(EXAMPLE, 'records'), '--prune'], { env: { PATH: process.env.PATH, EDGE_URL: owned!.url, ADMIN_TOKEN: token } });

  it('creates every record with its owner token alone, each run skipping the others, then changes nothing', async () => {
    owned = await startEdge({
      vars: {
        ADMIN_SCOPES: readFileSync(join(EXAMPLE, 'admin-scopes.json'), 'utf8'),
        ...Object.fromEntries(Object.entries(OWNERS).map(([name, token]) => [`ADMIN_TOKEN_${name}`, token])),
      },
    });
    const a = await apply(OWNERS.TEAM_A);
    expect(a.code, a.stderr).toBe(0);
    expect(a.stdout).toContain('= skipped 2 outside the scope of token:team-a: platform-ci, team-b-prod-us1');
    expect(a.stdout).toContain('+ create team-a-prod-eu1');
    expect(a.stdout).toContain('+ create team-a-staging');
    for (const token of [OWNERS.TEAM_B, OWNERS.PLATFORM]) {
      const out = await apply(token);
      expect(out.code, out.stderr).toBe(0);
    }
    const list = await fetch(`${owned.url}/admin/v1/issuers`, { headers: { authorization: `Bearer ${owned.adminToken}` } });
    expect(((await list.json()) as { items: string[] }).items.sort()).toEqual(['platform-ci', 'team-a-prod-eu1', 'team-a-staging', 'team-b-prod-us1']);
    for (const token of Object.values(OWNERS)) {
      const again = await apply(token);
      expect(again.stdout).toContain('no changes');
      expect(again.stdout).not.toContain('delete'); // --prune never reaches another owner's records
    }
  }, 120_000);
});
