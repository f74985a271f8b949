/**
 * The shape of src/, checked: folders import each other in one direction only (no cycles), and
 * no module grows past a few hundred lines (STYLE.md). Reads the sources; runs in Node.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../../src', import.meta.url));
/** STYLE.md: "No file over a few hundred lines." */
const MAX_LINES = 400;

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/** The folder of a module under src/, or undefined for a top-level module (errors.ts, config.ts, ...). */
const folderOf = (path: string) => {
  const parts = relative(SRC, path).split('/');
  return parts.length > 1 ? parts[0] : undefined;
};

function folderGraph(): Map<string, Map<string, string>> {
  const graph = new Map<string, Map<string, string>>();
  for (const file of files(SRC)) {
    const from = folderOf(file);
    if (!from) continue;
    for (const m of readFileSync(file, 'utf8').matchAll(/from '(\.[^']+)'/g)) {
      const to = folderOf(normalize(join(dirname(file), m[1]!)));
      if (!to || to === from) continue;
      const edges = graph.get(from) ?? new Map<string, string>();
      edges.set(to, `${relative(SRC, file)} imports ${m[1]}`);
      graph.set(from, edges);
    }
  }
  return graph;
}

describe('src layout', () => {
  it('has no import cycle between folders', () => {
    const graph = folderGraph();
    const cycles: string[] = [];
    const visit = (node: string, path: string[]) => {
      for (const [next, why] of graph.get(node) ?? []) {
        const at = path.indexOf(next);
        if (at !== -1) cycles.push([...path.slice(at), next].join(' -> ') + ` (${why})`);
        else visit(next, [...path, next]);
      }
    };
    for (const node of graph.keys()) visit(node, [node]);
    expect(cycles).toEqual([]);
  });

  // `import { z } from 'zod'` (or 'zod/mini') pulls the whole library into the bundle: ~430 KB.
  it('imports zod only through src/zod.ts (the tree-shakable namespace import)', () => {
    const offenders = files(SRC)
      .filter((f) => relative(SRC, f) !== 'zod.ts' && /from 'zod(\/[^']*)?'/.test(readFileSync(f, 'utf8')))
      .map((f) => relative(SRC, f));
    expect(offenders).toEqual([]);
  });

  it(`keeps every module under ${MAX_LINES} lines`, () => {
    const long = files(SRC)
      .filter((f) => readFileSync(f, 'utf8').split('\n').length > MAX_LINES)
      .map((f) => relative(SRC, f));
    expect(long).toEqual([]);
  });
});
