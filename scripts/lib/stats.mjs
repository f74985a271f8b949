// `npm run stats`: the on-call questions (which clusters, which rules, which vendor, since when,
// how fast) as Workers Analytics Engine SQL over the edge's METRICS dataset, sent to the SQL API
// and printed as tables. The data point layout is src/metrics.ts's; docs/observability.md shows
// the same SQL (a test keeps the two equal).
//
// The SQL API (developers.cloudflare.com/analytics/analytics-engine/sql-api/):
//   POST <api>/accounts/<account id>/analytics_engine/sql, `Authorization: Bearer <token>`, the
//   SQL text as the body; with `FORMAT JSON` the answer is { meta: [{ name, type }], data: [{...}],
//   rows }. Counts are weighted by `_sample_interval` (Analytics Engine samples under load).

import { parseArgs } from 'node:util';

/** The dataset wrangler.toml names for the METRICS binding. */
export const DEFAULT_DATASET = 'edge_credential_provider';
/** How far back the queries look by default. */
export const DEFAULT_SINCE = '1h';
/** Cloudflare's API; wrangler reads CLOUDFLARE_API_BASE_URL for the same override. */
export const DEFAULT_API = 'https://api.cloudflare.com/client/v4';
/** An error answer is shown this far, characters: enough for the API's message. */
const MAX_ERROR_CHARS = 500;

const UNITS = { m: 'MINUTE', h: 'HOUR', d: 'DAY' };

/** `15m`, `1h`, `7d` as an SQL interval; anything else is refused (it goes into the SQL). Data is kept 3 months. */
export function sqlInterval(since) {
  const m = /^([1-9]\d{0,3})([mhd])$/.exec(since);
  if (!m) throw new Error(`--since must be minutes, hours or days, like 15m, 1h or 7d (not ${JSON.stringify(since)})`);
  return `INTERVAL '${m[1]}' ${UNITS[m[2]]}`;
}

export function checkDataset(name) {
  if (!/^[A-Za-z0-9_]{1,64}$/.test(name)) throw new Error(`--dataset must be a dataset name (letters, digits, _), not ${JSON.stringify(name)}`);
  return name;
}

const n = '_sample_interval';
const count = `SUM(${n})`;
const countIf = (cond) => `SUM(IF(${cond}, ${n}, 0))`;
const p = (q) => `quantileExactWeighted(${q})(double1, ${n})`;

/**
 * The queries, in the order printed. `sql(dataset, interval)`: the text sent. Blobs: 1 kind,
 * 2 outcome, 3 code, 4 record, 5 rule, 6 upstream type, 7 registry, 8 cache; double1 latency ms,
 * double2 JWKS and discovery fetches; index1 the record.
 */
export const QUERIES = [
  {
    name: 'clusters',
    title: 'Which clusters: exchanges per trust record',
    sql: (ds, since) =>
      `SELECT blob4 AS record, ${count} AS exchanges, ${countIf("blob2 = 'ok'")} AS ok, ${countIf("blob2 = 'denied'")} AS denied, ${countIf("blob2 = 'error'")} AS errors, round(100 * ${countIf("blob2 = 'ok'")} / ${count}, 1) AS success_pct FROM ${ds} WHERE blob1 = 'exchange' AND timestamp > NOW() - ${since} GROUP BY record ORDER BY errors DESC, denied DESC, exchanges DESC LIMIT 50 FORMAT JSON`,
  },
  {
    name: 'refusals',
    title: 'Which rules: refusals and errors by code, record and rule',
    sql: (ds, since) =>
      `SELECT blob1 AS kind, blob3 AS code, blob4 AS record, blob5 AS rule, blob7 AS registry, ${count} AS count FROM ${ds} WHERE blob2 != 'ok' AND blob1 != 'vendor' AND timestamp > NOW() - ${since} GROUP BY kind, code, record, rule, registry ORDER BY count DESC LIMIT 50 FORMAT JSON`,
  },
  {
    name: 'vendors',
    title: 'Which vendor: vendor calls by upstream type and outcome',
    sql: (ds, since) =>
      `SELECT blob6 AS upstream, blob2 AS outcome, blob3 AS code, ${count} AS calls, ${countIf("blob8 = 'miss'")} AS sent, round(${p(0.5)}) AS p50_ms, round(${p(0.99)}) AS p99_ms FROM ${ds} WHERE blob1 = 'vendor' AND timestamp > NOW() - ${since} GROUP BY upstream, outcome, code ORDER BY calls DESC LIMIT 50 FORMAT JSON`,
  },
  {
    name: 'since',
    title: 'Since when: first and last of each failure',
    sql: (ds, since) =>
      `SELECT blob1 AS kind, blob3 AS code, blob4 AS record, MIN(timestamp) AS first_seen, MAX(timestamp) AS last_seen, ${count} AS count FROM ${ds} WHERE blob2 != 'ok' AND timestamp > NOW() - ${since} GROUP BY kind, code, record ORDER BY first_seen LIMIT 50 FORMAT JSON`,
  },
  {
    name: 'latency',
    title: 'How fast: latency by kind, ms (JWKS fetches: issuer key documents fetched)',
    sql: (ds, since) =>
      `SELECT blob1 AS kind, ${count} AS requests, round(${p(0.5)}) AS p50_ms, round(${p(0.99)}) AS p99_ms, SUM(double2 * ${n}) AS jwks_fetches FROM ${ds} WHERE timestamp > NOW() - ${since} GROUP BY kind ORDER BY kind FORMAT JSON`,
  },
];

/** Sends one query; answers { meta, data } or throws with the API's status and an excerpt of its answer. */
export async function query({ fetch, api, account, token, sql }) {
  const url = `${api.replace(/\/+$/, '')}/accounts/${encodeURIComponent(account)}/analytics_engine/sql`;
  const res = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'text/plain' }, body: sql });
  const text = await res.text();
  if (!res.ok) throw new Error(`the SQL API answered ${res.status}: ${printable(text).slice(0, MAX_ERROR_CHARS)}`);
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error('the SQL API answered something that is not JSON');
  }
  if (!Array.isArray(body?.meta) || !Array.isArray(body?.data)) throw new Error('the SQL API answer has no meta and data');
  return { meta: body.meta, data: body.data };
}

const printable = (s) => String(s).replace(/[^\x20-\x7e]+/g, ' ');

function cell(value) {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number' && !Number.isInteger(value)) return value.toFixed(1);
  return printable(value);
}

/** A text table: the columns in the answer's order, numbers right-aligned. */
export function table(meta, data) {
  const names = meta.map((m) => String(m.name));
  if (data.length === 0) return '(none)';
  const rows = data.map((row) => names.map((name) => cell(row[name])));
  const numeric = names.map((_, i) => rows.every((r) => r[i] === '' || /^-?\d+(\.\d+)?$/.test(r[i])));
  const widths = names.map((name, i) => Math.max(name.length, ...rows.map((r) => r[i].length)));
  const line = (cells) =>
    cells
      .map((c, i) => (numeric[i] ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(names), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

// ---- the CLI ---------------------------------------------------------------------------

const USAGE = `usage: npm run stats -- [options]

Runs the on-call queries against the edge's Analytics Engine dataset (docs/observability.md).

  --since DURATION   how far back: 15m, 1h, 24h, 7d (default ${DEFAULT_SINCE})
  --only NAMES       comma-separated, of: ${QUERIES.map((q) => q.name).join(', ')}
  --dataset NAME     the METRICS binding's dataset (default ${DEFAULT_DATASET})
  --json             print the answers' rows as JSON instead of tables

environment: CLOUDFLARE_ACCOUNT_ID, CLOUDFLARE_API_TOKEN (Account Analytics Read);
             CLOUDFLARE_API_BASE_URL (default ${DEFAULT_API})`;

const isLoopback = (host) => host === 'localhost' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);

/** The CLI, with its I/O passed in; answers the exit code. */
export async function run({ argv, env, fetch, stdout, stderr }) {
  let values;
  let queries;
  let since;
  let api;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { since: { type: 'string' }, only: { type: 'string' }, dataset: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean' } },
    }));
    if (values.help) {
      stdout.write(`${USAGE}\n`);
      return 0;
    }
    since = sqlInterval(values.since ?? DEFAULT_SINCE);
    checkDataset(values.dataset ?? DEFAULT_DATASET);
    const only = values.only?.split(',').map((s) => s.trim());
    const unknown = only?.filter((name) => !QUERIES.some((q) => q.name === name)) ?? [];
    if (unknown.length) throw new Error(`--only: no query named ${unknown.join(', ')}`);
    queries = only ? QUERIES.filter((q) => only.includes(q.name)) : QUERIES;
    if (!env.CLOUDFLARE_ACCOUNT_ID || !env.CLOUDFLARE_API_TOKEN) throw new Error('set CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_API_TOKEN');
    api = env.CLOUDFLARE_API_BASE_URL || DEFAULT_API;
    const url = new URL(api);
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopback(url.hostname))) {
      throw new Error('CLOUDFLARE_API_BASE_URL must be https (or http to a loopback address): the API token travels with every query');
    }
  } catch (err) {
    stderr.write(`stats: ${err.message}\n\n${USAGE}\n`);
    return 2;
  }

  const dataset = values.dataset ?? DEFAULT_DATASET;
  const results = {};
  for (const q of queries) {
    try {
      const answer = await query({ fetch, api, account: env.CLOUDFLARE_ACCOUNT_ID, token: env.CLOUDFLARE_API_TOKEN, sql: q.sql(dataset, since) });
      if (values.json) results[q.name] = answer.data;
      else stdout.write(`${q.title} (last ${values.since ?? DEFAULT_SINCE})\n${table(answer.meta, answer.data)}\n\n`);
    } catch (err) {
      stderr.write(`stats: ${q.name}: ${err.message}\n`);
      return 1;
    }
  }
  if (values.json) stdout.write(`${JSON.stringify(results, null, 2)}\n`);
  return 0;
}
