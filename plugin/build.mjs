#!/usr/bin/env node
// Builds the exec plugin into one file, plugin/dist/edge-credential-provider: CommonJS (an
// extensionless file is loaded as CJS whatever the nearest package.json says), Node >= 18,
// no dependencies, `#!/usr/bin/env node`, mode 0755.
//   node plugin/build.mjs            the file
//   node plugin/build.mjs --sea      also the single executable (see build-sea.mjs)
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const HERE = dirname(fileURLToPath(import.meta.url));
export const DIST = join(HERE, 'dist');
export const PLUGIN_FILE = join(DIST, 'edge-credential-provider');
const VERSION = JSON.parse(readFileSync(join(HERE, '..', 'package.json'), 'utf8')).version;

/**
 * Bundles plugin/src/main.ts. `shebang: false` is for the SEA blob, where the Node binary is
 * the interpreter already.
 * @param {{ outfile?: string, shebang?: boolean }} [opts]
 */
export async function buildPlugin({ outfile = PLUGIN_FILE, shebang = true } = {}) {
  mkdirSync(dirname(outfile), { recursive: true });
  await build({
    entryPoints: [join(HERE, 'src', 'main.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node18',
    format: 'cjs',
    define: { __PLUGIN_VERSION__: JSON.stringify(VERSION) },
    banner: shebang ? { js: '#!/usr/bin/env node' } : {},
    legalComments: 'none',
    minify: true, // less to parse on every start; the sources are in plugin/src
    logLevel: 'warning',
  });
  chmodSync(outfile, 0o755);
  // The repository's package.json says "type": "module", which would make Node load this
  // extensionless file as ESM here. On a node the bin dir has no package.json: CJS either way.
  writeFileSync(join(dirname(outfile), 'package.json'), '{ "type": "commonjs" }\n');
  return outfile;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const file = await buildPlugin();
  console.log(`built ${file}`);
  if (process.argv.includes('--sea')) {
    const { buildSea } = await import('./build-sea.mjs');
    console.log(`built ${await buildSea()}`);
  }
}
