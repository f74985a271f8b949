/**
 * examples/owned-records agrees with itself and with the edge: every record file is valid,
 * has exactly one owner in CODEOWNERS, and that owner's scoped token (admin-scopes.json, as the
 * edge compiles ADMIN_SCOPES) may write it while no other owner's token may; the workflow
 * applies with each of those tokens.
 */
import { readFileSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { readRecordFiles, validateRecords } from '../../../scripts/lib/records.mjs';
import { loadSchema } from '../../../scripts/lib/schema.mjs';

const EXAMPLE = fileURLToPath(new URL('../../../examples/owned-records', import.meta.url));
const RECORDS = join(EXAMPLE, 'records');
const read = (file: string) => readFileSync(join(EXAMPLE, file), 'utf8');

/** CODEOWNERS as GitHub reads it, for the patterns used here: `*` within a path segment, a leading `/` anchors, the last match wins. */
function ownerOf(codeowners: string, path: string): string | undefined {
  let owner: string | undefined;
  for (const line of codeowners.split('\n')) {
    const [pattern, ...owners] = line.replace(/#.*/, '').trim().split(/\s+/);
    if (!pattern) continue;
    const glob = pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*');
    const re = pattern === '*' ? /^/ : new RegExp(`^${glob}${pattern.endsWith('/') ? '' : '$'}`);
    if (re.test(path)) owner = owners.join(' ');
  }
  return owner;
}
/** `@your-org/team-a` → the token name TEAM_A (the convention the example's README states). */
const tokenOf = (owner: string) =>
  owner
    .replace(/^@[^/]+\//, '')
    .toUpperCase()
    .replaceAll('-', '_');

// The scope tools as the records CLI loads them (bundled from src/ on the fly): src/policy/admin-scope.ts is Worker code.
const { compileScopes, permits } = await loadSchema();

describe('examples/owned-records', () => {
  const scopes = compileScopes(read('admin-scopes.json'), [], []);
  const files = readRecordFiles(RECORDS);

  it('holds valid records, each in a file named after it', async () => {
    const { records, problems } = validateRecords(files, await loadSchema());
    expect(problems).toEqual([]);
    expect(records.size).toBe(4);
    for (const [name, { file }] of records) expect(basename(file, extname(file))).toBe(name);
  });

  it.each(files.map((f) => [basename(f.file)]))('gives %s one owner, whose token alone may write it', (file) => {
    const name = basename(file, extname(file));
    const owner = ownerOf(read('CODEOWNERS'), `/records/${file}`);
    expect(owner).toMatch(/^@your-org\/[a-z-]+$/);
    const writers = [...scopes.tokens].filter(([, scope]) => permits(scope, 'write', name)).map(([token]) => token);
    expect(writers).toEqual([tokenOf(owner!)]);
  });

  it('applies once per owner token in the workflow', () => {
    const workflow = parseYaml(read('trust-records.yml'));
    expect(workflow.jobs.apply.strategy.matrix.owner.sort()).toEqual([...scopes.tokens.keys()].sort());
    expect(JSON.stringify(workflow.jobs.apply.steps)).toContain("secrets[format('ADMIN_TOKEN_{0}', matrix.owner)]");
  });

  it('routes a team-b file to team B, never to team A', () => {
    expect(ownerOf(read('CODEOWNERS'), '/records/team-b-prod-us1.yaml')).toBe('@your-org/team-b');
    expect(permits(scopes.tokens.get('TEAM_A')!, 'write', 'team-b-prod-us1')).toBe(false);
    expect(ownerOf(read('CODEOWNERS'), '/README.md')).toBe('@your-org/platform');
  });
});
