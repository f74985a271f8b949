// The edge's own trust-record schema (src/policy/schema.ts), loaded in Node: bundled on the
// fly with esbuild (a devDependency) so the CLI validates with the very source the Worker
// uses, never a copy.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const ENTRY = fileURLToPath(new URL('../../src/policy/schema.ts', import.meta.url));

/** @returns {Promise<{ TrustRecordSchema: import('zod').ZodType, describeIssues: (e: unknown) => string[] }>} */
export async function loadSchema() {
  const out = await build({ entryPoints: [ENTRY], bundle: true, format: 'esm', platform: 'neutral', target: 'es2022', write: false, logLevel: 'silent', mainFields: ['module', 'main'] });
  const code = out.outputFiles[0].text;
  return import(`data:text/javascript;base64,${Buffer.from(code).toString('base64')}`);
}
