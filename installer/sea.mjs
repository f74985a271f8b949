// The plugin as a Node single executable (SEA) for an image architecture, from that
// architecture's own Node binary (fetch.mjs): the same steps as plugin/build-sea.mjs, except
// that the blob is made once by the build host's Node of the same version (a blob without a
// code cache or snapshot is the same for every CPU) and injected with postject, which edits
// the ELF file and so works on a foreign architecture's binary too.
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { buildPlugin } from '../plugin/build.mjs';

// The fuse string Node looks for to know a blob was injected (doc/api/single-executable-applications.md).
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
/** The bundled plugin's name in the blob (Node records it; it shows in stack traces). */
const MAIN = 'edge-credential-provider.cjs';

/** The host's CPU as an OCI architecture name. */
export const HOST_ARCH = { x64: 'amd64', arm64: 'arm64' }[process.arch];

const STRIP_TOOLS = {
  amd64: ['x86_64-linux-gnu-strip', 'llvm-strip'],
  arm64: ['aarch64-linux-gnu-strip', 'llvm-strip'],
};

function works(tool) {
  try {
    execFileSync(tool, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * The strip that reads `arch`'s ELF files: binutils' own on a host of that CPU, else the
 * cross binutils or llvm-strip (which reads every architecture).
 */
export function stripToolFor(arch) {
  const candidates = [...(arch === HOST_ARCH ? ['strip'] : []), ...STRIP_TOOLS[arch]];
  const tool = candidates.find(works);
  if (!tool)
    throw new Error(
      `no strip for ${arch} ELF files (tried ${candidates.join(', ')}): apt-get install binutils-${arch === 'arm64' ? 'aarch64' : 'x86-64'}-linux-gnu, or llvm`,
    );
  return tool;
}

/** Runs a build step, showing its output only when it fails (postject's LIEF warns harmlessly). */
function quietly(cmd, args, cwd) {
  try {
    execFileSync(cmd, args, { cwd, stdio: 'pipe', maxBuffer: 64 * 1024 * 1024 });
  } catch (err) {
    process.stderr.write(`${err.stdout ?? ''}${err.stderr ?? ''}`);
    throw err;
  }
}

/**
 * The SEA blob of the bundled plugin, made by `hostNode` (the same Node version the SEAs embed).
 * @returns {Promise<string>} the blob's path
 */
export async function makeBlob(hostNode, work) {
  mkdirSync(work, { recursive: true });
  await buildPlugin({ outfile: join(work, MAIN), shebang: false });
  // Paths relative to `work`: the blob records the main script's path as given, and a
  // temporary directory's name would make every build's bytes differ.
  // As plugin/build-sea.mjs: no warning line for the kubelet's log, no code cache (measured no faster).
  const config = { main: MAIN, output: 'sea-prep.blob', disableExperimentalSEAWarning: true, useCodeCache: false, useSnapshot: false };
  writeFileSync(join(work, 'sea-config.json'), JSON.stringify(config));
  quietly(hostNode, ['--experimental-sea-config', 'sea-config.json'], work);
  return join(work, config.output);
}

/** Copies `nodeBin` to `outfile`, strips it and injects `blob`. */
export function injectSea({ arch, nodeBin, blob, outfile, strip = true }) {
  rmSync(outfile, { force: true });
  copyFileSync(nodeBin, outfile);
  chmodSync(outfile, 0o755);
  // npm's Node binaries carry a symbol table and some debug info: ~18 MB (amd64), ~20 MB (arm64).
  const tool = strip ? stripToolFor(arch) : undefined;
  if (tool) quietly(tool, [outfile]);
  const postject = createRequire(import.meta.url).resolve('postject/dist/cli.js');
  quietly(process.execPath, [postject, outfile, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', SEA_FUSE]);
  return { outfile, strip: tool };
}
