#!/usr/bin/env node
// `npm run bench:first -- [runs]`: where the first POST /v1/credentials on a fresh isolate spends
// its CPU (lib/first-profile.mjs): by step, by module and by function, the mean of `runs`
// profiles (default 5). Percentages would hide the profiler's own overhead: these are ms.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateAdminToken, generateKeyRing } from '../scripts/lib/keys.mjs';
import { kubeletRequest, makeIssuer, saTokens, startOidcServer } from './lib/fixtures.mjs';
import { profileFirstRequest } from './lib/first-profile.mjs';

const runs = Number(process.argv[2] ?? 5);
const top = 30;
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
  const p = await profileFirstRequest({ runs, dir, bindings, iss, oidc, body });
  const ms = (v) => `${v.toFixed(2).padStart(6)} ms`;
  console.log(`first POST /v1/credentials on a fresh isolate, mean of ${runs} profiles: ${p.sampledMs.toFixed(1)} ms sampled (profiler overhead included)`);
  console.log('\nby step (time sampled inside each; they overlap)');
  for (const [k, v] of p.steps) console.log(`${ms(v)}  ${k}`);
  console.log('\nby module (self time)');
  for (const [k, v] of p.byModule.slice(0, top)) console.log(`${ms(v)}  ${k}`);
  console.log('\nby function (self time)');
  for (const [k, v] of p.byFunction.slice(0, top)) console.log(`${ms(v)}  ${k}`);
} finally {
  await oidc.stop();
  rmSync(dir, { recursive: true, force: true });
}
