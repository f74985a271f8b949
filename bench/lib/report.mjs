// The bench report: Markdown tables of the latest figures, with their inputs and the targets.
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { MINIMAL_MAX_RATIO, OUTLIER_FRACTION, PAIR_BLOCK_SIZE, UPSTREAM_OP } from '../sections/floor.mjs';
import { fmt, fmtInt, mib, minMax, table } from './stats.mjs';

const ROOT = new URL('../../', import.meta.url);
const version = (pkg) => {
  try {
    return JSON.parse(readFileSync(new URL(`node_modules/${pkg}/package.json`, ROOT), 'utf8')).version;
  } catch {
    return '?';
  }
};

/** The figure used everywhere: CPU time per iteration (see sections/floor.mjs). */
const us = (m) => (m ? m.cpuUs : NaN);
const ratio = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? a / b : NaN);
const verdict = (ok) => (ok === undefined ? 'n/a' : ok ? '**met**' : '**missed**');
const x = (r) => (Number.isFinite(r) ? `${r.toFixed(2)}x` : 'n/a');

/**
 * A client chooses its scopes: the worst it can send a rule with three `**` (64 scopes of
 * 255-character names with 126 slashes, none matching) must cost a few plain requests, not
 * the backtracking of a regular expression (hundreds of ms before pattern.ts matched linearly).
 */
const HOSTILE_MAX_RATIO = 4;
const HOSTILE_TARGET = `GET /token, 64 hostile scopes vs \`**/**/**/app\`: CPU within ${HOSTILE_MAX_RATIO}x of a plain GET /token (in isolate)`;

const FLOOR_LABEL = {
  'floor/webcrypto/RS256': 'verify RS256 SA token + sign ES256 credential, WebCrypto only',
  'floor/webcrypto/ES256': 'verify ES256 SA token + sign ES256 credential, WebCrypto only',
  'floor/jose/RS256': 'same, with jose jwtVerify + SignJWT (claims checked, JSON, base64url)',
  'floor/jose/ES256': 'same, ES256 token, with jose',
  'floor/webcrypto/token': 'token endpoint: verify ES256 credential + sign ES256 registry token, WebCrypto',
  'floor/jose/token': 'token endpoint floor with jose',
  'crypto/verify/RS256': 'one RSA-2048 PKCS#1 v1.5 SHA-256 verify',
  'crypto/verify/ES256': 'one P-256 ECDSA verify',
  'crypto/sign/ES256': 'one P-256 ECDSA sign',
};

/** "12.3-14.5": a row's range over its runs. */
const range = (m, digits = 1) => `${fmt(m.cpuMin, digits)}-${fmt(m.cpuMax, digits)}`;
/** The runs further than OUTLIER_FRACTION from their median, or "" (sections/floor.mjs). */
const outliers = (m) => (m.outliers?.length ? m.outliers.map((o) => `run ${o.run}: ${o.off > 0 ? '+' : ''}${(o.off * 100).toFixed(0)}%`).join(', ') : '');
const xRange = (r) => (Number.isFinite(r.min) ? `${r.min.toFixed(2)}-${r.max.toFixed(2)}x` : 'n/a');

function floorTable(f) {
  const rows = Object.entries(f.floor).map(([op, m]) => [
    `\`${op}\``,
    FLOOR_LABEL[op] ?? '',
    fmt(m.cpuUs, 1),
    range(m),
    fmtInt(1e6 / m.cpuUs),
    fmt(m.insideUs, 1),
    fmt(m.outsideUs, 1),
    `${m.n} x ${m.runs}`,
    outliers(m),
  ]);
  return table(
    [
      'op',
      'what one iteration does',
      'µs CPU',
      'min-max over runs',
      'per second (one core)',
      'µs wall, inside',
      'µs wall, outside',
      'iterations x runs',
      'runs > 10% off the median',
    ],
    rows,
  );
}

function stepTable(f) {
  // The upstream row stands only if the vendor was called once (sections/floor.mjs vendorCalls).
  const invalid = (op) => (op === UPSTREAM_OP && f.upstream?.problem ? '**invalid**: the vendor was called during the runs' : '');
  const rows = Object.entries(f.steps).map(([op, m]) => [
    `\`${op}\``,
    fmt(m.cpuUs, 2),
    range(m, 2),
    fmt(m.insideUs, 2),
    `${m.n} x ${m.runs}`,
    [invalid(op), outliers(m)].filter(Boolean).join('; '),
  ]);
  return table(['step (one call, in the isolate)', 'µs CPU', 'min-max over runs', 'µs wall, inside', 'iterations x runs', 'runs > 10% off the median'], rows);
}

/** The crypto floors an endpoint is also shown against, for reference. */
function cryptoFloors(f, op) {
  const kind = /^app\/credentials\/(RS256|ES256)$/.exec(op)?.[1] ?? 'token';
  return { webcrypto: f.floor[`floor/webcrypto/${kind}`], jose: f.floor[`floor/jose/${kind}`] };
}

/** Section 1's target table: each endpoint in the isolate against the minimal Worker, run by run. */
function minimalTable(f) {
  const rows = f.targets.map((t) => {
    const a = f.steps[t.op];
    const m = f.steps[t.minimal];
    const floors = cryptoFloors(f, t.op);
    const flags = [outliers(a) && `edge ${outliers(a)}`, outliers(m) && `minimal ${outliers(m)}`].filter(Boolean).join('; ');
    return [
      t.label,
      `${fmt(a.cpuUs, 1)} (${range(a)})`,
      `\`${t.minimal}\` ${fmt(m.cpuUs, 1)} (${range(m)})`,
      x(t.ratio),
      xRange(t),
      `${x(t.separate.ratio)} (${xRange(t.separate)})`,
      x(ratio(a.cpuUs, us(floors.webcrypto))),
      x(ratio(a.cpuUs, us(floors.jose))),
      flags,
    ];
  });
  return table(
    [
      'endpoint (in isolate)',
      'µs CPU (min-max)',
      'minimal Worker µs CPU (min-max)',
      '/ minimal Worker, interleaved (median of rounds)',
      'interleaved, per round',
      '/ minimal Worker, separate runs (per run)',
      '/ WebCrypto floor',
      '/ jose floor',
      'runs > 10% off the median',
    ],
    rows,
  );
}

/** Section 1's rows against a neighbouring edge row (floor.mjs NEIGHBOUR_TARGETS): the upstream row and its vendor calls. */
function neighbourTable(f) {
  const rows = (f.neighbours ?? []).map((t) => {
    const a = f.steps[t.op];
    const b = f.steps[t.base];
    const flags = [outliers(a) && `row ${outliers(a)}`, outliers(b) && `\`${t.base}\` ${outliers(b)}`].filter(Boolean).join('; ');
    return [
      `\`${t.op}\``,
      `${fmt(a.cpuUs, 1)} (${range(a)})`,
      `\`${t.base}\` ${fmt(b.cpuUs, 1)} (${range(b)})`,
      t.failed ? `**invalid** (${x(t.ratio)})` : x(t.ratio),
      xRange(t),
      t.op === UPSTREAM_OP ? vendorCallsText(f.upstream) : '',
      flags,
    ];
  });
  return table(
    ['row (in isolate)', 'µs CPU (min-max)', 'beside it, µs CPU (min-max)', 'ratio', 'per-run ratios', 'vendor calls', 'runs > 10% off the median'],
    rows,
  );
}

/** The loopback Cloudsmith's calls over section 1 (floor.mjs vendorCalls). */
function vendorCallsText(u) {
  if (!u) return 'n/a';
  const restarts = u.restarts ? ` (${u.restarts} restart(s) of the bench Worker; per setup: ${u.perSetup.join(', ')})` : '';
  return `${u.calls} in all${restarts}, ${u.timed} during the ${fmtInt(u.iterations - 1)} requests after the first`;
}

function loadRows(rows) {
  return rows.map((r) => [
    r.name,
    r.connections,
    fmtInt(r.rps),
    fmt(r.p50, 2),
    fmt(r.p99, 2),
    fmtInt(r.cpuUs.user),
    fmtInt(r.cpuUs.proxy),
    fmtInt(r.cpuUs.node),
    `${r.runs} x ${r.seconds} s`,
    r.failed,
  ]);
}
const LOAD_HEADER = [
  'scenario',
  'conc.',
  'req/s',
  'p50 ms',
  'p99 ms',
  'edge workerd µs CPU/req',
  'proxy workerd µs/req',
  'wrangler node µs/req',
  'runs',
  'failed',
];

const find = (rows, name, c) => rows?.find((r) => r.name === name && r.connections === c);

/**
 * Edge workerd CPU per request minus the harness /noop's, at the same concurrency, as a
 * range, only when every run of the edge is above every run of /noop. The two are 400-500 µs
 * each and move ±15% from run to run, so a difference of medians can come out at any sign
 * (a report once showed a ratio of -3.14x); within the overlap nothing is resolved.
 */
function httpNet(e, n) {
  if (!e?.cpuUsRuns || !n?.cpuUsRuns) return 'n/a';
  const [eMin, eMax] = minMax(e.cpuUsRuns);
  const [nMin, nMax] = minMax(n.cpuUsRuns);
  if (eMin > nMax) return `${fmtInt(eMin - nMax)}-${fmtInt(eMax - nMin)} µs`;
  return `not resolved: runs overlap (edge ${fmtInt(eMin)}-${fmtInt(eMax)}, /noop ${fmtInt(nMin)}-${fmtInt(nMax)} µs)`;
}

/** HTTP-level CPU of an endpoint, raw (no harness subtracted) against its WebCrypto floor. */
function httpRow(label, floorUs, rows, harness, edgeName, noopName) {
  const c1 = find(rows, edgeName, 1);
  const c64 = find(rows, edgeName, 64);
  return [
    label,
    fmtInt(c1?.cpuUs.user),
    fmtInt(c64?.cpuUs.user),
    x(ratio(c1?.cpuUs.user, floorUs)),
    x(ratio(c64?.cpuUs.user, floorUs)),
    httpNet(c64, find(harness, noopName, 64)),
  ];
}

export function render({ results, errors, opts, command, tree, seconds }) {
  const out = [];
  const cpu = cpus();
  out.push('# Benchmarks: what an exchange costs');
  out.push('');
  out.push(
    `Made by \`${command}\` on ${new Date().toISOString().slice(0, 10)}${tree ? ` (tree ${tree})` : ''}: ${cpu.length} x ${cpu[0]?.model ?? 'cpu'}, ` +
      `Node ${process.version}, wrangler ${version('wrangler')}, workerd ${version('wrangler/node_modules/@cloudflare/workerd-linux-64') || '?'}, ` +
      `jose ${version('jose')}, hono ${version('hono')}, zod ${version('zod')}. Median of ${opts.runs} runs unless a row says otherwise; whole run ${Math.round(seconds)} s.`,
  );
  out.push('');
  const targets = [];
  let summaryAt = -1;
  const f = results.floor;
  const w = results.warm;
  const t = results.token;

  if (f) {
    out.push('## 1. The floor, inside workerd');
    out.push('');
    out.push(
      'A bench Worker (`bench/floor-worker.ts`) under the same `wrangler dev` and workerd as the edge runs one operation n times in a loop; ' +
        'keys are imported once, tokens are real (RSA-2048 and P-256 keys, a TokenRequest-shaped SA token with pod and node claims), ' +
        "the signed credential has the edge's exact claims. Three clocks per run: `performance.now()` in the isolate, wall time from outside " +
        `minus an empty request (${fmt(f.baseMs, 2)} ms), and the workerd process's CPU time from /proc (summed over its threads, ns resolution) minus an empty request's (${fmt(f.baseCpuMs, 2)} ms), which is the figure used: ${f.clockCheck}. ` +
        `Fixed iterations per op after an untimed warm-up run; ${f.runs} rounds of one run per op, interleaved (every other round in reverse order). ` +
        `The median is reported with the range over the runs; a run more than ${OUTLIER_FRACTION * 100}% from its median is named in the last column.`,
    );
    out.push('');
    out.push(floorTable(f));
    out.push('');
    if (f.targets?.length) {
      out.push('### The endpoints against the minimal Worker, in the isolate');
      out.push('');
      out.push(
        "The whole Hono app called in the bench Worker (`app.fetch`: a Request with the edge's real body and headers in, response text out, KV in memory, key ring and trust record cached as when warm), no HTTP: " +
          'the part Workers bills as CPU time. Beside each endpoint, the minimal Worker (`bench/minimal.ts`) on the same Request: ' +
          '`req.json()` or the Basic header or form, jose verify, jose sign, `Response.json`, nothing else. That is the floor a Worker can reach in this runtime, ' +
          `where Request, body and Response cost about as much as the crypto; the targets ask the edge to stay within ${MINIMAL_MAX_RATIO}x of it. ` +
          `The figure: both in alternating blocks of ${PAIR_BLOCK_SIZE} calls inside one request (a b, b a, ...; ${fmtInt(f.targets[0]?.calls)} calls of each per round), wall time inside the isolate, one ratio per round, the median of the rounds with their range. ` +
          'Beside it, the ratio of separate runs (CPU time from /proc, each endpoint right after its minimal Worker in every round): on a shared machine those runs move by up to 2x from round to round, the interleaved blocks by a few percent. ' +
          'The bare crypto floors (table above) are kept for reference.',
      );
      out.push('');
      out.push(minimalTable(f));
      out.push('');
    }
    if (f.upstream) {
      out.push('### Through a vendor, credential in the isolate cache');
      out.push('');
      out.push(
        `\`${UPSTREAM_OP}\`: the same \`POST /v1/credentials\` through the app, for a second issuer whose trust record has the same shape (5 rules, keys inline, the last rule matching) ` +
          'but whose matching rule federates with Cloudsmith: a loopback Cloudsmith fake (`test/support/vendors/cloudsmith.mjs`) started by the bench, at an `http://127.0.0.1` endpoint. ' +
          "The bench Worker's EDGE_ISSUER is its own URL, where it serves the app's discovery document and JWKS, so the fake verifies the workload token as Cloudsmith does. " +
          "The first request, untimed (in the bench Worker's setup), asks Cloudsmith and fills the isolate's cache (`src/upstream/cache.ts`); every later one takes the credential from it: " +
          "verify the SA token, decide, hash the identity into the cache key, answer with the vendor's credential (no minting). " +
          'It runs right after `app/credentials/RS256` (same RS256 key size, same record shape) in every round; the ratio is taken round by round. ' +
          'The fake counts its calls: one in all, none during the warm-up and timed runs, or the row is marked invalid.',
      );
      out.push('');
      if (f.upstream.problem) out.push(`**FAILED**: \`${UPSTREAM_OP}\`: ${f.upstream.problem}.`);
      if (f.neighbours?.length) out.push(neighbourTable(f));
      out.push('');
    }
  }
  if (w) {
    out.push('## 2. Warm `POST /v1/credentials` over loopback HTTP');
    out.push('');
    out.push(
      `autocannon, keep-alive, ${w.tokenPool} distinct SA tokens in rotation; request ${w.sizes.requestBytes.RS256} B (RS256 token) / ${w.sizes.requestBytes.ES256} B (ES256), ` +
        `response ${w.sizes.responseBytes} B; trust record with 5 rules, the last one matching. **AUDIT_LOG=off** except the row that says on. ` +
        'CPU per request is utime+stime from /proc over the run divided by requests, per process: `wrangler dev` runs the Worker in one workerd ' +
        '(the "edge workerd": HTTP parsing, miniflare\'s entry Worker that wraps every request, the edge\'s isolate), in front of it a second workerd ' +
        "running wrangler's proxy Worker (owns the port), and wrangler's Node process (logs each request). None of the last two exists in production. " +
        'The harness rows are the bench Worker under the same load: `/noop` reads the body and answers the same-size response; ' +
        '"minimal exchange" parses, verifies and signs with jose and nothing else.',
    );
    out.push('');
    out.push(table(LOAD_HEADER, loadRows([...w.rows, ...w.harness])));
    out.push('');
  }
  if (t) {
    out.push('## 3. Registry token endpoint');
    out.push('');
    out.push(
      `Credential (${t.sizes.credentialBytes} B) minted by the edge; GET with Basic auth and \`scope=${t.sizes.scope}\`, POST form (${t.sizes.formBytes} B, grant_type=password). Same harness as (2).`,
    );
    out.push('');
    out.push(table(LOAD_HEADER, loadRows([...t.rows, ...t.harness])));
    out.push('');
  }
  if (f && (w || t)) {
    out.push('### CPU over HTTP, for the record');
    out.push('');
    out.push(
      "Edge workerd CPU per request (HTTP, miniflare's entry Worker, the isolate) against the WebCrypto floor, and the edge minus the harness `/noop` at c=64. " +
        'The difference is given only as a range, and only when every run of the edge reads above every run of `/noop`: ' +
        "both are several times the edge's own code and move ±15% or more between runs, so a difference of their medians can come out at either sign (one report printed a ratio of -3.14x). The in-isolate figures above are the ones to compare.",
    );
    out.push('');
    const rows = [];
    for (const alg of ['RS256', 'ES256']) {
      if (w)
        rows.push(httpRow(`POST /v1/credentials ${alg}`, us(f.floor[`floor/webcrypto/${alg}`]), w.rows, w.harness, `edge ${alg} inline keys`, 'harness /noop'));
    }
    for (const form of ['GET', 'POST']) {
      if (t)
        rows.push(
          httpRow(
            `${form} /token`,
            us(f.floor['floor/webcrypto/token']),
            t.rows,
            [...t.harness, ...(w?.harness ?? [])],
            `token ${form}`,
            form === 'GET' ? 'harness GET /noop' : 'harness /noop',
          ),
        );
    }
    out.push(
      table(
        ['endpoint', 'edge workerd µs/req c=1', 'c=64', 'HTTP raw c=1 / WebCrypto floor', 'HTTP raw c=64 / WebCrypto floor', 'edge - harness /noop, c=64'],
        rows,
      ),
    );
    out.push('');
  }
  for (const tg of f?.targets ?? []) {
    const a = f.steps[tg.op];
    const m = f.steps[tg.minimal];
    const floors = cryptoFloors(f, tg.op);
    const straddles = tg.min <= MINIMAL_MAX_RATIO && tg.max > MINIMAL_MAX_RATIO ? `; rounds on both sides of ${MINIMAL_MAX_RATIO}x` : '';
    const off = (r) => r.outliers.length;
    const noisy = off(a) || off(m) ? `; runs > ${OUTLIER_FRACTION * 100}% off their median: edge ${off(a)} of ${a.runs}, minimal ${off(m)} of ${m.runs}` : '';
    targets.push([
      `${tg.label}: CPU within ${MINIMAL_MAX_RATIO}x of the minimal Worker (in isolate, interleaved)`,
      `${x(tg.ratio)} (rounds ${xRange(tg)}${straddles}; ${fmt(tg.opUs, 1)} / ${fmt(tg.minimalUs, 1)} µs); in separate runs ${x(tg.separate.ratio)} (runs ${xRange(tg.separate)}; ${fmt(a.cpuUs, 1)} / ${fmt(m.cpuUs, 1)} µs CPU${noisy}). For reference: ${x(ratio(a.cpuUs, us(floors.webcrypto)))} the WebCrypto floor, ${x(ratio(a.cpuUs, us(floors.jose)))} the jose floor`,
      verdict(tg.ratio <= MINIMAL_MAX_RATIO),
    ]);
  }
  if (f?.upstream) {
    const tg = f.neighbours?.find((n) => n.op === UPSTREAM_OP);
    const label = `POST /v1/credentials through a Cloudsmith upstream, vendor credential in the isolate cache: CPU within ${tg?.maxRatio ?? 1.2}x of a plain exchange (\`app/credentials/RS256\`, in isolate)`;
    if (!tg) targets.push([label, f.upstream.problem, '**failed**']);
    else {
      const a = f.steps[tg.op];
      const b = f.steps[tg.base];
      const straddles = tg.min <= tg.maxRatio && tg.max > tg.maxRatio ? `; runs on both sides of ${tg.maxRatio}x` : '';
      targets.push([
        label,
        `${x(tg.ratio)} (runs ${xRange(tg)}${straddles}; ${fmt(a.cpuUs, 1)} / ${fmt(b.cpuUs, 1)} µs); vendor calls: ${vendorCallsText(f.upstream)}`,
        tg.failed ? `**failed**: ${tg.failed}` : verdict(tg.ratio <= tg.maxRatio),
      ]);
    }
  }
  const p = results.plugin;
  if (p) {
    out.push('## 4. The exec plugin');
    out.push('');
    out.push(
      `${p.runs} invocations each, interleaved, Node ${p.node}: spawn, CredentialProviderRequest (RS256 token) on stdin, POST to the edge on loopback, response on stdout, exit. ` +
        `The plain file (${p.files.file.bytes} B, ${p.files.file.build}) runs by its \`#!/usr/bin/env node\` with the pinned Node first on PATH; the SEA (${mib(p.files.sea.bytes)} MiB, ${p.files.sea.build}) is self-contained. ` +
        `Budget = \`node -e 0\` (${fmt(p.node0, 1)} ms) + one loopback round trip of the same exchange from a warm process on a fresh connection (${fmt(p.rttMs, 2)} ms) = ${fmt(p.budget, 1)} ms.`,
    );
    out.push('');
    out.push(
      table(
        ['invocation', 'median ms', 'p90 ms', '/ budget', '/ minimal client'],
        p.rows.map((r) => [
          r.label,
          fmt(r.median, 1),
          fmt(r.p90, 1),
          p.ratios[r.label] ? x(p.ratios[r.label]) : '',
          p.vsMinimal[r.label] ? x(p.vsMinimal[r.label]) : '',
        ]),
      ),
    );
    out.push('');
    out.push(
      `"minimal node:http client" is a cold \`node -e\` that reads stdin, POSTs it with node:http and prints the answer: the least a plugin written for Node can cost here. Load average while measuring: ${fmt(p.loadavg, 2)}.`,
    );
    out.push('');
    for (const [label, r] of Object.entries(p.ratios)) targets.push([`${label}: within 1.3x of node -e 0 + round trip`, x(r), verdict(r <= 1.3)]);
  }
  const c = results.cold;
  if (c) {
    out.push('## 5. Cold start of trust');
    out.push('');
    out.push(
      `Per run: a fresh edge (new isolate, empty KV), a fresh issuer on a loopback OIDC server that answers after ${c.issuerDelayMs} ms, ` +
        `then ${c.burst} exchanges (distinct RS256 tokens) sent at once, each on its own connection. One row per run: the issuer's server counts every fetch.`,
    );
    out.push('');
    out.push(
      table(
        ['key source', 'run', 'JWKS fetches', 'discovery fetches', 'failed', 'burst wall ms', 'p50 ms', 'p99 ms'],
        Object.entries(c.modes).flatMap(([mode, m]) =>
          m.runs.map((r) => [
            mode,
            r.run,
            r.fetches.jwks,
            mode === 'discovery' ? r.fetches.discovery : '',
            r.failed,
            fmt(r.wallMs, 0),
            fmt(r.p50, 0),
            fmt(r.p99, 0),
          ]),
        ),
      ),
    );
    out.push('');
    for (const [mode, m] of Object.entries(c.modes)) {
      const b = burstVerdict(mode, m);
      targets.push([
        `cold burst (${mode}): one JWKS fetch${mode === 'discovery' ? ' and one discovery fetch' : ''} in every run, no failure`,
        b.measured,
        verdict(b.ok),
      ]);
    }
    const u = c.upstream;
    if (u) {
      out.push('### Cold burst through a vendor');
      out.push('');
      out.push(
        `Per run: a fresh edge (new isolate, empty KV and Cache API), a fresh issuer whose keys are inline in its record, and a fresh loopback Cloudsmith (\`test/support/vendors/cloudsmith.mjs\`) that waits ${u.vendorDelayMs} ms on each call ` +
          "before it verifies the workload token (fetching the edge's discovery document and JWKS) and answers; the record's matching rule federates with it. " +
          `Then ${c.burst} exchanges of one service account (team-a/builder, ${c.burst} pods: distinct SA tokens, one identity, so one cache key) sent at once, each on its own connection. ` +
          'The fake counts every call it receives; "credentials" is how many distinct vendor credentials the granted answers carried. ' +
          `No answer can come before Cloudsmith's (${u.vendorDelayMs} ms, then its fetches of the edge's documents, which queue behind the burst in the edge), so the first answer marks when the credential arrived: ` +
          'requests that reached the vendor step before then waited for that one call (the single flight), later ones found the credential in the isolate; how many did which, the fake cannot see.',
      );
      out.push('');
      out.push(
        table(
          [
            'run',
            'Cloudsmith calls',
            'credentials in the answers',
            'edge discovery + JWKS fetched by Cloudsmith',
            'failed',
            'all answered, ms',
            'first answer ms',
            'p50 ms',
            'p99 ms',
          ],
          u.runs.map((r) => [
            r.run,
            r.vendorCalls,
            r.credentials,
            `${r.edgeFetches.discovery} + ${r.edgeFetches.jwks}`,
            r.failed
              ? `${r.failed} (${Object.entries(r.statuses)
                  .map(([k, v]) => `${v} x ${k}`)
                  .join(', ')})`
              : 0,
            fmt(r.wallMs, 0),
            fmt(r.firstMs, 0),
            fmt(r.p50, 0),
            fmt(r.p99, 0),
          ]),
        ),
      );
      out.push('');
      const v = vendorBurstVerdict(u);
      targets.push([
        `cold burst of ${c.burst} through a Cloudsmith upstream (one service account): one vendor call in every run, no failure`,
        v.measured,
        verdict(v.ok),
      ]);
    }
  }
  const st = results.startup;
  if (st) {
    const e = st.workers.edge;
    const m = st.workers.minimal;
    const b = st.bundles;
    out.push('## 6. Cold start of the Worker');
    out.push('');
    out.push(
      'The edge beside the minimal Worker (`bench/minimal-worker.ts`: the handlers of `bench/minimal.ts`, keys from one binding), both built by ' +
        '`wrangler deploy --dry-run` (offline; the edge build and the minimal Worker toml both minify, without keep-names wrappers), measured in the same run, interleaved. ' +
        `**Bundle**: the start-up set wrangler would upload (the main module and the chunks it imports statically, without the source-map comment wrangler adds on disk; the total counts every module); KiB = 1,024 bytes. bench/lib/bundle.mjs builds the same with the Worker's build (scripts/lib/worker-build.mjs) and must give the same modules, byte for byte (the size test uses it). ` +
        "**wrangler check startup**: wrangler's own tool (works offline): it starts the bundle in a local workerd, profiles a request that `import()`s the module with V8's sampling profiler (~1 ms interval) " +
        'and prints "Active" = sampled time minus idle. Each sample is credited with the interval before it, so the gap between the profiler\'s start and the first sample inside the module (10-40 ms here) counts as active: ' +
        'a module that evaluates within a sample or two (the minimal Worker) reads anywhere from 0 to ~40 ms. Reported, not used for the target. ' +
        '**Start-up CPU**: a fresh isolate (Miniflare, the copy wrangler uses, so the same workerd) whose main module is a wrapper that imports the bundle on its first request, as `wrangler check startup` does; ' +
        "the workerd process's CPU time (/proc, all threads: compile, evaluation, GC) over that request, minus the same request right after, when the module is loaded. " +
        "**First request**: the first `POST /v1/credentials` on another fresh isolate: start-up, key ring import, trust record and revocations read from KV (not yet in the isolate), the issuer's JWKS from KV " +
        "(seeded by an earlier isolate, as a warm location has it; the issuer's fetch counter shows whether it was fetched), verify, sign. Then the same request warm, in that isolate: " +
        `the mean of ${st.warmRequests} after a warm-up. Both include Miniflare's entry Worker and, for the edge, the local KV simulator in the same process: the warm row shows what that harness costs. ` +
        `Median of ${st.runs} runs, min-max beside; ratios are the median of run-by-run ratios.`,
    );
    out.push('');
    const parts = (list) =>
      list
        .slice(0, 4)
        .map(([g, n]) => `${g} ${fmt(n / 1024, 1)}`)
        .join(', ');
    out.push(
      table(
        [
          'Worker',
          'start-up set, minified KiB',
          'gzip KiB',
          'modules, KiB in all',
          'wrangler says (upload)',
          "the Worker's build (scripts/lib/worker-build.mjs)",
          'largest parts of the start-up set, KiB',
        ],
        Object.entries(b).map(([name, x1]) => [
          name === 'edge' ? 'edge' : 'minimal Worker',
          fmt(x1.bytes / 1024, 1),
          fmt(x1.gzipBytes / 1024, 1),
          `${x1.modulesCount}, ${fmt(x1.totalBytes / 1024, 1)}`,
          `${fmt(x1.wranglerKiB, 2)} / gzip ${fmt(x1.wranglerGzipKiB, 2)}`,
          x1.sameAsEsbuild ? 'same modules, byte for byte' : `**differs**: ${fmtInt(x1.esbuildBytes)} B`,
          parts(x1.byGroup),
        ]),
      ),
    );
    out.push('');
    const ms = (r, digits = 1) => `${fmt(r.median, digits)} (${fmt(r.min, digits)}-${fmt(r.max, digits)})`;
    const xr = (r) => `${x(r.median)} (${Number.isFinite(r.min) ? `${r.min.toFixed(2)}-${r.max.toFixed(2)}` : 'n/a'})`;
    out.push(
      table(
        ['figure, ms', 'edge', 'minimal Worker', 'edge / minimal'],
        [
          ['`wrangler check startup` "Active"', ms(e.checkActiveMs), `${ms(m.checkActiveMs)}, ${fmt(m.checkSamples, 0)} samples`, xr(st.ratios.checkActive)],
          ['start-up CPU (workerd, fresh isolate)', ms(e.startupMs), ms(m.startupMs), xr(st.ratios.startup)],
          ['first POST /v1/credentials on a fresh isolate, workerd CPU', ms(e.firstMs), ms(m.firstMs), xr(st.ratios.first)],
          ...(e.kvReadsMs && Number.isFinite(e.kvReadsMs.median)
            ? [
                [
                  'its four cold KV reads alone, from a Worker that does nothing else (the local KV simulator, in the same process)',
                  ms(e.kvReadsMs),
                  '(no KV)',
                  '',
                ],
              ]
            : []),
          ...(e.firstWithoutKvMs && Number.isFinite(e.firstWithoutKvMs.median)
            ? [['the first request less its KV reads (what the Worker itself spends)', ms(e.firstWithoutKvMs), ms(m.firstMs), xr(st.ratios.firstWithoutKv)]]
            : []),
          ['the same request warm, same harness, workerd CPU', ms(e.warmMs, 2), ms(m.warmMs, 2), x(ratio(e.warmMs.median, m.warmMs.median))],
          ['JWKS fetched by the first request, per run', e.jwksFetchesOnFirst.join(', '), '(keys from its binding)', ''],
        ],
      ),
    );
    out.push('');
    if (st.profile) {
      out.push(
        `Where the edge's first request spends its CPU (\`npm run bench:first\`, lib/first-profile.mjs): V8's sampling profiler inside workerd, the mean of ${st.profile.runs} fresh isolates after the timed runs (${fmt(st.profile.sampledMs, 1)} ms sampled, the profiler's overhead included, so read the shares, not the sum). Each step is the time sampled inside that function and what it called: they overlap (the decision holds the four after it), and work after an \`await\` is sampled under the function it resumes in, so an async step (the key imports) can read low.`,
      );
      out.push('');
      out.push(
        table(
          ['step (time sampled inside it)', 'ms'],
          st.profile.steps.map(([k, v]) => [k, fmt(v, 2)]),
        ),
      );
      out.push('');
    }
    targets.push([
      `edge start-up set <= ${fmt(st.budget.bundleBytes / 1024, 0)} KiB (main module and its static imports, minified, as wrangler deploy uploads them; bench/budget.mjs)`,
      `${fmt(b.edge.bytes / 1024, 1)} KiB (gzip ${fmt(b.edge.gzipBytes / 1024, 1)}; ${parts(b.edge.byGroup)}); ${fmt(b.edge.totalBytes / 1024, 1)} KiB in all ${b.edge.modulesCount} modules; minimal Worker ${fmt(b.minimal.bytes / 1024, 1)} KiB`,
      verdict(b.edge.bytes <= st.budget.bundleBytes),
    ]);
    targets.push([
      `edge start-up CPU <= ${st.budget.startupMs} ms (fresh isolate, workerd CPU)`,
      `${ms(e.startupMs)} ms, ${x(st.ratios.startup.median)} the minimal Worker (${fmt(m.startupMs.median, 1)} ms); wrangler check startup: ${fmt(e.checkActiveMs.median, 1)} ms active (minimal Worker ${fmt(m.checkActiveMs.median, 1)})`,
      verdict(e.startupMs.median <= st.budget.startupMs),
    ]);
    if (e.firstWithoutKvMs && Number.isFinite(e.firstWithoutKvMs.median)) {
      targets.push([
        `first POST /v1/credentials on a fresh isolate, less the KV simulator's reads, <= ${st.budget.firstRatio}x the minimal Worker's first request`,
        `${ms(e.firstWithoutKvMs)} ms, ${xr(st.ratios.firstWithoutKv)} the minimal Worker (${fmt(m.firstMs.median, 1)} ms); with the simulator's reads ${fmt(e.firstMs.median, 1)} ms, ${x(st.ratios.first.median)}`,
        verdict(st.ratios.firstWithoutKv.median <= st.budget.firstRatio),
      ]);
      targets.push([
        `first POST /v1/credentials on a fresh isolate, less the KV simulator's reads, <= ${st.budget.firstMs} ms CPU (Workers Free)`,
        `${ms(e.firstWithoutKvMs)} ms`,
        verdict(e.firstWithoutKvMs.median <= st.budget.firstMs),
      ]);
    }
    const fetched = e.jwksFetchesOnFirst.filter((n) => n > 0).length;
    if (fetched)
      targets.push([
        'first request on a fresh isolate finds the JWKS in KV (no fetch)',
        `fetched in ${fetched} of ${e.jwksFetchesOnFirst.length} runs`,
        verdict(false),
      ]);
  }
  const s = results.soak;
  if (s) {
    const e = s.edge;
    const n = s.harness;
    out.push('## Sustained load (memory)');
    out.push('');
    out.push(
      `${s.seconds} s at concurrency ${s.connections} on \`POST /v1/credentials\` (RS256, ${s.tokenPool} distinct tokens) after a 5 s warm-up: ` +
        `${fmtInt(e.requests)} requests, ${fmtInt(e.rps)} req/s, p50 ${fmt(e.p50, 1)} ms, p99 ${fmt(e.p99, 1)} ms, ${e.failed} failed${e.failed ? ` (statuses ${JSON.stringify(e.statuses)}, ${e.errors} connection errors, ${e.timeouts} timeouts)` : ''}. ` +
        `Then the same load on the bench Worker's \`/noop\` under the same wrangler dev (${fmtInt(n.requests)} requests, ${n.failed} failed). RSS sampled every second; ` +
        "the edge isolate's JS heap read after a forced full GC at start, middle and end (inspector). " +
        "Leak criterion: retained heap grows by less than 10% (and 2 MiB); RSS also holds workerd's and wrangler's own buffers, hence the harness row.",
    );
    out.push('');
    out.push(
      table(
        ['what', 'start MiB', 'end MiB', 'peak MiB', 'trend MiB/min'],
        [
          [
            'edge isolate retained JS heap (after GC)',
            mib(e.heaps[0].used),
            mib(e.heaps[e.heaps.length - 1].used),
            mib(Math.max(...e.heaps.map((h) => h.used))),
            `${e.heaps.map((h) => mib(h.used)).join(' / ')} at ${e.heaps.map((h) => `${Math.round(h.t)} s`).join(', ')}`,
          ],
          ...Object.entries(e.rss).map(([k, v]) => [
            `edge run: ${{ user: 'edge workerd RSS', proxy: 'proxy workerd RSS', node: 'wrangler node RSS' }[k]}`,
            mib(v.start),
            mib(v.end),
            mib(v.peak),
            fmt(v.slopePerMin / 2 ** 20, 1),
          ]),
          ...Object.entries(n.rss).map(([k, v]) => [
            `harness /noop run: ${{ user: 'bench workerd RSS', proxy: 'proxy workerd RSS', node: 'wrangler node RSS' }[k]}`,
            mib(v.start),
            mib(v.end),
            mib(v.peak),
            fmt(v.slopePerMin / 2 ** 20, 1),
          ]),
        ],
      ),
    );
    out.push('');
    targets.push([
      `no memory growth over ${s.seconds} s at c=${s.connections} (edge isolate heap)`,
      `${mib(e.heaps[0].used)} -> ${mib(e.heaps[e.heaps.length - 1].used)} MiB retained; workerd RSS ${mib(e.rss.user.start)} -> ${mib(e.rss.user.end)} MiB (peak ${mib(e.rss.user.peak)}; harness /noop: ${mib(n.rss.user.start)} -> ${mib(n.rss.user.end)})`,
      verdict(!s.leak),
    ]);
    targets.push([`no request failing in the ${s.seconds} s run`, `${e.failed} of ${fmtInt(e.requests)}`, verdict(e.failed === 0)]);
  }
  if (f?.hostile) {
    const h = f.hostile;
    targets.push([
      HOSTILE_TARGET,
      `${x(h.ratio)} (runs ${xRange(h)}; ${fmt(h.hostileUs, 1)} / ${fmt(h.plainUs, 1)} µs CPU, \`app/token/GET/64-hostile-scopes\` / \`app/token/GET\`)`,
      verdict(h.ratio <= HOSTILE_MAX_RATIO),
    ]);
  }
  if (f) {
    out.push('## Where the time goes: each step alone, in the isolate');
    out.push('');
    out.push(
      "One call of each piece of the edge's code (`bench/floor-worker.ts` ops), CPU time, median of the runs shown with their range. `app/*` rows are whole requests through the app without HTTP " +
        "(`app/minimal/*`: the minimal Worker's handlers, see section 1); `step/*` rows call one function of src/ (`step/read-body` and `step/req-json` include building the Request, `step/new-request` alone).",
    );
    out.push('');
    out.push(stepTable(f));
    out.push('');
  }
  if (targets.length) {
    summaryAt = out.length;
    out.push('## Targets');
    out.push('');
    out.push(table(['target', 'measured', 'verdict'], targets));
    out.push('');
  }
  if (Object.keys(errors).length) {
    out.push('## Sections that could not run');
    out.push('');
    for (const [name, message] of Object.entries(errors)) out.push(`- **${name}**: ${message.split('\n')[0]}`);
    out.push('');
  }
  // The summary and the targets go first: the sections below are the detail.
  if (summaryAt !== -1) {
    const targetLines = out.splice(summaryAt, 4);
    out.splice(4, 0, ...summary(results), ...targetLines);
  }
  return `${out.join('\n')}\n`;
}

/**
 * The cold-burst target for one key source: met only if every run fetched the JWKS (and,
 * for discovery, the discovery document) exactly once and no request failed. "Exactly one"
 * is said only when every run did; otherwise each run's count is listed.
 */
function burstVerdict(mode, m) {
  const counts = m.runs.map((r) => (mode === 'discovery' ? `${r.fetches.jwks}+${r.fetches.discovery}` : `${r.fetches.jwks}`));
  const bad = m.runs.filter((r) => r.fetches.jwks !== 1 || (mode === 'discovery' && r.fetches.discovery !== 1));
  const ok = bad.length === 0 && m.failed === 0;
  const what = mode === 'discovery' ? 'JWKS+discovery fetches' : 'JWKS fetches';
  const runsOf = (list) => `run${list.length > 1 ? 's' : ''} ${list.map((r) => r.run).join(', ')} of ${m.runs.length}`;
  const more = bad.filter((r) => r.fetches.jwks > 1 || r.fetches.discovery > 1);
  const none = bad.filter((r) => !more.includes(r));
  const measured = bad.length
    ? `${what} per run ${counts.join(', ')}: ${[more.length && `more than one in ${runsOf(more)}`, none.length && `none in ${runsOf(none)}`].filter(Boolean).join(', ')}; failed ${m.failed}`
    : `exactly one in each of ${m.runs.length} runs; failed ${m.failed}`;
  return { ok, allOne: bad.length === 0, measured, counts, what };
}

/** The vendor burst's target: "exactly one" only if every run called Cloudsmith once; otherwise each run's count. */
function vendorBurstVerdict(u) {
  const allOne = u.runs.every((r) => r.vendorCalls === 1);
  const measured = allOne
    ? `exactly one call in each of ${u.runs.length} runs; failed ${u.failed}`
    : `calls per run ${u.runs.map((r) => r.vendorCalls).join(', ')} (runs with other than one: ${u.runs
        .filter((r) => r.vendorCalls !== 1)
        .map((r) => r.run)
        .join(', ')} of ${u.runs.length}); failed ${u.failed}`;
  return { ok: allOne && u.failed === 0, allOne, measured };
}

/** One line per headline figure, for the README. */
function summary(results) {
  const f = results.floor;
  const w = results.warm;
  const t = results.token;
  const p = results.plugin;
  const c = results.cold;
  const st = results.startup;
  const s = results.soak;
  const rows = [];
  if (f) {
    for (const alg of ['RS256', 'ES256']) {
      const m = f.floor[`floor/webcrypto/${alg}`];
      const j = f.floor[`floor/jose/${alg}`];
      rows.push([
        `floor: verify ${alg} SA token + sign ES256 credential (WebCrypto / jose)`,
        `${fmt(m.cpuUs, 1)} / ${fmt(j.cpuUs, 1)} µs CPU`,
        `${fmtInt(1e6 / m.cpuUs)} / ${fmtInt(1e6 / j.cpuUs)} exchanges/s per core`,
      ]);
    }
    const tk = f.floor['floor/webcrypto/token'];
    rows.push([
      'floor: token endpoint (verify ES256 credential + sign ES256 token, WebCrypto)',
      `${fmt(tk.cpuUs, 1)} µs CPU`,
      `${fmtInt(1e6 / tk.cpuUs)}/s per core`,
    ]);
  }
  const inIsolate = (label, op) => {
    const tg = f?.targets?.find((x1) => x1.op === op);
    if (!tg) return;
    const a = f.steps[op];
    const floors = cryptoFloors(f, op);
    rows.push([
      `${label}, in isolate (no HTTP)`,
      `${fmt(a.cpuUs, 1)} µs CPU (${range(a)})`,
      `${x(tg.ratio)} the minimal Worker, interleaved (rounds ${xRange(tg)}; target ${MINIMAL_MAX_RATIO}x; minimal ${fmt(f.steps[tg.minimal].cpuUs, 1)} µs CPU); ${x(ratio(a.cpuUs, us(floors.webcrypto)))} the WebCrypto floor, ${x(ratio(a.cpuUs, us(floors.jose)))} the jose floor`,
    ]);
  };
  const warmRow = (label, r) =>
    r &&
    rows.push([
      label,
      `${fmtInt(r.rps)} req/s, p50 ${fmt(r.p50, 2)} ms, p99 ${fmt(r.p99, 2)} ms`,
      `edge workerd ${fmtInt(r.cpuUs.user)} µs CPU/req${r.failed ? `, **${r.failed} failed**` : ''}`,
    ]);
  for (const alg of ['RS256', 'ES256']) {
    for (const conc of [1, 64]) warmRow(`POST /v1/credentials ${alg}, c=${conc} (AUDIT_LOG=off)`, find(w?.rows, `edge ${alg} inline keys`, conc));
    inIsolate(`POST /v1/credentials ${alg}`, `app/credentials/${alg}`);
  }
  const up = f?.neighbours?.find((n) => n.op === UPSTREAM_OP);
  if (up) {
    rows.push([
      'POST /v1/credentials through a Cloudsmith upstream, credential in the isolate cache, in isolate',
      `${fmt(f.steps[up.op].cpuUs, 1)} µs CPU (${range(f.steps[up.op])})`,
      up.failed
        ? `**invalid**: ${up.failed}`
        : `${x(up.ratio)} a plain exchange (\`app/credentials/RS256\`, ${fmt(f.steps[up.base].cpuUs, 1)} µs; target ${up.maxRatio}x); vendor calls: ${vendorCallsText(f.upstream)}`,
    ]);
  } else if (f?.upstream?.problem) {
    rows.push(['POST /v1/credentials through a Cloudsmith upstream, in isolate', '**failed**', f.upstream.problem]);
  }
  for (const form of ['GET', 'POST']) {
    for (const conc of [1, 64]) warmRow(`${form} /token, c=${conc}`, find(t?.rows, `token ${form}`, conc));
    inIsolate(`${form} /token`, `app/token/${form}`);
  }
  if (f?.hostile) {
    rows.push([
      'GET /token, 64 scopes of 255-char names vs `**/**/**/app`, in isolate (no HTTP)',
      `${fmt(f.hostile.hostileUs, 1)} µs CPU`,
      `${x(f.hostile.ratio)} a plain GET /token (one scope)`,
    ]);
  }
  if (p) {
    for (const r of p.rows)
      rows.push([
        `exec plugin: ${r.label}`,
        `${fmt(r.median, 1)} ms median`,
        p.ratios[r.label] ? `${x(p.ratios[r.label])} (node -e 0 + round trip = ${fmt(p.budget, 1)} ms)` : '',
      ]);
  }
  if (c) {
    for (const [mode, m] of Object.entries(c.modes)) {
      const b = burstVerdict(mode, m);
      rows.push([
        `cold burst, ${c.burst} exchanges at once, ${mode}`,
        b.allOne
          ? `exactly one ${mode === 'discovery' ? 'JWKS and one discovery fetch' : 'JWKS fetch'} in each of ${m.runs.length} runs`
          : `${b.what} per run: ${b.counts.join(', ')}`,
        `${m.failed} failed, all answered in ${fmt(m.wallMs, 0)} ms (median)`,
      ]);
    }
    if (c.upstream) {
      const v = vendorBurstVerdict(c.upstream);
      rows.push([
        `cold burst, ${c.burst} exchanges of one service account at once, Cloudsmith upstream`,
        v.allOne ? `exactly one Cloudsmith call in each of ${c.upstream.runs.length} runs` : `Cloudsmith calls per run: ${c.upstream.vendorCalls.join(', ')}`,
        `${c.upstream.failed} failed, all answered in ${fmt(c.upstream.wallMs, 0)} ms (median; Cloudsmith answers after ${c.upstream.vendorDelayMs} ms)`,
      ]);
    }
  }
  if (st) {
    const e = st.workers.edge;
    const m = st.workers.minimal;
    rows.push([
      'edge start-up set, minified (wrangler deploy --dry-run)',
      `${fmt(st.bundles.edge.bytes / 1024, 1)} KiB (gzip ${fmt(st.bundles.edge.gzipBytes / 1024, 1)})`,
      `${fmt(st.bundles.edge.totalBytes / 1024, 1)} KiB in all ${st.bundles.edge.modulesCount} modules; minimal Worker ${fmt(st.bundles.minimal.bytes / 1024, 1)} KiB; budget ${fmt(st.budget.bundleBytes / 1024, 0)} KiB`,
    ]);
    rows.push([
      'edge start-up CPU, fresh isolate (workerd)',
      `${fmt(e.startupMs.median, 1)} ms`,
      `${x(st.ratios.startup.median)} the minimal Worker (${fmt(m.startupMs.median, 1)} ms); wrangler check startup "Active": ${fmt(e.checkActiveMs.median, 1)} / ${fmt(m.checkActiveMs.median, 1)} ms`,
    ]);
    rows.push([
      'first POST /v1/credentials on a fresh isolate (start-up, trust record and JWKS from KV)',
      `${fmt(e.firstMs.median, 1)} ms CPU`,
      `warm: ${fmt(e.warmMs.median, 2)} ms in the same harness; minimal Worker ${fmt(m.firstMs.median, 1)} / ${fmt(m.warmMs.median, 2)} ms${e.kvReadsMs && Number.isFinite(e.kvReadsMs.median) ? `; the four cold KV reads alone (local simulator): ${fmt(e.kvReadsMs.median, 1)} ms` : ''}`,
    ]);
  }
  if (s) {
    const e = s.edge;
    rows.push([
      `sustained ${s.seconds} s, c=${s.connections}`,
      `isolate heap after GC ${mib(e.heaps[0].used)} -> ${mib(e.heaps[e.heaps.length - 1].used)} MiB`,
      `${fmtInt(e.requests)} requests, ${e.failed} failed`,
    ]);
  }
  return ['## Summary', '', table(['figure', 'value', 'context'], rows), ''];
}
