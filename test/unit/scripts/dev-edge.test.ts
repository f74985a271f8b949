/**
 * How the CLIs find the local edge `npm start` runs (scripts/lib/dev-edge.mjs) and how
 * `npm start` reads its own arguments (scripts/dev-setup.mjs): the port it is given is the
 * port EDGE_ISSUER, the hints and `npm run demo` use.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { adminToken, edgeUrl, fromInvocationDir, isLoopbackUrl } from '../../../scripts/lib/dev-edge.mjs';
import { hints, startArgs } from '../../../scripts/dev-setup.mjs';

const dir = mkdtempSync(join(tmpdir(), 'ecp-dev-edge-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, body: string) => {
  const path = join(dir, name);
  writeFileSync(path, body);
  return path;
};

describe('npm start arguments', () => {
  it.each<[string[], { port: number; rest: string[] }]>([
    [[], { port: 8787, rest: [] }],
    [['--port', '9000'], { port: 9000, rest: [] }],
    [['--port=9001', '--persist-to', '/tmp/state'], { port: 9001, rest: ['--persist-to', '/tmp/state'] }],
  ])('%j starts on the port it names and passes the rest to wrangler', (argv, expected) => {
    expect(startArgs(argv)).toEqual(expected);
  });

  it.each([[['--port']], [['--port', 'http']], [['--port', '0']], [['--port', '70000']], [['--ip', '0.0.0.0']], [['--var', 'EDGE_ISSUER:x']]])(
    'refuses %j, saying why',
    (argv) => {
      expect(startArgs(argv)).toEqual({ error: expect.stringMatching(/--port|--ip|--var/) });
    },
  );

  it('names the URL of the port in its hints, and npm run demo', () => {
    const text = hints('http://127.0.0.1:9000').join('\n');
    expect(text).toContain('EDGE_ISSUER http://127.0.0.1:9000');
    expect(text).toContain('http://127.0.0.1:9000/admin/v1/issuers');
    expect(text).not.toContain('8787');
    expect(text).toContain('npm run demo');
  });
});

describe('the local edge as the CLIs find it', () => {
  it('takes EDGE_URL first, then the URL npm start recorded, then port 8787', () => {
    const recorded = file('url', 'http://127.0.0.1:9000\n');
    expect(edgeUrl({ EDGE_URL: 'https://ecp.example.com/' }, recorded)).toBe('https://ecp.example.com');
    expect(edgeUrl({}, recorded)).toBe('http://127.0.0.1:9000');
    expect(edgeUrl({}, join(dir, 'missing'))).toBe('http://127.0.0.1:8787');
    expect(edgeUrl({}, file('odd', 'https://elsewhere.example\n'))).toBe('http://127.0.0.1:8787');
  });

  it('takes ADMIN_TOKEN first, then the one in .dev.vars, and reads no file when told not to', () => {
    const devVars = file('.dev.vars', "# made by dev-setup\nEDGE_SIGNING_KEYS='{}'\nADMIN_TOKEN='dev-token'\n");
    expect(adminToken({ ADMIN_TOKEN: 'env-token' }, devVars)).toBe('env-token');
    expect(adminToken({}, devVars)).toBe('dev-token');
    expect(adminToken({}, null)).toBeUndefined();
    expect(adminToken({}, join(dir, 'missing'))).toBeUndefined();
  });

  it('resolves a relative path from the directory npm run was started in (INIT_CWD)', () => {
    expect(fromInvocationDir('records', { INIT_CWD: '/home/me/infra' })).toBe('/home/me/infra/records');
    expect(fromInvocationDir('/abs/records', { INIT_CWD: '/home/me/infra' })).toBe('/abs/records');
    expect(fromInvocationDir('records', {})).toBe(join(process.cwd(), 'records'));
  });

  it.each([
    ['http://127.0.0.1:8787', true],
    ['http://localhost:9000', true],
    ['http://[::1]:8787', true],
    ['https://ecp.example.com', false],
    ['http://127.0.0.1.example.com', false],
    ['not a url', false],
  ])('%s is loopback: %s', (url, loopback) => {
    expect(isLoopbackUrl(url)).toBe(loopback);
  });
});
