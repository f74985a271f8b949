/**
 * install.ts's `Files` over a map, for driving install/uninstall without a disk: every
 * write and removal is recorded, so a table can assert that a refusal wrote nothing.
 */
import type { FileInfo, Files } from '../../../../plugin/src/install';

export interface MemFiles extends Files {
  files: Map<string, { text: string; mode: number }>;
  dirs: Set<string>;
  writes: string[];
  removals: string[];
}

const parentOf = (path: string) => path.slice(0, path.lastIndexOf('/')) || '/';

export function memFiles(initial: Record<string, string> = {}, dirs: string[] = []): MemFiles {
  const files = new Map(Object.entries(initial).map(([p, text]) => [p, { text, mode: 0o644 }]));
  const dirSet = new Set(['/', ...dirs]);
  const info = (isFile: boolean, mode: number): FileInfo => ({ isFile, isDirectory: !isFile, mode, uid: 0, gid: 0 });
  const mem: MemFiles = {
    files,
    dirs: dirSet,
    writes: [],
    removals: [],
    stat: (path) => {
      const p = path.replace(/\/+$/, '') || '/';
      const file = files.get(p);
      if (file) return info(true, 0o100000 | file.mode);
      return dirSet.has(p) ? info(false, 0o40755) : undefined;
    },
    realpath: (path) => path,
    read: (path) => {
      const file = files.get(path);
      if (!file) throw new Error(`ENOENT ${path}`);
      return file.text;
    },
    list: (dir) => [...files.keys()].filter((p) => parentOf(p) === dir).map((p) => p.slice(dir.length + 1)),
    mkdirp: (dir) => {
      for (let d = dir; d !== '/' && d !== '.'; d = parentOf(d)) dirSet.add(d);
    },
    write: (path, text, like) => {
      if (!dirSet.has(parentOf(path))) throw new Error(`ENOENT ${parentOf(path)}`);
      mem.writes.push(path);
      files.set(path, { text, mode: like ? like.mode & 0o7777 : 0o644 });
    },
    remove: (path) => {
      mem.removals.push(path);
      files.delete(path);
    },
    installExecutable: (from, to) => {
      const source = files.get(from);
      if (!source) throw new Error(`ENOENT ${from}`);
      if (files.get(to)?.text === source.text) return false;
      mem.writes.push(to);
      files.set(to, { text: source.text, mode: 0o755 });
      return true;
    },
  };
  return mem;
}
