/**
 * `npm run preflight` (run by `npm run deploy` before `wrangler deploy`): the repository's own
 * wrangler.toml is refused as it is (placeholder KV id, loopback EDGE_ISSUER), each refusal
 * saying what to set; a filled-in config passes.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { preflightProblems } from '../../../scripts/preflight.mjs';

const SCRIPT = fileURLToPath(new URL('../../../scripts/preflight.mjs', import.meta.url));
const PKG = JSON.parse(readFileSync(fileURLToPath(new URL('../../../package.json', import.meta.url)), 'utf8')) as { scripts: Record<string, string> };
const dir = mkdtempSync(join(tmpdir(), 'ecp-preflight-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const config = (kvId: string, issuer?: string) =>
  [
    'name = "edge-credential-provider"',
    'main = "src/index.ts"',
    '',
    '[[kv_namespaces]]',
    'binding = "TRUST"',
    `id = "${kvId}"`,
    '',
    '[vars]',
    ...(issuer === undefined ? [] : [`EDGE_ISSUER = "${issuer}"`]),
    '',
  ].join('\n');
const READY_KV = '0f2ac74b498b48028cb68387c421e279';

describe('deploy preflight', () => {
  it.each<[string, string, RegExp[]]>([
    ['the placeholder KV id', config('00000000000000000000000000000000', 'https://ecp.example.com'), [/kv namespace create TRUST/]],
    ['a loopback EDGE_ISSUER', config(READY_KV, 'http://127.0.0.1:8787'), [/is this machine.*set \[vars\] EDGE_ISSUER/]],
    ['localhost over https', config(READY_KV, 'https://localhost'), [/is this machine/]],
    ['a plain http EDGE_ISSUER', config(READY_KV, 'http://ecp.example.com'), [/is not https.*set \[vars\] EDGE_ISSUER/]],
    ['no EDGE_ISSUER', config(READY_KV), [/EDGE_ISSUER is not set/]],
    ['both', config('0'.repeat(32), 'http://127.0.0.1:8787'), [/kv namespace create TRUST/, /EDGE_ISSUER/]],
  ])('refuses %s, saying what to set', (_what, text, says) => {
    const problems = preflightProblems(text);
    expect(problems).toHaveLength(says.length);
    for (const [i, re] of says.entries()) expect(problems[i]).toMatch(re);
  });

  it('passes a config with a real KV id and a public https EDGE_ISSUER', () => {
    expect(preflightProblems(config(READY_KV, 'https://ecp.example.com'))).toEqual([]);
  });

  it("refuses the repository's wrangler.toml as it stands, as a process (exit 1)", () => {
    const r = spawnSync(process.execPath, [SCRIPT], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('kv namespace create TRUST');
    expect(r.stderr).toContain('EDGE_ISSUER');
  });

  it('exits 0 for a ready config given with --config', () => {
    const file = join(dir, 'wrangler.toml');
    writeFileSync(file, config(READY_KV, 'https://ecp.example.com'));
    const r = spawnSync(process.execPath, [SCRIPT, '--config', file], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
  });

  it('answers an unknown option with the usage and exit code 2', () => {
    const r = spawnSync(process.execPath, [SCRIPT, '--frobnicate'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('usage: npm run preflight');
  });

  it('runs before wrangler deploy in npm run deploy', () => {
    expect(PKG.scripts.preflight).toBe('node scripts/preflight.mjs');
    expect(PKG.scripts.deploy).toBe('node scripts/preflight.mjs && wrangler deploy');
  });
});

describe('.gitignore', () => {
  it.each(['edge-keys.json', 'registry-bundle.pem', 'registry-certs.pem', 'examples/registry/ecp-bundle.pem', '.dev.vars'])(
    'keeps %s, which the deploy or dev steps write, out of git',
    (path) => {
      const r = spawnSync('git', ['check-ignore', '--no-index', '-q', path], { cwd: fileURLToPath(new URL('../../..', import.meta.url)) });
      expect(r.status).toBe(0);
    },
  );
});
