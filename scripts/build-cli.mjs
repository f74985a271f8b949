#!/usr/bin/env node
// `npm run build:cli`: scripts/ecp.mjs and everything it loads (the records, upstream and
// keys-sync CLIs, the edge's schemas and upstream descriptions from src/, zod, yaml) bundled
// into one ES module, dist/cli/ecp.mjs: Node >= 18, no dependencies at run time, `#!/usr/bin/env
// node`, mode 0755. The same sources give the same bytes (no date, no absolute path in it).
//   node scripts/build-cli.mjs                 dist/cli/ecp.mjs, and the same bytes as the chart's
//                                              files/ecp.mjs (its key-sync CronJob runs it; Helm
//                                              reads only files inside the chart; git-ignored)
//   node scripts/build-cli.mjs --outfile F     F only
// The CLIs load src/ through scripts/lib/schema.mjs, which bundles it on the fly with esbuild;
// here that module is replaced by one that imports the same entries (SCHEMA_ENTRY,
// UPSTREAM_ENTRY) statically, so esbuild itself stays out of the file.
import { chmodSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import { SCHEMA_ENTRY, UPSTREAM_ENTRY } from './lib/schema.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const CLI_FILE = join(ROOT, 'dist', 'cli', 'ecp.mjs');
/** Where charts/edge-credential-provider/templates/key-sync.yaml reads it (.Files.Get). */
export const CHART_CLI_FILE = join(ROOT, 'charts', 'edge-credential-provider', 'files', 'ecp.mjs');
const SCHEMA_MODULE = join(ROOT, 'scripts', 'lib', 'schema.mjs');

/** scripts/lib/schema.mjs's loaders, answering the statically bundled entries. */
const STATIC_SCHEMA = [
  "import * as schema from 'ecp-entry:schema';",
  "import * as upstream from 'ecp-entry:upstream';",
  'export const loadSchema = async () => schema;',
  'export const loadUpstreamTools = async () => upstream;',
].join('\n');
const ENTRIES = { schema: SCHEMA_ENTRY, upstream: UPSTREAM_ENTRY };

/** @type {import('esbuild').Plugin} */
const staticSchema = {
  name: 'static-schema',
  setup(b) {
    b.onResolve({ filter: /^ecp-entry:/ }, (args) => ({ path: args.path.slice('ecp-entry:'.length), namespace: 'ecp-entry' }));
    b.onLoad({ filter: /.*/, namespace: 'ecp-entry' }, (args) => ({ contents: ENTRIES[args.path], loader: 'ts', resolveDir: ROOT }));
    b.onLoad({ filter: /[\\/]scripts[\\/]lib[\\/]schema\.mjs$/ }, (args) =>
      args.path === SCHEMA_MODULE ? { contents: STATIC_SCHEMA, loader: 'js', resolveDir: dirname(SCHEMA_MODULE) } : undefined,
    );
  },
};

/** Writes under a temporary name, then renames: a reader (Helm, a test) never sees half a file. */
function writeAtomically(file, bytes) {
  mkdirSync(dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, bytes, { mode: 0o755 });
  chmodSync(temporary, 0o755); // whatever the umask
  renameSync(temporary, file);
}

/**
 * Builds the CLI file.
 * @param {{ outfile?: string }} [opts]
 * @returns {Promise<{ outfile: string, imports: string[] }>} the file written and what it
 *   imports at run time (Node built-ins only, or the build would have bundled them)
 */
export async function buildCli({ outfile = CLI_FILE } = {}) {
  const result = await build({
    entryPoints: [join(ROOT, 'scripts', 'ecp.mjs')],
    outfile,
    write: false,
    bundle: true,
    platform: 'node',
    target: 'node18',
    format: 'esm', // the entry awaits the CLI it loads; .mjs is ESM wherever the file is copied
    plugins: [staticSchema],
    // yaml's Node build is CommonJS that require()s Node built-ins; the entry's #! line is kept.
    banner: { js: "import { createRequire as __ecpRequire } from 'node:module';\nconst require = __ecpRequire(import.meta.url);" },
    legalComments: 'none',
    minify: true, // about a third of the size: the sources are in scripts/ and src/
    logLevel: 'warning',
    metafile: true,
  });
  const bundledEsbuild = Object.keys(result.metafile.inputs).filter((p) => p.startsWith('node_modules/esbuild/'));
  if (bundledEsbuild.length) throw new Error(`esbuild itself was bundled (${bundledEsbuild[0]}): scripts/lib/schema.mjs was not replaced`);
  writeAtomically(outfile, result.outputFiles[0].contents);
  const imports = Object.values(result.metafile.outputs).flatMap((o) => o.imports.filter((i) => i.external).map((i) => i.path));
  return { outfile, imports: [...new Set(imports)].sort() };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values } = parseArgs({ options: { outfile: { type: 'string' } } });
  const { outfile } = await buildCli({ outfile: values.outfile });
  console.log(`built ${outfile} (${statSync(outfile).size} bytes)`);
  if (!values.outfile) {
    writeAtomically(CHART_CLI_FILE, readFileSync(outfile));
    console.log(`copied to ${CHART_CLI_FILE}`);
  }
}
