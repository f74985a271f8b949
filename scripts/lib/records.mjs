// Trust records as files: one record per file (JSON or YAML), named by its `name` field or,
// without one, by the file name. Pure helpers for scripts/records.mjs: read a directory,
// validate with the edge's schema, and compare records field by field.
import { readdirSync, readFileSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { parse as parseYaml } from 'yaml';

const EXTENSIONS = new Set(['.json', '.yaml', '.yml']);

/**
 * Every record file in `dir`, parsed (not validated). A file that does not parse is an error
 * naming the file. @returns {{ file: string, name: string, body?: unknown, error?: string }[]}
 */
export function readRecordFiles(dir) {
  return readdirSync(dir)
    .filter((f) => EXTENSIONS.has(extname(f)))
    .sort()
    .map((f) => readRecordFile(join(dir, f)));
}

/** One record file, parsed (not validated): `{ file, name, body }` or `{ file, name, error }`. */
export function readRecordFile(file) {
  const ext = extname(file);
  const text = readFileSync(file, 'utf8');
  let body;
  try {
    body = ext === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    return { file, name: basename(file, ext), error: `not valid ${ext === '.json' ? 'JSON' : 'YAML'}: ${String(err.message).split('\n')[0]}` };
  }
  const named = body && typeof body === 'object' && typeof body.name === 'string' ? body.name : basename(file, ext);
  return { file, name: named, body };
}

/**
 * Validates each file's record with the schema. Returns the valid records by name and the
 * problems as `file: path: message` lines (also a duplicate name across files).
 */
export function validateRecords(files, { TrustRecordSchema, describeIssues }) {
  const problems = [];
  const records = new Map();
  for (const f of files) {
    if (f.error) {
      problems.push(`${f.file}: ${f.error}`);
      continue;
    }
    if (!f.body || typeof f.body !== 'object' || Array.isArray(f.body)) {
      problems.push(`${f.file}: (record): must be an object`);
      continue;
    }
    const parsed = TrustRecordSchema.safeParse({ name: f.name, ...f.body });
    if (!parsed.success) {
      for (const issue of describeIssues(parsed.error)) problems.push(`${f.file}: ${issue}`);
      continue;
    }
    if (records.has(parsed.data.name)) {
      problems.push(`${f.file}: name: "${parsed.data.name}" is also the name of ${records.get(parsed.data.name).file}`);
      continue;
    }
    records.set(parsed.data.name, { file: f.file, record: parsed.data });
  }
  return { records, problems };
}

const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Field-level differences between two JSON values, as `path: old → new` lines (sorted keys, arrays compared whole). */
export function diffFields(before, after, path = '') {
  if (isObject(before) && isObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    return keys.flatMap((k) => diffFields(before[k], after[k], path ? `${path}.${k}` : k));
  }
  if (Array.isArray(before) && Array.isArray(after) && before.length === after.length && before.every((_, i) => isObject(before[i]) && isObject(after[i]))) {
    return before.flatMap((_, i) => diffFields(before[i], after[i], `${path}.${i}`));
  }
  if (JSON.stringify(before) === JSON.stringify(after)) return [];
  const show = (v) => (v === undefined ? '(none)' : JSON.stringify(v));
  return [`${path || '(record)'}: ${show(before)} → ${show(after)}`];
}
