/**
 * install.ts's `Files` on a real node (node:fs). Writes are atomic: a temporary file in the
 * same directory (so the rename cannot cross file systems, and named so the kubelet, which
 * reads only *.json, *.yaml and *.yml from a config directory, never picks it up), written,
 * given the old file's mode and owner, fsynced, renamed over the target, then the directory
 * fsynced so the rename survives a crash. Failures become one-line refusals.
 */
import {
  chmodSync,
  closeSync,
  constants,
  copyFileSync,
  fchmodSync,
  fchownSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  realpathSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { inputError } from './errors';
import type { FileInfo, Files } from './install';

/** rw-r--r--: a kubelet config holds no secret. */
const NEW_FILE_MODE = 0o644;
/** rwxr-xr-x: the kubelet executes the provider binary. */
const EXECUTABLE_MODE = 0o755;
/**
 * Compare an executable in 1 MiB pieces: the single executable is ~100 MB and the installer
 * pod's memory limit 128 MiB, so neither file is ever read whole.
 */
const COMPARE_CHUNK = 1024 * 1024;

function attempt<T>(what: string, path: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    throw inputError(`cannot ${what} ${path} (${typeof code === 'string' ? code : err instanceof Error ? err.message : 'failed'}); nothing was replaced`);
  }
}

const dirOf = (path: string) => path.slice(0, path.lastIndexOf('/')) || (path.startsWith('/') ? '/' : '.');
const tmpFor = (path: string) => `${dirOf(path)}/.${path.slice(path.lastIndexOf('/') + 1)}.${Math.random().toString(36).slice(2, 10)}.tmp`;

function fsyncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Some file systems refuse fsync on a directory; the rename itself is done.
  }
}

function writeAtomically(path: string, text: string, like: FileInfo | undefined): void {
  const dir = dirOf(path);
  const tmp = tmpFor(path);
  const mode = like ? like.mode & 0o7777 : NEW_FILE_MODE;
  attempt('write', path, () => {
    try {
      const fd = openSync(tmp, 'wx', mode);
      try {
        writeSync(fd, text);
        fchmodSync(fd, mode); // the umask may have narrowed openSync's mode
        if (like) {
          try {
            fchownSync(fd, like.uid, like.gid);
          } catch {
            // Without CAP_CHOWN only our own uid is possible; the mode is what matters.
          }
        }
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, path);
    } catch (err) {
      try {
        unlinkSync(tmp);
      } catch {
        // already renamed, or never created
      }
      throw err;
    }
  });
  fsyncDir(dir);
}

/** Whether two files hold the same bytes, read piece by piece. */
function sameBytes(a: string, b: string): boolean {
  if (statSync(a).size !== statSync(b).size) return false;
  const fa = openSync(a, 'r');
  try {
    const fb = openSync(b, 'r');
    try {
      const ba = new Uint8Array(COMPARE_CHUNK);
      const bb = new Uint8Array(COMPARE_CHUNK);
      for (;;) {
        const na = readSync(fa, ba, 0, COMPARE_CHUNK, null);
        const nb = readSync(fb, bb, 0, COMPARE_CHUNK, null);
        if (na !== nb) return false;
        if (na === 0) return true;
        for (let i = 0; i < na; i++) if (ba[i] !== bb[i]) return false;
      }
    } finally {
      closeSync(fb);
    }
  } finally {
    closeSync(fa);
  }
}

function installExecutable(from: string, to: string): boolean {
  const there = attempt('read', to, () => {
    try {
      return statSync(to).isFile();
    } catch (err) {
      if ((err as { code?: unknown }).code === 'ENOENT') return false;
      throw err;
    }
  });
  if (there && attempt('compare', to, () => sameBytes(from, to))) return false;
  const tmp = tmpFor(to);
  attempt('write', to, () => {
    try {
      copyFileSync(from, tmp, constants.COPYFILE_EXCL); // in the kernel where it can: no 100 MB buffer
      chmodSync(tmp, EXECUTABLE_MODE);
      const fd = openSync(tmp, 'r');
      try {
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, to); // the kubelet never execs a half-written file
    } catch (err) {
      try {
        unlinkSync(tmp);
      } catch {
        // never created
      }
      throw err;
    }
  });
  fsyncDir(dirOf(to));
  return true;
}

export const nodeFiles: Files = {
  stat(path) {
    try {
      const s = statSync(path);
      return { isFile: s.isFile(), isDirectory: s.isDirectory(), mode: s.mode, uid: s.uid, gid: s.gid };
    } catch (err) {
      if ((err as { code?: unknown }).code === 'ENOENT') return undefined;
      return attempt('read', path, () => {
        throw err;
      });
    }
  },
  realpath: (path) => attempt('resolve', path, () => realpathSync(path)),
  read: (path) => attempt('read', path, () => readFileSync(path, 'utf8')),
  list: (dir) =>
    attempt('list', dir, () =>
      readdirSync(dir, { withFileTypes: true })
        .filter((e) => !e.isDirectory())
        .map((e) => e.name),
    ),
  mkdirp: (dir) => {
    attempt('create', dir, () => mkdirSync(dir, { recursive: true }));
  },
  write: writeAtomically,
  remove: (path) => attempt('remove', path, () => unlinkSync(path)),
  installExecutable,
};
