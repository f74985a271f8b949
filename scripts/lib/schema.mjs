// The edge's own code loaded in Node: bundled on the fly with esbuild (a devDependency) so the
// CLIs validate and describe with the very source the Worker uses, never a copy.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * What each loader below exports from src/ (module text, paths relative to the repository).
 * scripts/build-cli.mjs bundles the same text into dist/cli/ecp.mjs, where nothing is bundled
 * at run time.
 */
export const SCHEMA_ENTRY = [
  "export { TrustRecordSchema, describeIssues } from './src/policy/schema.ts';",
  // The records CLI's view of a scoped principal: what it may touch, and which changes need `keys`.
  "export { changesTrustAnchor, compileScope, compileScopes, permits } from './src/policy/admin-scope.ts';",
].join('\n');
export const UPSTREAM_ENTRY = [
  SCHEMA_ENTRY,
  "export { compileNameGlob } from './src/policy/pattern.ts';",
  "export { describeUpstream } from './src/upstream/federate.ts';",
].join('\n');

/** Bundles `contents` (an ES module importing from src/, paths relative to the repository) and imports it. */
async function loadBundle(contents) {
  const out = await build({
    stdin: { contents, resolveDir: ROOT, loader: 'ts', sourcefile: 'cli-entry.ts' },
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
    mainFields: ['module', 'main'],
  });
  return import(`data:text/javascript;base64,${Buffer.from(out.outputFiles[0].text).toString('base64')}`);
}

/** The schema, and the scope tools of src/policy/admin-scope.ts. @returns {Promise<{ TrustRecordSchema: import('zod').ZodType, describeIssues: (e: unknown) => string[], changesTrustAnchor: Function, compileScope: Function, compileScopes: Function, permits: Function }>} */
export function loadSchema() {
  return loadBundle(SCHEMA_ENTRY);
}

/**
 * The schema, the name-glob matcher and explain's description of an upstream (with its
 * vendor-side trust entry): what `npm run upstream -- trust` prints.
 */
export function loadUpstreamTools() {
  return loadBundle(UPSTREAM_ENTRY);
}
