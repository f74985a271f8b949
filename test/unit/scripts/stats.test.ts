/**
 * `npm run stats`, run as a process against a loopback server that speaks the Analytics Engine
 * SQL API as documented (developers.cloudflare.com/analytics/analytics-engine/sql-api/): POST
 * /accounts/<id>/analytics_engine/sql with `Authorization: Bearer <token>` and the SQL as the
 * body; with FORMAT JSON the answer is { meta: [{ name, type }], data: [...], rows }. What the
 * CLI sends, what it prints, its refusals; and docs/observability.md shows the same SQL.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { tomlStrings } from '../../../scripts/preflight.mjs';
import { DEFAULT_DATASET, QUERIES, sqlInterval, table } from '../../../scripts/lib/stats.mjs';

const SCRIPT = fileURLToPath(new URL('../../../scripts/stats.mjs', import.meta.url));
const DOCS = fileURLToPath(new URL('../../../docs/observability.md', import.meta.url));
const WRANGLER_TOML = fileURLToPath(new URL('../../../wrangler.toml', import.meta.url));
const ACCOUNT = '0123456789abcdef0123456789abcdef';
const TOKEN = 'cf-api-token-for-the-stats-test';

interface Seen {
  method?: string;
  url?: string;
  authorization?: string;
  body: string;
}
let server: Server;
let api: string;
let seen: Seen[] = [];
/** How the fake answers: a status and a body for each request, by default an answer shaped as the API's. */
let answer: (sql: string) => { status: number; body: string } = () => ({ status: 200, body: '' });

/** An answer in the API's FORMAT JSON shape. */
function json(meta: Array<[string, string]>, data: Array<Record<string, unknown>>) {
  return JSON.stringify({ meta: meta.map(([name, type]) => ({ name, type })), data, rows: data.length, rows_before_limit_at_least: data.length });
}

function read(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => resolve(body));
  });
}

beforeAll(async () => {
  server = createServer(async (req, res) => {
    const body = await read(req);
    seen.push({ method: req.method, url: req.url, authorization: req.headers.authorization, body });
    const a = answer(body);
    res.writeHead(a.status, { 'content-type': a.status === 200 ? 'application/json' : 'text/plain' });
    res.end(a.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  api = `http://127.0.0.1:${(server.address() as AddressInfo).port}/client/v4`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
beforeEach(() => {
  seen = [];
});

function stats(args: string[], env: Record<string, string | undefined> = {}) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [SCRIPT, ...args], {
      env: { PATH: process.env.PATH, CLOUDFLARE_ACCOUNT_ID: ACCOUNT, CLOUDFLARE_API_TOKEN: TOKEN, CLOUDFLARE_API_BASE_URL: api, ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('npm run stats', () => {
  it('POSTs each query as the body to the account SQL endpoint with the bearer token', async () => {
    answer = () => ({ status: 200, body: json([['x', 'UInt64']], []) });
    const out = await stats([]);
    expect(out.code).toBe(0);
    expect(seen.map((s) => s.body)).toEqual(QUERIES.map((q) => q.sql(DEFAULT_DATASET, "INTERVAL '1' HOUR")));
    for (const s of seen) {
      expect(s.method).toBe('POST');
      expect(s.url).toBe(`/client/v4/accounts/${ACCOUNT}/analytics_engine/sql`);
      expect(s.authorization).toBe(`Bearer ${TOKEN}`);
      expect(s.body).toMatch(/ FROM edge_credential_provider WHERE .* FORMAT JSON$/);
    }
  });

  it('prints the answer as a table, columns in the order of meta, counts right-aligned', async () => {
    answer = () => ({
      status: 200,
      body: json(
        [
          ['record', 'String'],
          ['exchanges', 'UInt64'],
          ['ok', 'UInt64'],
          ['denied', 'UInt64'],
          ['errors', 'UInt64'],
          ['success_pct', 'Float64'],
        ],
        // ClickHouse's JSON format quotes 64-bit integers; floats are numbers.
        [
          { record: 'prod-eu1', exchanges: '1200', ok: '1100', denied: '40', errors: '60', success_pct: 91.66 },
          { record: 'staging', exchanges: '35', ok: '35', denied: '0', errors: '0', success_pct: 100 },
        ],
      ),
    });
    const out = await stats(['--only', 'clusters', '--since', '24h']);
    expect(out.code).toBe(0);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.body).toContain("timestamp > NOW() - INTERVAL '24' HOUR");
    expect(out.stdout).toBe(
      [
        'Which clusters: exchanges per trust record (last 24h)',
        'record    exchanges    ok  denied  errors  success_pct',
        '--------  ---------  ----  ------  ------  -----------',
        'prod-eu1       1200  1100      40      60         91.7',
        'staging          35    35       0       0          100',
        '',
        '',
      ].join('\n'),
    );
    expect(out.stdout + out.stderr).not.toContain(TOKEN);
  });

  it('prints the rows as JSON with --json', async () => {
    answer = () => ({
      status: 200,
      body: json(
        [
          ['kind', 'String'],
          ['p99_ms', 'Float64'],
        ],
        [{ kind: 'exchange', p99_ms: 41 }],
      ),
    });
    const out = await stats(['--only', 'latency', '--json']);
    expect(JSON.parse(out.stdout)).toEqual({ latency: [{ kind: 'exchange', p99_ms: 41 }] });
  });

  it("fails with the API's status and message, never the token (exit 1)", async () => {
    answer = () => ({ status: 422, body: 'Syntax error: unknown column blob21\n' });
    const out = await stats(['--only', 'refusals']);
    expect(out.code).toBe(1);
    expect(out.stderr).toContain('stats: refusals: the SQL API answered 422: Syntax error: unknown column blob21');
    expect(out.stdout + out.stderr).not.toContain(TOKEN);
  });

  it('fails on an answer that is not the documented shape (exit 1)', async () => {
    answer = () => ({ status: 200, body: '{"success":true}' });
    const out = await stats(['--only', 'vendors']);
    expect([out.code, out.stderr.trim()]).toEqual([1, 'stats: vendors: the SQL API answer has no meta and data']);
  });

  it.each([
    ['no account', [], { CLOUDFLARE_ACCOUNT_ID: undefined }, 'set CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_API_TOKEN'],
    ['no token', [], { CLOUDFLARE_API_TOKEN: undefined }, 'set CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_API_TOKEN'],
    ['a duration that is not one', ['--since', "1h'; DROP"], {}, '--since must be'],
    ['a dataset name that is not one', ['--dataset', 'x FROM y'], {}, '--dataset must be'],
    ['an unknown query', ['--only', 'clusters,nope'], {}, '--only: no query named nope'],
    ['plain http to another host', [], { CLOUDFLARE_API_BASE_URL: 'http://api.example.com/client/v4' }, 'must be https'],
  ])('refuses %s before sending anything (exit 2)', async (_, args, env, message) => {
    const out = await stats(args, env);
    expect(out.code).toBe(2);
    expect(out.stderr).toContain(message);
    expect(seen).toEqual([]);
  });
});

describe('the queries', () => {
  it.each([
    ['15m', "INTERVAL '15' MINUTE"],
    ['1h', "INTERVAL '1' HOUR"],
    ['7d', "INTERVAL '7' DAY"],
  ])('turn --since %s into %s', (since, interval) => {
    expect(sqlInterval(since)).toBe(interval);
  });

  it('weigh every count and percentile by _sample_interval', () => {
    for (const q of QUERIES) {
      const sql = q.sql(DEFAULT_DATASET, "INTERVAL '1' HOUR");
      expect(sql).not.toMatch(/count\(\)/i);
      expect(sql).toContain('_sample_interval');
    }
  });

  it('are the ones docs/observability.md shows', () => {
    // Compared with runs of whitespace as one space: the docs break the SQL over lines.
    const docs = readFileSync(DOCS, 'utf8').replace(/\s+/g, ' ');
    for (const q of QUERIES) expect(docs, q.name).toContain(q.sql(DEFAULT_DATASET, "INTERVAL '1' HOUR"));
  });

  it('read the dataset wrangler.toml binds as METRICS, and Workers Logs is on with a sampling rate', () => {
    const text = readFileSync(WRANGLER_TOML, 'utf8');
    const dataset = tomlStrings(text).filter((s) => s.table === 'analytics_engine_datasets');
    expect(dataset).toEqual([
      { table: 'analytics_engine_datasets', key: 'binding', value: 'METRICS' },
      { table: 'analytics_engine_datasets', key: 'dataset', value: DEFAULT_DATASET },
    ]);
    const observability = /^\[observability\]\nenabled = true\nhead_sampling_rate = ([\d.]+)$/m.exec(text);
    expect(Number(observability?.[1])).toBeGreaterThan(0);
    expect(Number(observability?.[1])).toBeLessThanOrEqual(1);
  });

  it('print "(none)" for an empty answer', () => {
    expect(table([{ name: 'a', type: 'String' }], [])).toBe('(none)');
  });
});
