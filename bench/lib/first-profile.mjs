// Where the first POST /v1/credentials on a fresh isolate spends its CPU: a V8 CPU profile
// (through workerd's inspector, lib/profile.mjs) of that one request, on an isolate whose main
// module imports the edge inside the request (lib/isolate.mjs), so the modules' compilation and
// evaluation are in it too. The Worker is built as for deploy (scripts/lib/worker-build.mjs) but
// not minified, so each source module keeps esbuild's `// path` comment the profile is
// attributed by. Used by `npm run bench:first` and the bench's startup section.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorker } from './bundle.mjs';
import { startIsolate } from './isolate.mjs';
import { COMPATIBILITY_DATE, prime } from './prime.mjs';
import { profileInspector } from './profile.mjs';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * The steps of a first exchange: for each, the time sampled inside the edge's function that does
 * it and whatever it called. They overlap (the decision holds the record, the keys and the
 * verification), and work after an `await` is sampled under the function it resumes in, not its
 * caller, so a step's figure is what ran inside it, not a share of the handler. Beside them,
 * what no function of ours holds: V8 compiling (`(program)`), the KV binding's native side (the
 * local simulator's share of it included), garbage collection.
 */
const STEPS = [
  ['settings (loadConfig)', (f) => f === 'loadConfig src/config.ts'],
  ['the kubelet request (parseCredentialProviderRequest)', (f) => f === 'parseCredentialProviderRequest src/kubelet.ts'],
  ['the decision (decide: the four below and more)', (f) => f === 'decide src/decide.ts'],
  ['trust record and revocations (loadTrust, KV reads included)', (f) => f === 'loadTrust src/store/trust.ts'],
  ['issuer keys (issuerKeys, KV read included)', (f) => f === 'issuerKeys src/identity/jwks.ts'],
  ['token verification (verifyServiceAccountToken)', (f) => f === 'verifyServiceAccountToken src/identity/verify.ts'],
  ['rules (evaluate)', (f) => f === 'evaluate src/policy/evaluate.ts'],
  ['credential keys (loadCredentialKeys)', (f) => f === 'loadCredentialKeys src/signing/keys.ts'],
  ['the credential (mintCredential)', (f) => f === 'mintCredential src/registry/credential.ts'],
];

/**
 * Profiles the first exchange on `runs` fresh isolates (KV primed once, as a warm location has it).
 * @returns {Promise<{ runs: number, sampledMs: number, steps: Array<[string, number]>, byModule: Array<[string, number]>, byFunction: Array<[string, number]> }>}
 *   means over the runs, ms
 */
export async function profileFirstRequest({ runs, dir, bindings, iss, oidc, body }) {
  const { files } = await bundleWorker('src/index.ts', { cwd: ROOT, minify: false });
  const code = files[0].text;
  const modules = files.slice(1).map((f) => ({ path: f.path, contents: f.text }));
  const persistDir = join(dir, 'kv-profile');
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
  const mean = (m) => [...m.entries()].map(([k, v]) => [k, v / runs]).sort((a, b) => b[1] - a[1]);
  const own = mean(sums.ownInclusive);
  const fn = mean(sums.byFunction);
  const self = (name) => fn.find(([k]) => k === name)?.[1] ?? 0;
  const steps = [
    ...STEPS.map(([label, match]) => [label, own.filter(([k]) => match(k)).reduce((n, [, v]) => n + v, 0)]),
    ['V8 compiling and running code outside any function (program)', self('(program) (program)')],
    ['the KV binding, native side (getWithMetadata, with the local simulator in it)', self('getWithMetadata (native)')],
    ['garbage collection', self('(garbage collector) (garbage collector)')],
  ];
  return { runs, sampledMs: sums.total / runs, steps, byModule: mean(sums.byModule), byFunction: fn };
}
