/**
 * The records CLI's guards on what the edge returns (scripts/lib/records.mjs): a record name
 * must be a DNS label before it names a file, text from the edge is printed inert, and the
 * admin token goes only to https (or loopback http). And what a scoped token's plan needs.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { changesOf, edgeUrlProblem, exportPath, isRecordName, missingScopes, printable, scopesNeeded } from '../../../scripts/lib/records.mjs';

describe('exportPath', () => {
  const dir = join(tmpdir(), 'ecp-export');
  it('puts a record name directly inside the directory', () => {
    expect(exportPath(dir, 'prod-eu1', 'json')).toBe(join(dir, 'prod-eu1.json'));
  });
  it.each([['../../etc/passwd'], ['..'], ['a/b'], ['/abs'], ['a\\b'], ['Prod'], [''], ['x'.repeat(64)], ['name\u001b[2J'], ['name\n'], [42], [null]])(
    'refuses %j',
    (name) => {
      expect(() => exportPath(dir, name as string, 'json')).toThrow(/not a DNS label/);
      expect(isRecordName(name as string)).toBe(false);
    },
  );
});

describe('printable', () => {
  it.each([
    ['plain text', 'plain text'],
    ['\u001b]0;owned\u0007', '\\u001b]0;owned\\u0007'],
    ['line\nforged: ok', 'line\\u000aforged: ok'],
    ['csi\u009b2J', 'csi\\u009b2J'],
    ['bidi\u202eevil', 'bidi\\u202eevil'],
  ])('prints %j as %j', (input, out) => {
    expect(printable(input)).toBe(out);
  });
  it('cuts long text short', () => {
    expect(printable('a'.repeat(500), 10)).toBe(`${'a'.repeat(10)}…`);
  });
});

describe('edgeUrlProblem', () => {
  it.each([
    ['https://ecp.example.com', true],
    ['https://ecp.example.com:8443/', true],
    ['http://127.0.0.1:8787', true],
    ['http://localhost:8787', true],
    ['http://[::1]:8787', true],
    ['http://ecp.example.com', false],
    ['http://10.0.0.1:8787', false],
    ['http://127.0.0.1.evil.example', false],
    ['ftp://ecp.example.com', false],
    ['https://user:pass@ecp.example.com', false],
    ['https://ecp.example.com/?x=1', false],
    ['not a url', false],
  ])('%s is allowed: %s', (url, ok) => {
    expect(edgeUrlProblem(url) === undefined).toBe(ok);
  });
});

describe('scopesNeeded and missingScopes', () => {
  // The trust-anchor test stands in for the edge's own (src/policy/admin-scope.ts, tested there): here, "the issuer changed".
  const anchor = (previous: { issuer: string }, next: { issuer: string }) => previous.issuer !== next.issuer;
  const step = (op: string, name: string, issuers: [string, string] = ['i', 'i']) => ({
    op,
    name,
    current: { issuer: issuers[0] },
    record: { issuer: issuers[1] },
  });

  it.each([
    ['a create needs write and keys', step('create', 'a'), ['write', 'keys']],
    ['an update that keeps the trust anchor needs write', step('update', 'a'), ['write']],
    ['an update that changes it needs keys too', step('update', 'a', ['i', 'j']), ['write', 'keys']],
    ['a delete needs write', step('delete', 'a'), ['write']],
    ['a record kept needs nothing', step('extra', 'a'), []],
    ['a file outside the scope needs nothing', step('outside', 'a'), []],
  ])('%s', (_t, s, needed) => {
    expect(scopesNeeded(s, anchor)).toEqual(needed);
  });

  it('names each scope the changes lack, record by record', () => {
    const steps = [step('create', 'team-a-new'), step('update', 'team-a-eu'), step('delete', 'team-b-eu'), step('outside', 'team-c-eu')];
    const allowed = (action: string, name: string) => name.startsWith('team-a-') && action === 'write';
    expect(missingScopes(changesOf(steps), allowed, anchor)).toEqual(['"keys" on team-a-new', '"write" on team-b-eu']);
    expect(missingScopes(changesOf(steps), () => true, anchor)).toEqual([]);
  });

  it('counts neither a kept record nor a file outside the scope as a change', () => {
    expect(changesOf([step('extra', 'a'), step('outside', 'b'), step('update', 'c')]).map((s: { name: string }) => s.name)).toEqual(['c']);
  });
});
