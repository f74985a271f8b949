// Trust records as files: one record per file (JSON or YAML), named by its `name` field or,
// without one, by the file name. Pure helpers for scripts/records.mjs: read a directory,
// validate with the edge's schema, and compare records field by field.
import { readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
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

// ---- what the edge returns is checked before it names a file or reaches the terminal ----

/** A record name as the edge's schema has it (a DNS label): safe as a file name, a URL segment and on a terminal. */
const RECORD_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
export const isRecordName = (name) => typeof name === 'string' && RECORD_NAME.test(name);

/**
 * Text from the edge (or anything else not ours) made safe to print: control characters
 * (escape sequences, newlines that would forge lines) shown as \u escapes, and cut short.
 */
export function printable(value, max = 200) {
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  let safe = '';
  for (const c of text) safe += isUnsafeCharacter(c.codePointAt(0)) ? `\\u${c.codePointAt(0).toString(16).padStart(4, '0')}` : c;
  return safe.length > max ? `${safe.slice(0, max)}…` : safe;
}

/** C0 and C1 controls, DEL, line and paragraph separators, zero-width and bidirectional formatting characters. */
const isUnsafeCharacter = (cp) =>
  cp <= 0x1f ||
  (cp >= 0x7f && cp <= 0x9f) ||
  cp === 0x2028 ||
  cp === 0x2029 ||
  (cp >= 0x200b && cp <= 0x200f) ||
  (cp >= 0x202a && cp <= 0x202e) ||
  (cp >= 0x2066 && cp <= 0x2069);

const IPV4_LOOPBACK = /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;

/**
 * What is wrong with `raw` as the edge's URL, if anything: the admin token travels to it, so
 * https only, and plain http only to a loopback host (the rule of src/net.ts); no credentials,
 * query or fragment in it.
 */
export function edgeUrlProblem(raw) {
  const url = URL.parse(raw);
  if (!url) return 'EDGE_URL is not a URL';
  const loopback = url.hostname === 'localhost' || url.hostname === '[::1]' || IPV4_LOOPBACK.test(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback))
    return 'EDGE_URL must be https (plain http only to 127.0.0.1, ::1 or localhost): the admin token is sent to it';
  if (url.username || url.password || url.search || url.hash) return 'EDGE_URL must not hold credentials, a query or a fragment';
  return undefined;
}

/**
 * The file a live record is exported to: only for a name of the record grammar, and always
 * directly inside `dir` (a hostile edge answering `../../.ssh/x` must not write outside it).
 */
export function exportPath(dir, name, ext) {
  if (!isRecordName(name)) throw new Error(`the edge returned a record name that is not a DNS label: ${printable(name, 80)}`);
  const file = resolve(dir, `${name}.${ext}`);
  if (dirname(file) !== resolve(dir)) throw new Error(`${printable(name, 80)} is not a file name inside ${dir}`);
  return file;
}

/** The steps of a plan that write (not `extra`, a live record kept, nor `outside`, a file outside the caller's scope). */
export const changesOf = (steps) => steps.filter((s) => s.op === 'create' || s.op === 'update' || s.op === 'delete');

/**
 * The scopes a planned change needs on its record (src/policy/admin-scope.ts): `write`; `keys`
 * too for a create or a change of the issuer, keys or keySync (`changesTrustAnchor`, the edge's own).
 */
export function scopesNeeded(step, changesTrustAnchor) {
  if (step.op === 'delete') return ['write'];
  if (step.op === 'create') return ['write', 'keys'];
  if (step.op === 'update') return changesTrustAnchor(step.current, step.record) ? ['write', 'keys'] : ['write'];
  return [];
}

/** `"action" on name` for each scope the planned changes need that `allowed(action, name)` denies. */
export function missingScopes(steps, allowed, changesTrustAnchor) {
  return steps.flatMap((s) =>
    scopesNeeded(s, changesTrustAnchor)
      .filter((action) => !allowed(action, s.name))
      .map((action) => `"${action}" on ${s.name}`),
  );
}
