#!/usr/bin/env node
// `npm run bench:first`: where the first POST /v1/credentials on a fresh isolate spends its
// CPU. A V8 CPU profile (through workerd's inspector) of that one request, on an isolate
// whose main module imports the edge's bundle inside the request (lib/isolate.mjs), so module
// evaluation is in it too; summed by module and by the edge's own functions (inclusive).
// The Worker is built as for deploy (scripts/lib/worker-build.mjs) but not minified, so each
// source module keeps esbuild's `// path` comment the profile is attributed by.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateAdminToken, generateKeyRing } from '../scripts/lib/keys.mjs';
import { bundleWorker } from './lib/bundle.mjs';
import { kubeletRequest, makeIssuer, saTokens, startOidcServer } from './lib/fixtures.mjs';
import { startIsolate } from './lib/isolate.mjs';
import { profileInspector } from './lib/profile.mjs';
import { COMPATIBILITY_DATE, prime } from './sections/startup.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const runs = Number(process.argv[2] ?? 5);
const top = 30;

const { files } = await bundleWorker('src/index.ts', { cwd: ROOT, minify: false });
const code = files[0].text;
const modules = files.slice(1).map((f) => ({ path: f.path, contents: f.text }));
const dir = mkdtempSync(join(tmpdir(), 'ecp-bench-first-'));
const iss = await makeIssuer();
const oidc = await startOidcServer(iss, { delayMs: 0 });
try {
  const bindings = {
    EDGE_ISSUER: 'http://127.0.0.1:8787',
    EDGE_SIGNING_KEYS: JSON.stringify(generateKeyRing()),
    ADMIN_TOKEN: generateAdminToken(),
    AUDIT_LOG: 'off',
  };
  const body = JSON.stringify(kubeletRequest((await saTokens(iss, 1, 'RS256'))[0]));
  const persistDir = join(dir, 'kv');
  await prime({ edgeCode: code, edgeModules: modules, persistDir, bindings, iss, oidc, body });
  const sums = { byModule: new Map(), byFunction: new Map(), ownInclusive: new Map(), total: 0 };
  for (let r = 0; r < runs; r++) {
    const isolate = await startIsolate({ code, modules, compatibilityDate: COMPATIBILITY_DATE, bindings, kv: ['TRUST'], persistDir, inspect: true });
    try {
      const prof = await profileInspector(isolate.inspectorUrl, async () => {
        const res = await isolate.request('/v1/credentials', { method: 'POST', headers: { 'content-type': 'application/json' }, body });
        if (res.status !== 200) throw new Error(`first request answered ${res.status}: ${res.text.slice(0, 200)}`);
      });
      sums.total += prof.totalMs;
      for (const key of ['byModule', 'byFunction', 'ownInclusive']) for (const [k, v] of prof[key]) sums[key].set(k, (sums[key].get(k) ?? 0) + v);
    } finally {
      await isolate.stop();
    }
  }
  const avg = (v) => `${(v / runs).toFixed(2).padStart(6)} ms`;
  console.log(
    `first POST /v1/credentials on a fresh isolate, mean of ${runs} profiles: ${(sums.total / runs).toFixed(1)} ms sampled (profiler overhead included)`,
  );
  const print = (title, m) => {
    console.log(`\n${title}`);
    for (const [k, v] of [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${avg(v)}  ${k}`);
  };
  print('by module (self time)', sums.byModule);
  print('by function (self time)', sums.byFunction);
  print("the edge's own functions, inclusive", sums.ownInclusive);
} finally {
  await oidc.stop();
  rmSync(dir, { recursive: true, force: true });
}
