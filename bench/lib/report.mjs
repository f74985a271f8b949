// The bench report: Markdown tables of the latest figures, with their inputs and the targets.
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fmt, fmtInt, mib, table } from './stats.mjs';

const ROOT = new URL('../../', import.meta.url);
const version = (pkg) => {
  try { return JSON.parse(readFileSync(new URL(`node_modules/${pkg}/package.json`, ROOT), 'utf8')).version; } catch { return '?'; }
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

function floorTable(f) {
  const rows = Object.entries(f.floor).map(([op, m]) => [
    `\`${op}\``, FLOOR_LABEL[op] ?? '', fmt(m.cpuUs, 1), fmtInt(1e6 / m.cpuUs), fmt(m.insideUs, 1), fmt(m.outsideUs, 1), `${m.n} x ${m.runs}`,
  ]);
  return table(['op', 'what one iteration does', 'µs CPU', 'per second (one core)', 'µs wall, inside', 'µs wall, outside', 'iterations x runs'], rows);
}

function stepTable(f) {
  const rows = Object.entries(f.steps).map(([op, m]) => [`\`${op}\``, fmt(m.cpuUs, 2), fmt(m.insideUs, 2), `${m.n} x ${m.runs}`]);
  return table(['step (one call, in the isolate)', 'µs CPU', 'µs wall, inside', 'iterations x runs'], rows);
}

function loadRows(rows) {
  return rows.map((r) => [
    r.name, r.connections, fmtInt(r.rps), fmt(r.p50, 2), fmt(r.p99, 2),
    fmtInt(r.cpuUs.user), fmtInt(r.cpuUs.proxy), fmtInt(r.cpuUs.node), `${r.runs} x ${r.seconds} s`, r.failed,
  ]);
}
const LOAD_HEADER = ['scenario', 'conc.', 'req/s', 'p50 ms', 'p99 ms', 'edge workerd µs CPU/req', 'proxy workerd µs/req', 'wrangler node µs/req', 'runs', 'failed'];

const find = (rows, name, c) => rows?.find((r) => r.name === name && r.connections === c);

/** Ratios of an endpoint's CPU to the floor, three ways. */
function ratios({ inIsolateUs, minimalIsolateUs, floorUs, joseFloorUs, rows, harness, edgeName, noopName, minimalName }) {
  const out = { inIsolate: ratio(inIsolateUs, floorUs), inIsolateVsJose: ratio(inIsolateUs, joseFloorUs), inIsolateVsMinimal: ratio(inIsolateUs, minimalIsolateUs), http: {} };
  for (const c of [1, 64]) {
    const e = find(rows, edgeName, c);
    const n = find(harness, noopName, c);
    const m = minimalName && find(harness, minimalName, c);
    if (!e) continue;
    out.http[c] = {
      raw: ratio(e.cpuUs.user, floorUs),
      net: n ? ratio(e.cpuUs.user - n.cpuUs.user, floorUs) : NaN,
      netUs: n ? e.cpuUs.user - n.cpuUs.user : NaN,
      vsMinimal: n && m ? ratio(e.cpuUs.user - n.cpuUs.user, m.cpuUs.user - n.cpuUs.user) : NaN,
    };
  }
  return out;
}

function ratioTable(list) {
  const rows = list.map(({ label, r }) => [
    label, x(r.inIsolate), x(r.inIsolateVsJose), x(r.inIsolateVsMinimal),
    x(r.http[1]?.raw), x(r.http[64]?.raw), x(r.http[64]?.net), fmt(r.http[64]?.netUs, 0), x(r.http[64]?.vsMinimal),
  ]);
  return table(['endpoint', 'in isolate / WebCrypto floor', 'in isolate / jose floor', 'in isolate / minimal exchange in isolate', 'HTTP raw c=1 / floor', 'HTTP raw c=64 / floor', 'HTTP net c=64 / floor', 'net µs c=64', 'net / minimal-exchange net'], rows);
}

export function render({ results, errors, opts, command, tree, seconds }) {
  const out = [];
  const cpu = cpus();
  out.push('# Benchmarks: what an exchange costs');
  out.push('');
  out.push(`Made by \`${command}\` on ${new Date().toISOString().slice(0, 10)}${tree ? ` (tree ${tree})` : ''}: ${cpu.length} x ${cpu[0]?.model ?? 'cpu'}, `
    + `Node ${process.version}, wrangler ${version('wrangler')}, workerd ${version('wrangler/node_modules/@cloudflare/workerd-linux-64') || '?'}, `
    + `jose ${version('jose')}, hono ${version('hono')}, zod ${version('zod')}. Median of ${opts.runs} runs unless a row says otherwise; whole run ${Math.round(seconds)} s.`);
  out.push('');
  const targets = [];
  let summaryAt = -1;
  const f = results.floor;
  const w = results.warm;
  const t = results.token;

  if (f) {
    out.push('## 1. The floor, inside workerd');
    out.push('');
    out.push('A bench Worker (`bench/floor-worker.ts`) under the same `wrangler dev` and workerd as the edge runs one operation n times in a loop; '
      + 'keys are imported once, tokens are real (RSA-2048 and P-256 keys, a TokenRequest-shaped SA token with pod and node claims), '
      + 'the signed credential has the edge\'s exact claims. Three clocks per run: `performance.now()` in the isolate, wall time from outside '
      + `minus an empty request (${fmt(f.baseMs, 2)} ms), and the workerd process's CPU time from /proc (summed over its threads, ns resolution), which is the figure used: ${f.clockCheck}.`);
    out.push('');
    out.push(floorTable(f));
    out.push('');
  }
  if (w) {
    out.push('## 2. Warm `POST /v1/credentials` over loopback HTTP');
    out.push('');
    out.push(`autocannon, keep-alive, ${w.tokenPool} distinct SA tokens in rotation; request ${w.sizes.requestBytes.RS256} B (RS256 token) / ${w.sizes.requestBytes.ES256} B (ES256), `
      + `response ${w.sizes.responseBytes} B; trust record with 5 rules, the last one matching. **AUDIT_LOG=off** except the row that says on. `
      + 'CPU per request is utime+stime from /proc over the run divided by requests, per process: `wrangler dev` runs the Worker in one workerd '
      + '(the "edge workerd": HTTP parsing, miniflare\'s entry Worker that wraps every request, the edge\'s isolate), in front of it a second workerd '
      + 'running wrangler\'s proxy Worker (owns the port), and wrangler\'s Node process (logs each request). None of the last two exists in production. '
      + 'The harness rows are the bench Worker under the same load: `/noop` reads the body and answers the same-size response; '
      + '"minimal exchange" parses, verifies and signs with jose and nothing else.');
    out.push('');
    out.push(table(LOAD_HEADER, loadRows([...w.rows, ...w.harness])));
    out.push('');
  }
  if (t) {
    out.push('## 3. Registry token endpoint');
    out.push('');
    out.push(`Credential (${t.sizes.credentialBytes} B) minted by the edge; GET with Basic auth and \`scope=${t.sizes.scope}\`, POST form (${t.sizes.formBytes} B, grant_type=password). Same harness as (2).`);
    out.push('');
    out.push(table(LOAD_HEADER, loadRows([...t.rows, ...t.harness])));
    out.push('');
  }
  if (f && (w || t)) {
    out.push('### CPU against the floor');
    out.push('');
    out.push('*In isolate*: the whole Hono app called in the bench Worker (`app.fetch`, a Request with the same body and headers in, response text out, KV in memory, key ring and trust record cached as when warm), no HTTP: '
      + 'the part Workers bills as CPU time. *Minimal exchange in isolate*: the same Request through the least handler (`req.json()`, jose verify, jose sign, `Response.json`). '
      + '*HTTP raw*: edge workerd CPU per request over the floor. *HTTP net*: the same minus the harness `/noop` at the same concurrency.');
    out.push('');
    const list = [];
    for (const alg of ['RS256', 'ES256']) {
      if (!w) break;
      list.push({ label: `POST /v1/credentials ${alg}`, r: ratios({
        inIsolateUs: us(f.steps[`app/credentials/${alg}`]), minimalIsolateUs: us(f.steps[`app/minimal/${alg}`]), floorUs: us(f.floor[`floor/webcrypto/${alg}`]), joseFloorUs: us(f.floor[`floor/jose/${alg}`]),
        rows: w.rows, harness: w.harness, edgeName: `edge ${alg} inline keys`, noopName: 'harness /noop', minimalName: `minimal exchange ${alg}`,
      }) });
    }
    if (t) {
      for (const form of ['GET', 'POST']) {
        list.push({ label: `${form} /token`, r: ratios({
          inIsolateUs: us(f.steps[`app/token/${form}`]), floorUs: us(f.floor['floor/webcrypto/token']), joseFloorUs: us(f.floor['floor/jose/token']),
          rows: t.rows, harness: [...t.harness, ...(w?.harness ?? [])], edgeName: `token ${form}`, noopName: form === 'GET' ? 'harness GET /noop' : 'harness /noop',
        }) });
      }
    }
    out.push(ratioTable(list));
    out.push('');
    for (const { label, r } of list) {
      const minimal = Number.isFinite(r.inIsolateVsMinimal) ? `; minimal Worker: ${x(r.inIsolateVsMinimal)}` : '';
      targets.push([`${label}: CPU within 1.5x of the floor (in isolate)`, `${x(r.inIsolate)} (jose floor: ${x(r.inIsolateVsJose)}${minimal}; HTTP net c=64, noisy: ${x(r.http[64]?.net)})`, verdict(r.inIsolate <= 1.5)]);
    }
  }
  const p = results.plugin;
  if (p) {
    out.push('## 4. The exec plugin');
    out.push('');
    out.push(`${p.runs} invocations each, interleaved, Node ${p.node}: spawn, CredentialProviderRequest (RS256 token) on stdin, POST to the edge on loopback, response on stdout, exit. `
      + `The plain file (${p.files.file.bytes} B, ${p.files.file.build}) runs by its \`#!/usr/bin/env node\` with the pinned Node first on PATH; the SEA (${mib(p.files.sea.bytes)} MiB, ${p.files.sea.build}) is self-contained. `
      + `Budget = \`node -e 0\` (${fmt(p.node0, 1)} ms) + one loopback round trip of the same exchange from a warm process on a fresh connection (${fmt(p.rttMs, 2)} ms) = ${fmt(p.budget, 1)} ms.`);
    out.push('');
    out.push(table(['invocation', 'median ms', 'p90 ms', '/ budget', '/ minimal client'], p.rows.map((r) => [
      r.label, fmt(r.median, 1), fmt(r.p90, 1), p.ratios[r.label] ? x(p.ratios[r.label]) : '', p.vsMinimal[r.label] ? x(p.vsMinimal[r.label]) : '',
    ])));
    out.push('');
    out.push(`"minimal node:http client" is a cold \`node -e\` that reads stdin, POSTs it with node:http and prints the answer: the least a plugin written for Node can cost here. Load average while measuring: ${fmt(p.loadavg, 2)}.`);
    out.push('');
    for (const [label, r] of Object.entries(p.ratios)) targets.push([`${label}: within 1.3x of node -e 0 + round trip`, x(r), verdict(r <= 1.3)]);
  }
  const c = results.cold;
  if (c) {
    out.push('## 5. Cold start of trust');
    out.push('');
    out.push(`Per run: a fresh edge (new isolate, empty KV), a fresh issuer on a loopback OIDC server that answers after ${c.issuerDelayMs} ms, `
      + `then ${c.burst} exchanges (distinct RS256 tokens) sent at once, each on its own connection.`);
    out.push('');
    out.push(table(['key source', 'runs', 'JWKS fetches per run', 'discovery fetches per run', 'failed', 'burst wall ms', 'p50 ms', 'p99 ms'],
      Object.entries(c.modes).map(([mode, m]) => [mode, m.runs.length, m.jwksFetches.join(', '), m.discoveryFetches.join(', '), m.failed, fmt(m.wallMs, 0), fmt(m.p50, 0), fmt(m.p99, 0)])));
    out.push('');
    for (const [mode, m] of Object.entries(c.modes)) {
      const one = m.jwksFetches.every((n) => n === 1) && (mode !== 'discovery' || m.discoveryFetches.every((n) => n === 1));
      targets.push([`cold burst (${mode}): exactly one JWKS fetch, no failure`, `fetches ${m.jwksFetches.join('/')}, failed ${m.failed}`, verdict(one && m.failed === 0)]);
    }
  }
  const s = results.soak;
  if (s) {
    const e = s.edge;
    const n = s.harness;
    out.push('## Sustained load (memory)');
    out.push('');
    out.push(`${s.seconds} s at concurrency ${s.connections} on \`POST /v1/credentials\` (RS256, ${s.tokenPool} distinct tokens) after a 5 s warm-up: `
      + `${fmtInt(e.requests)} requests, ${fmtInt(e.rps)} req/s, p50 ${fmt(e.p50, 1)} ms, p99 ${fmt(e.p99, 1)} ms, ${e.failed} failed${e.failed ? ` (statuses ${JSON.stringify(e.statuses)}, ${e.errors} connection errors, ${e.timeouts} timeouts)` : ''}. `
      + `Then the same load on the bench Worker's \`/noop\` under the same wrangler dev (${fmtInt(n.requests)} requests, ${n.failed} failed). RSS sampled every second; `
      + 'the edge isolate\'s JS heap read after a forced full GC at start, middle and end (inspector). '
      + 'Leak criterion: retained heap grows by less than 10% (and 2 MiB); RSS also holds workerd\'s and wrangler\'s own buffers, hence the harness row.');
    out.push('');
    out.push(table(['what', 'start MiB', 'end MiB', 'peak MiB', 'trend MiB/min'], [
      ['edge isolate retained JS heap (after GC)', mib(e.heaps[0].used), mib(e.heaps[e.heaps.length - 1].used), mib(Math.max(...e.heaps.map((h) => h.used))), `${e.heaps.map((h) => mib(h.used)).join(' / ')} at ${e.heaps.map((h) => `${Math.round(h.t)} s`).join(', ')}`],
      ...Object.entries(e.rss).map(([k, v]) => [`edge run: ${{ user: 'edge workerd RSS', proxy: 'proxy workerd RSS', node: 'wrangler node RSS' }[k]}`, mib(v.start), mib(v.end), mib(v.peak), fmt(v.slopePerMin / 2 ** 20, 1)]),
      ...Object.entries(n.rss).map(([k, v]) => [`harness /noop run: ${{ user: 'bench workerd RSS', proxy: 'proxy workerd RSS', node: 'wrangler node RSS' }[k]}`, mib(v.start), mib(v.end), mib(v.peak), fmt(v.slopePerMin / 2 ** 20, 1)]),
    ]));
    out.push('');
    targets.push([`no memory growth over ${s.seconds} s at c=${s.connections} (edge isolate heap)`, `${mib(e.heaps[0].used)} -> ${mib(e.heaps[e.heaps.length - 1].used)} MiB retained; workerd RSS ${mib(e.rss.user.start)} -> ${mib(e.rss.user.end)} MiB (peak ${mib(e.rss.user.peak)}; harness /noop: ${mib(n.rss.user.start)} -> ${mib(n.rss.user.end)})`, verdict(!s.leak)]);
    targets.push([`no request failing in the ${s.seconds} s run`, `${e.failed} of ${fmtInt(e.requests)}`, verdict(e.failed === 0)]);
  }
  if (f?.hostile) {
    const h = f.hostile;
    targets.push([HOSTILE_TARGET, `${x(h.ratio)} (${fmt(h.hostileUs, 1)} / ${fmt(h.plainUs, 1)} µs CPU, \`app/token/GET/64-hostile-scopes\` / \`app/token/GET\`)`, verdict(h.ratio <= HOSTILE_MAX_RATIO)]);
  }
  if (f) {
    out.push('## Where the time goes: each step alone, in the isolate');
    out.push('');
    out.push('One call of each piece of the edge\'s code (`bench/floor-worker.ts` ops), CPU time, median of the runs shown. `app/*` rows are whole requests through the app without HTTP '
      + '(`app/minimal/*`: the least handler, see above); `step/*` rows call one function of src/ (`step/read-body` and `step/req-json` include building the Request, `step/new-request` alone).');
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

/** One line per headline figure, for the README. */
function summary(results) {
  const f = results.floor;
  const w = results.warm;
  const t = results.token;
  const p = results.plugin;
  const c = results.cold;
  const s = results.soak;
  const rows = [];
  if (f) {
    for (const alg of ['RS256', 'ES256']) {
      const m = f.floor[`floor/webcrypto/${alg}`];
      const j = f.floor[`floor/jose/${alg}`];
      rows.push([`floor: verify ${alg} SA token + sign ES256 credential (WebCrypto / jose)`, `${fmt(m.cpuUs, 1)} / ${fmt(j.cpuUs, 1)} µs CPU`, `${fmtInt(1e6 / m.cpuUs)} / ${fmtInt(1e6 / j.cpuUs)} exchanges/s per core`]);
    }
    const tk = f.floor['floor/webcrypto/token'];
    rows.push(['floor: token endpoint (verify ES256 credential + sign ES256 token, WebCrypto)', `${fmt(tk.cpuUs, 1)} µs CPU`, `${fmtInt(1e6 / tk.cpuUs)}/s per core`]);
  }
  const warmRow = (label, r) => r && rows.push([label, `${fmtInt(r.rps)} req/s, p50 ${fmt(r.p50, 2)} ms, p99 ${fmt(r.p99, 2)} ms`, `edge workerd ${fmtInt(r.cpuUs.user)} µs CPU/req${r.failed ? `, **${r.failed} failed**` : ''}`]);
  for (const alg of ['RS256', 'ES256']) {
    for (const conc of [1, 64]) warmRow(`POST /v1/credentials ${alg}, c=${conc} (AUDIT_LOG=off)`, find(w?.rows, `edge ${alg} inline keys`, conc));
    if (f?.steps[`app/credentials/${alg}`]) {
      const a = f.steps[`app/credentials/${alg}`].cpuUs;
      rows.push([`POST /v1/credentials ${alg}, in isolate (no HTTP)`, `${fmt(a, 1)} µs CPU`, `${x(a / f.floor[`floor/webcrypto/${alg}`].cpuUs)} the WebCrypto floor, ${x(a / f.floor[`floor/jose/${alg}`].cpuUs)} the jose floor`]);
    }
  }
  for (const form of ['GET', 'POST']) {
    for (const conc of [1, 64]) warmRow(`${form} /token, c=${conc}`, find(t?.rows, `token ${form}`, conc));
    if (f?.steps[`app/token/${form}`]) {
      const a = f.steps[`app/token/${form}`].cpuUs;
      rows.push([`${form} /token, in isolate (no HTTP)`, `${fmt(a, 1)} µs CPU`, `${x(a / f.floor['floor/webcrypto/token'].cpuUs)} the WebCrypto floor, ${x(a / f.floor['floor/jose/token'].cpuUs)} the jose floor`]);
    }
  }
  if (f?.hostile) {
    rows.push(['GET /token, 64 scopes of 255-char names vs `**/**/**/app`, in isolate (no HTTP)', `${fmt(f.hostile.hostileUs, 1)} µs CPU`, `${x(f.hostile.ratio)} a plain GET /token (one scope)`]);
  }
  if (p) {
    for (const r of p.rows) rows.push([`exec plugin: ${r.label}`, `${fmt(r.median, 1)} ms median`, p.ratios[r.label] ? `${x(p.ratios[r.label])} (node -e 0 + round trip = ${fmt(p.budget, 1)} ms)` : '']);
  }
  if (c) {
    for (const [mode, m] of Object.entries(c.modes)) rows.push([`cold burst, ${c.burst} exchanges at once, ${mode}`, `JWKS fetched ${m.jwksFetches.join('/')}x${mode === 'discovery' ? `, discovery ${m.discoveryFetches.join('/')}x` : ''}`, `${m.failed} failed, all answered in ${fmt(m.wallMs, 0)} ms`]);
  }
  if (s) {
    const e = s.edge;
    rows.push([`sustained ${s.seconds} s, c=${s.connections}`, `isolate heap after GC ${mib(e.heaps[0].used)} -> ${mib(e.heaps[e.heaps.length - 1].used)} MiB`, `${fmtInt(e.requests)} requests, ${e.failed} failed`]);
  }
  return ['## Summary', '', table(['figure', 'value', 'context'], rows), ''];
}
