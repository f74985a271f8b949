// A reproducible tar writer for image layers: ustar entries sorted by path, every parent
// directory present, owner 0:0 with no user or group name, mtime 0, directories 0755, file
// modes kept (0755 or 0644). The same entries give the same bytes on any machine.
import { lstatSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';

const BLOCK = 512;

/**
 * @typedef {{ path: string, type: 'file', mode: number, data: Uint8Array }
 *   | { path: string, type: 'symlink', target: string }
 *   | { path: string, type: 'dir' }} Entry
 * `path` is relative to the image root, without a leading "/" or "./".
 */

/** Reads `paths` (relative) from a directory on disk as entries: files, symbolic links. */
export function entriesFrom(root, paths) {
  return paths.map((path) => {
    const full = join(root, path);
    const st = lstatSync(full);
    if (st.isSymbolicLink()) return { path, type: 'symlink', target: readlinkSync(full) };
    if (st.isFile()) return { path, type: 'file', mode: st.mode & 0o111 ? 0o755 : 0o644, data: readFileSync(full) };
    throw new Error(`${full} is neither a file nor a symbolic link`);
  });
}

function octal(buf, offset, length, value) {
  buf.write(`${value.toString(8).padStart(length - 1, '0')}\0`, offset, length, 'ascii');
}

/** Splits a path over ustar's name (100) and prefix (155) fields at a "/". */
function splitName(path) {
  if (Buffer.byteLength(path) <= 100) return { name: path, prefix: '' };
  for (let i = path.indexOf('/'); i !== -1; i = path.indexOf('/', i + 1)) {
    const prefix = path.slice(0, i);
    const name = path.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(name) <= 100) return { name, prefix };
  }
  throw new Error(`${path} is too long for a ustar header`);
}

function header(entry) {
  const h = Buffer.alloc(BLOCK);
  const path = entry.type === 'dir' ? `${entry.path}/` : entry.path;
  const { name, prefix } = splitName(path);
  h.write(name, 0, 100, 'utf8');
  octal(h, 100, 8, entry.type === 'file' ? entry.mode : entry.type === 'dir' ? 0o755 : 0o777);
  octal(h, 108, 8, 0); // uid
  octal(h, 116, 8, 0); // gid
  octal(h, 124, 12, entry.type === 'file' ? entry.data.length : 0);
  octal(h, 136, 12, 0); // mtime: zero, so a layer's bytes depend on its contents alone
  h.write('        ', 148, 8, 'ascii'); // checksum placeholder
  h.write(entry.type === 'file' ? '0' : entry.type === 'dir' ? '5' : '2', 156, 1, 'ascii');
  if (entry.type === 'symlink') {
    if (Buffer.byteLength(entry.target) > 100) throw new Error(`${entry.path}: link target too long`);
    h.write(entry.target, 157, 100, 'utf8');
  }
  h.write('ustar\0', 257, 6, 'ascii');
  h.write('00', 263, 2, 'ascii');
  octal(h, 329, 8, 0); // devmajor
  octal(h, 337, 8, 0); // devminor
  h.write(prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'ascii');
  return h;
}

/**
 * The tar of `entries`, with their parent directories added and everything sorted by path.
 * @param {Entry[]} entries
 */
export function tarOf(entries) {
  const byPath = new Map();
  for (const entry of entries) {
    const path = entry.path.replace(/^\.?\/+/, '').replace(/\/+$/, '');
    if (!path || path.split('/').some((part) => part === '..' || part === '.' || part === '')) throw new Error(`bad path in a layer: ${entry.path}`);
    if (byPath.has(path) && byPath.get(path).type !== 'dir') throw new Error(`${path} is in the layer twice`);
    byPath.set(path, { ...entry, path });
    for (let i = path.indexOf('/'); i !== -1; i = path.indexOf('/', i + 1)) {
      const dir = path.slice(0, i);
      if (!byPath.has(dir)) byPath.set(dir, { path: dir, type: 'dir' });
    }
  }
  const sorted = [...byPath.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const parts = [];
  for (const entry of sorted) {
    parts.push(header(entry));
    if (entry.type === 'file') {
      parts.push(Buffer.from(entry.data.buffer, entry.data.byteOffset, entry.data.length));
      const pad = (BLOCK - (entry.data.length % BLOCK)) % BLOCK;
      if (pad) parts.push(Buffer.alloc(pad));
    }
  }
  parts.push(Buffer.alloc(2 * BLOCK)); // end of archive
  return Buffer.concat(parts);
}
