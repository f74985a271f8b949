// The bench report: Markdown tables of the latest figures, with their inputs and the targets.
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fmt, fmtInt, mib, table } from './stats.mjs';

const ROOT = new URL('../../', import.meta.url);
const version = (pkg) => {
  try { return JSON.parse(readFileSync(new URL(`node_modules/${pkg}/package.json`, ROOT), 'utf8')).version; } catch { return '?'; }
};

const us = (m) => (m ? (Number.isFinite(m.insideUs) ? m.insideUs : m.outsideUs) : NaN);
const ratio = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? a / b : NaN);
const verdict = (ok) => (ok === undefined ? 'n/a' : ok ? '**met**' : '**missed**');
const x = (r) => (Number.isFinite(r) ? `${r.toFixed(2)}x` : 'n/a');

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
    `\`${op}\``, FLOOR_LABEL[op] ?? '', fmt(us(m), 1), fmt(m.outsideUs, 1), fmt(m.cpuUs, 1), fmtInt(1e6 / us(m)), `${m.n} x ${m.runs}`,
  ]);
  return table(['op', 'what one iteration does', 'µs (inside)', 'µs (outside)', 'µs CPU', 'per second', 'iterations x runs'], rows);
}

function stepTable(f) {
  const rows = Object.entries(f.steps).map(([op, m]) => [`\`${op}\``, fmt(us(m), 2), fmt(m.cpuUs, 2)]);
  return table(['step (one call, in the isolate)', 'µs', 'µs CPU'], rows);
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

export function render({ results, errors, opts, command, seconds }) {
  const out = [];
  const cpu = cpus();
  out.push('# Benchmarks: what an exchange costs');
  out.push('');
  out.push(`Made by \`${command}\` on ${new Date().toISOString().slice(0, 10)}: ${cpu.length} x ${cpu[0]?.model ?? 'cpu'}, `
    + `Node ${process.version}, wrangler ${version('wrangler')}, workerd ${version('wrangler/node_modules/@cloudflare/workerd-linux-64') || '?'}, `
    + `jose ${version('jose')}, hono ${version('hono')}, zod ${version('zod')}. Median of ${opts.runs} runs unless a row says otherwise; whole run ${Math.round(seconds)} s.`);
  out.push('');
  const targets = [];
  const f = results.floor;
  const w = results.warm;
  const t = results.token;

  if (f) {
    out.push('## 1. The floor, inside workerd');
    out.push('');
    out.push('A bench Worker (`bench/floor-worker.ts`) under the same `wrangler dev` and workerd as the edge runs one operation n times in a loop; '
      + 'keys are imported once, tokens are real (RSA-2048 and P-256 keys, a TokenRequest-shaped SA token with pod and node claims), '
      + 'the signed credential has the edge\'s exact claims. Three clocks per run: `performance.now()` in the isolate, wall time from outside '
      + `minus an empty request (${fmt(f.baseMs, 2)} ms), and the workerd process's CPU time from /proc; they ${f.clockCheck}.`);
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
      targets.push([`${label}: CPU within 1.5x of the floor (in isolate)`, `${x(r.inIsolate)} (jose floor: ${x(r.inIsolateVsJose)}; HTTP net c=64: ${x(r.http[64]?.net)})`, verdict(r.inIsolate <= 1.5)]);
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
    out.push('## Sustained load (memory)');
    out.push('');
    out.push(`${s.seconds} s at concurrency ${s.connections} on \`POST /v1/credentials\` (RS256, ${s.tokenPool} distinct tokens), after a 5 s warm-up; RSS sampled every second. `
      + `${fmtInt(s.requests)} requests, ${fmtInt(s.rps)} req/s, p50 ${fmt(s.p50, 1)} ms, p99 ${fmt(s.p99, 1)} ms, ${s.failed} failed. `
      + 'Leak criterion: last-30 s trend under 1% of the start per minute, and end within 10% of start.');
    out.push('');
    out.push(table(['process', 'start MiB', 'end MiB', 'peak MiB', 'last-30 s trend MiB/min'],
      Object.entries(s.rss).filter(([, v]) => v).map(([k, v]) => [{ user: 'edge workerd', proxy: 'proxy workerd', node: 'wrangler node' }[k], mib(v.start), mib(v.end), mib(v.peak), fmt(v.tailSlopePerMin / 2 ** 20, 2)])));
    out.push('');
    targets.push([`no memory growth over ${s.seconds} s at c=${s.connections}`, `${mib(s.rss.user.start)} -> ${mib(s.rss.user.end)} MiB (peak ${mib(s.rss.user.peak)})`, verdict(!s.leak && s.failed === 0)]);
  }
  if (f) {
    out.push('## Where the time goes: each step alone, in the isolate');
    out.push('');
    out.push('One call of each piece of the edge\'s code (`bench/floor-worker.ts` ops; median of 3 loops of ~200 ms). `app/*` rows are the whole Hono app without HTTP.');
    out.push('');
    out.push(stepTable(f));
    out.push('');
  }
  if (targets.length) {
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
  return `${out.join('\n')}\n`;
}
