// (6) Cold start of the Worker, the edge beside the minimal Worker (bench/minimal-worker.ts)
// in the same run:
//   bundle         `wrangler deploy --dry-run --outdir` (wrangler.toml minifies): the main module wrangler
//                  would upload, bytes and gzip; checked byte for byte against
//                  bench/lib/bundle.mjs (what the size test builds), with bytes per package
//   check startup  `wrangler check startup` on that bundle: wrangler's V8 profile of the
//                  module's import in a fresh local workerd ("Active" ms)
//   start-up CPU   workerd CPU time of the request that imports the bundle on a fresh isolate,
//                  minus the same request right after (lib/isolate.mjs)
//   first request  workerd CPU time of the first POST /v1/credentials on a fresh isolate:
//                  start-up, key ring import, trust record read from KV (not in the isolate
//                  yet), the issuer's JWKS from KV (no fetch: checked), verify, sign.
//                  Beside it, the same request once warm, in the same isolate.
//   profile        where that first request spends its CPU, by step: V8's profiler through
//                  workerd's inspector, on fresh isolates after the timed runs (lib/first-profile.mjs)
// Runs are interleaved (minimal, edge, minimal, edge, ...), so that both see the same machine.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { generateAdminToken, generateKeyRing } from '../../scripts/lib/keys.mjs';
import { BUNDLE_TARGET_BYTES, FIRST_REQUEST_MS, FIRST_REQUEST_RATIO, STARTUP_BUDGET_MS } from '../budget.mjs';
import { bundleWorker } from '../lib/bundle.mjs';
import { AUDIENCE, kubeletRequest, makeIssuer, saTokens, startOidcServer } from '../lib/fixtures.mjs';
import { profileFirstRequest } from '../lib/first-profile.mjs';
import { LOAD_PATH, startIsolate } from '../lib/isolate.mjs';
import { COMPATIBILITY_DATE, prime } from '../lib/prime.mjs';
import { median, minMax } from '../lib/stats.mjs';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const WRANGLER = join(ROOT, 'node_modules', 'wrangler', 'bin', 'wrangler.js');
const run = promisify(execFile);

/** The two Workers: config for wrangler, entry for esbuild. Same compatibility date (both tomls say why). */
const WORKERS = {
  minimal: { config: 'bench/minimal.wrangler.toml', entry: 'bench/minimal-worker.ts' },
  edge: { config: 'wrangler.toml', entry: 'src/index.ts' },
};

/** Requests before the warm figure is taken, and requests it is the mean of. */
const WARM_UP = 30;
const WARM_REQUESTS = 200;
/** Profiles of the first request (lib/first-profile.mjs), averaged. */
const PROFILES = 5;
const JSON_POST = { method: 'POST', headers: { 'content-type': 'application/json' } };

async function wrangler(args) {
  const { stdout, stderr } = await run(process.execPath, [WRANGLER, ...args], {
    cwd: ROOT,
    env: { ...process.env, CI: 'true', WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false', NO_COLOR: '1' },
    maxBuffer: 16 * 1024 * 1024,
  });
  return `${stdout}\n${stderr}`;
}

/**
 * `wrangler deploy --dry-run` (each toml sets minify), twice: to a directory (the main module, for its size and
 * for the isolates) and to an upload bundle (multipart, what `check startup --worker` reads).
 */
async function build(dir, name, w) {
  const outdir = join(dir, name);
  mkdirSync(outdir);
  const said = await wrangler(['deploy', '--dry-run', '--config', w.config, '--outdir', outdir]);
  // wrangler appends a source-map comment to the files it writes; the upload has none (no source maps by default).
  const written = listModules(outdir).map((path) => ({
    path,
    text: readFileSync(join(outdir, path), 'utf8').replace(/\n\/\/# sourceMappingURL=\S+\n?$/, '\n'),
  }));
  const main = written.find((f) => !f.path.includes('/'));
  if (!main) throw new Error(`wrangler deploy --dry-run wrote no main module for ${name}:\n${said}`);
  const upload = join(dir, `${name}.upload`);
  await wrangler(['deploy', '--dry-run', '--config', w.config, '--outfile', upload]);
  const total = /Total Upload: ([\d.]+) KiB \/ gzip: ([\d.]+) KiB/.exec(said);
  const ours = await bundleWorker(w.entry, { cwd: ROOT });
  // The same modules, byte for byte: ours by path (index.mjs, chunks/...), or one module for a Worker wrangler bundles itself.
  const same =
    ours.files.length === written.length &&
    ours.files.every((f) => written.some((m) => (m.path === f.path || (written.length === 1 && ours.files.length === 1)) && m.text === f.text));
  return {
    code: main.text,
    modules: written.filter((f) => f !== main).map((f) => ({ path: f.path, contents: f.text })),
    upload,
    bytes: ours.bytes,
    totalBytes: written.reduce((n, f) => n + Buffer.byteLength(f.text), 0),
    modulesCount: written.length,
    wranglerKiB: total ? Number(total[1]) : NaN,
    wranglerGzipKiB: total ? Number(total[2]) : NaN,
    gzipBytes: ours.gzipBytes,
    esbuildBytes: ours.totalBytes,
    sameAsEsbuild: same,
    byGroup: ours.byGroup,
  };
}

/** The .js and .mjs files under `dir`, as paths relative to it. */
function listModules(dir, prefix = '') {
  return readdirSync(join(dir, prefix), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? listModules(dir, join(prefix, e.name)) : /\.m?js$/.test(e.name) ? [join(prefix, e.name)] : [],
  );
}

/** One `wrangler check startup` of a built upload bundle: its summary figures, ms. */
async function checkStartup(dir, name, upload, i) {
  const said = await wrangler(['check', 'startup', '--worker', upload, '--outfile', join(dir, `${name}-${i}.cpuprofile`)]);
  const num = (re) => Number(re.exec(said)?.[1] ?? NaN);
  const active = num(/Active: ([\d.]+) ms/);
  if (!Number.isFinite(active)) throw new Error(`wrangler check startup printed no Active figure for ${name}:\n${said}`);
  return {
    activeMs: active,
    gcMs: num(/including ([\d.]+) ms garbage collection/),
    windowMs: num(/Profile window: ([\d.]+) ms/),
    samples: num(/Samples: (\d+)/),
  };
}

/** Start-up CPU by /proc: the importing request on a fresh isolate minus the same request once imported. */
async function startupCpu(code, o) {
  const isolate = await startIsolate({ code, compatibilityDate: COMPATIBILITY_DATE, ...o });
  try {
    const cold = await isolate.request(LOAD_PATH);
    const again = await isolate.request(LOAD_PATH);
    if (cold.status !== 200 || again.status !== 200) throw new Error(`the wrapper could not import the bundle: ${cold.status} ${cold.text.slice(0, 300)}`);
    return { coldMs: cold.cpuMs, loadedMs: again.cpuMs, startupMs: cold.cpuMs - again.cpuMs };
  } finally {
    await isolate.stop();
  }
}

/** The first exchange on a fresh isolate, then the warm one (mean of WARM_REQUESTS after WARM_UP). */
async function firstAndWarm(code, o, bodies, oidc) {
  const isolate = await startIsolate({ code, compatibilityDate: COMPATIBILITY_DATE, ...o });
  try {
    const fetchesBefore = oidc.counts.jwks;
    const first = await isolate.request('/v1/credentials', { ...JSON_POST, body: bodies[0] });
    if (first.status !== 200) throw new Error(`first request answered ${first.status}: ${first.text.slice(0, 300)}`);
    const jwksFetches = oidc.counts.jwks - fetchesBefore;
    for (let i = 0; i < WARM_UP; i++) await isolate.request('/v1/credentials', { ...JSON_POST, body: bodies[i % bodies.length] });
    let cpuMs = 0;
    for (let i = 0; i < WARM_REQUESTS; i++) {
      const r = await isolate.request('/v1/credentials', { ...JSON_POST, body: bodies[i % bodies.length] });
      if (r.status !== 200) throw new Error(`warm request answered ${r.status}: ${r.text.slice(0, 300)}`);
      cpuMs += r.cpuMs;
    }
    return { firstMs: first.cpuMs, warmMs: cpuMs / WARM_REQUESTS, jwksFetches };
  } finally {
    await isolate.stop();
  }
}

/** A Worker that only reads the given KV keys, as a first exchange does. */
const KV_PROBE = `export default {
  async fetch(req, env) {
    const keys = JSON.parse(new URL(req.url).searchParams.get('keys'));
    // As the edge reads them: with their metadata (the seal, src/store/seal.ts).
    const values = await Promise.all(keys.map((k) => env.TRUST.getWithMetadata(k, 'text')));
    return new Response(String(values.filter((v) => v.value !== null).length));
  },
};`;

/**
 * What the local harness adds to the first request: the same cold KV reads from a Worker that
 * does nothing else, on a fresh isolate (Miniflare's KV simulator answers them in the same
 * workerd process, so its CPU is in the edge's first-request figure; in production KV is I/O).
 */
async function kvReadsCpu(o, keys) {
  const isolate = await startIsolate({ code: KV_PROBE, compatibilityDate: COMPATIBILITY_DATE, ...o, modules: [] });
  try {
    await isolate.request(LOAD_PATH);
    const r = await isolate.request(`/read?keys=${encodeURIComponent(JSON.stringify(keys))}`);
    if (r.status !== 200 || r.text !== '2') throw new Error(`the KV probe read ${r.text} of the record and the JWKS (status ${r.status})`);
    return r.cpuMs;
  } finally {
    await isolate.stop();
  }
}

/** Median and range of a list of figures. */
function spread(xs) {
  const [min, max] = minMax(xs);
  return { median: median(xs), min, max, runs: xs };
}

export async function startupSection(ctx) {
  const dir = mkdtempSync(join(tmpdir(), 'ecp-bench-startup-'));
  const iss = await makeIssuer();
  const oidc = await startOidcServer(iss, { delayMs: 0 });
  try {
    // (a) Bundles.
    const bundles = {};
    for (const [name, w] of Object.entries(WORKERS)) {
      bundles[name] = await build(dir, name, w);
      const b = bundles[name];
      ctx.log(
        `  ${name} bundle: start-up set ${(b.bytes / 1024).toFixed(1)} KiB minified, ${(b.gzipBytes / 1024).toFixed(1)} KiB gzip; ${b.modulesCount} module(s), ${(b.totalBytes / 1024).toFixed(1)} KiB in all (wrangler: ${b.wranglerKiB} KiB); the Worker's build ${b.sameAsEsbuild ? 'gives the same modules, byte for byte' : `DIFFERS (${b.esbuildBytes} B)`}`,
      );
    }

    // The edge's KV, seeded once; every fresh edge isolate below reads it.
    const keyRing = generateKeyRing();
    const adminToken = generateAdminToken();
    const persistDir = join(dir, 'kv');
    const edgeBindings = { EDGE_ISSUER: 'http://127.0.0.1:8787', EDGE_SIGNING_KEYS: JSON.stringify(keyRing), ADMIN_TOKEN: adminToken, AUDIT_LOG: 'off' };
    const bodies = (await saTokens(iss, 16, 'RS256')).map((t) => JSON.stringify(kubeletRequest(t)));
    const { credential, kvReads } = await prime({
      edgeCode: bundles.edge.code,
      edgeModules: bundles.edge.modules,
      persistDir,
      bindings: edgeBindings,
      iss,
      oidc,
      body: bodies[0],
    });
    const active = keyRing.keys.find((k) => k.kid === keyRing.active);
    const options = {
      edge: { bindings: edgeBindings, kv: ['TRUST'], persistDir, modules: bundles.edge.modules },
      minimal: {
        bindings: {
          MINIMAL_SETUP: JSON.stringify({
            issuer: iss.issuer,
            audiences: [AUDIENCE],
            jwks: iss.jwks,
            signingJwk: active.privateJwk,
            kid: active.kid,
            edgeIssuer: edgeBindings.EDGE_ISSUER,
            credentialClaims: decodeJwt(credential),
            credentialTyp: decodeProtectedHeader(credential).typ,
          }),
        },
      },
    };

    // (b) and (c), interleaved.
    const runs = Math.max(3, ctx.runs + 2);
    const raw = { minimal: [], edge: [] };
    for (let r = 0; r < runs; r++) {
      for (const name of Object.keys(WORKERS)) {
        const check = await checkStartup(dir, name, bundles[name].upload, r);
        const cpu = await startupCpu(bundles[name].code, options[name]);
        const req = await firstAndWarm(bundles[name].code, options[name], bodies, oidc);
        if (name === 'edge') req.kvReadsMs = await kvReadsCpu(options.edge, kvReads);
        raw[name].push({ check, cpu, req });
        ctx.log(
          `  ${name} run ${r + 1}: check startup active ${check.activeMs.toFixed(1)} ms; start-up CPU ${cpu.startupMs.toFixed(1)} ms; first request ${req.firstMs.toFixed(1)} ms (JWKS fetched ${req.jwksFetches}x)${req.kvReadsMs === undefined ? '' : `, of which its KV reads alone ${req.kvReadsMs.toFixed(1)} ms`}, warm ${req.warmMs.toFixed(2)} ms`,
        );
      }
    }
    const summary = {};
    for (const [name, list] of Object.entries(raw)) {
      summary[name] = {
        checkActiveMs: spread(list.map((x) => x.check.activeMs)),
        checkSamples: median(list.map((x) => x.check.samples)),
        startupMs: spread(list.map((x) => x.cpu.startupMs)),
        firstMs: spread(list.map((x) => x.req.firstMs)),
        warmMs: spread(list.map((x) => x.req.warmMs)),
        kvReadsMs: spread(list.map((x) => x.req.kvReadsMs)),
        // The first request less what the local KV simulator spent on its reads (in production KV is I/O, not the Worker's CPU).
        firstWithoutKvMs: spread(list.map((x) => x.req.firstMs - (x.req.kvReadsMs ?? 0))),
        jwksFetchesOnFirst: list.map((x) => x.req.jwksFetches),
      };
    }
    // Ratios run by run: each edge run against the minimal run just before it.
    const paired = (f) => spread(raw.edge.map((e, i) => f(e) / f(raw.minimal[i])));
    const ratios = {
      checkActive: paired((x) => x.check.activeMs),
      startup: paired((x) => x.cpu.startupMs),
      first: paired((x) => x.req.firstMs),
      firstWithoutKv: spread(raw.edge.map((e, i) => (e.req.firstMs - e.req.kvReadsMs) / raw.minimal[i].req.firstMs)),
    };
    // (d) Where the edge's first request spends its CPU: V8's profiler, after the timed runs (it slows what it profiles).
    const profile = await profileFirstRequest({ runs: PROFILES, dir, bindings: edgeBindings, iss, oidc, body: bodies[0] });
    ctx.log(`  first-request profile: ${profile.steps.map(([k, v]) => `${k.trim()} ${v.toFixed(1)}`).join('; ')} ms`);
    return {
      runs,
      warmRequests: WARM_REQUESTS,
      budget: { bundleBytes: BUNDLE_TARGET_BYTES, startupMs: STARTUP_BUDGET_MS, firstRatio: FIRST_REQUEST_RATIO, firstMs: FIRST_REQUEST_MS },
      bundles: Object.fromEntries(Object.entries(bundles).map(([name, b]) => [name, { ...b, code: undefined, modules: undefined, upload: undefined }])),
      workers: summary,
      ratios,
      profile,
    };
  } finally {
    await oidc.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
