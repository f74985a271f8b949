#!/usr/bin/env node
// `npm run records -- <command>`: trust records as code. A directory holds one record per
// file (JSON or YAML); this validates it offline with the edge's own schema, compares it
// with a running edge, applies it (optimistic concurrency: If-Match on every write), exports
// the live records, and rolls a record back to an earlier version.
//
// The edge is EDGE_URL, the credentials ADMIN_TOKEN, else the one `npm start` wrote to
// .dev.vars, as `npm run demo` reads it (a read-only token is enough for diff and export).
// DIR is relative to where the command was typed. Exit codes fit CI: 0 ok (diff: apply would
// change nothing), 2 diff: apply would change something, 1 error (invalid files, a refused
// write, an unreachable edge, no or an unknown command).
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { stringify as toYaml } from 'yaml';
import { adminToken, DEV_VARS, fromInvocationDir, isLoopbackUrl } from './lib/dev-edge.mjs';
import { changesOf, diffFields, edgeUrlProblem, exportPath, isRecordName, missingScopes, printable, readRecordFiles, validateRecords } from './lib/records.mjs';
import { loadSchema } from './lib/schema.mjs';

const USAGE = `usage: npm run records -- <command> [options]

  validate DIR                          check every record file offline (no edge needed)
  diff     DIR [--prune]                what apply would change: exit 0 nothing, 2 something, 1 error
                                        (records not in DIR are listed; they count only with --prune)
  apply    DIR [--prune] [--dry-run]    make the edge match DIR (--prune deletes records not in DIR)
  export   DIR [--yaml]                 write the edge's records to DIR, one file each
  rollback NAME VERSION                 put back an earlier version of a record (see its history)

Records with inline keys that have gone unconfirmed too long are warned about (stderr). A record
with keySync keeps the keys its cluster pushed (PUT /v1/keys): its file's keys only create it.

With a scoped token (ADMIN_TOKEN_<NAME> on the edge), record files outside what it may read are
skipped (named on one line), --prune deletes only records it may write, and apply refuses before
writing anything if a change needs a scope it lacks ("write", or "keys" for a create or a new
issuer, keys or keySync). diff warns about the same on stderr.

A record file is JSON or YAML (.json, .yaml, .yml) holding one trust record; its name is its
"name" field, else the file name. DIR is relative to the directory the command was typed in.
The edge: EDGE_URL and ADMIN_TOKEN from the environment (ADMIN_TOKEN: else from .dev.vars).`;

class Failure extends Error {}

function edge() {
  const url = process.env.EDGE_URL?.replace(/\/+$/, '');
  // .dev.vars holds the local edge's token: it is never sent anywhere else.
  const token = adminToken(process.env, url && isLoopbackUrl(url) ? DEV_VARS : null);
  const missing = [
    !url && "EDGE_URL (the edge's URL, e.g. https://ecp.example.com; `npm start` serves http://127.0.0.1:8787)",
    !token && `ADMIN_TOKEN (an admin or read-only token${url && isLoopbackUrl(url) ? '; .dev.vars has none' : ''})`,
  ].filter(Boolean);
  if (missing.length) throw new Failure(`set ${missing.join(' and ')}`);
  const problem = edgeUrlProblem(url);
  if (problem) throw new Failure(problem);
  return async (method, path, { body, headers = {} } = {}) => {
    let res;
    try {
      res = await fetch(`${url}/admin/v1${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      throw new Failure(`${method} ${url}${path}: ${err.cause?.code ?? err.message}`);
    }
    const text = await res.text();
    let json;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: res.status, etag: res.headers.get('etag') ?? undefined, json };
  };
}

function refused(what, res) {
  // The edge's words are printed, never obeyed: no escape sequence or forged line reaches the terminal.
  const issues = Array.isArray(res.json?.issues)
    ? `\n    ${res.json.issues
        .slice(0, 20)
        .map((i) => printable(i))
        .join('\n    ')}`
    : '';
  const said = (v) => (v === undefined ? '' : printable(v));
  return new Failure(`${what}: ${res.status} ${said(res.json?.error)} ${said(res.json?.message)}${issues}`.trim());
}

async function localRecords(dir, schema) {
  const { records, problems } = validateRecords(readRecordFiles(dir), schema);
  if (problems.length) throw new Failure(`invalid record files:\n  ${problems.join('\n  ')}`);
  return records;
}

async function liveRecords(call) {
  const list = await call('GET', '/issuers');
  if (list.status !== 200) throw refused('list records', list);
  const items = list.json?.items;
  if (!Array.isArray(items)) throw new Failure('list records: the edge answered no list of names');
  // Names become URL paths, file names and terminal output: only the record grammar (DNS labels) is taken.
  const bad = items.filter((n) => !isRecordName(n));
  if (bad.length)
    throw new Failure(
      `the edge returned record names that are not DNS labels: ${bad
        .slice(0, 5)
        .map((n) => printable(n, 80))
        .join(', ')}`,
    );
  const live = new Map();
  for (const name of items) {
    const res = await call('GET', `/issuers/${name}`);
    if (res.status !== 200) throw refused(`GET ${name}`, res);
    live.set(name, { record: res.json, etag: res.etag });
  }
  return live;
}

/**
 * A record with keySync gets its inline keys from the cluster (PUT /v1/keys), not from the
 * directory: the keys the edge holds are kept, so that an apply never puts back a key set the
 * cluster has rotated away from (and never drops the key it now signs with).
 */
function withSyncedKeys(record, current) {
  if (!record.keySync || record.keys?.type !== 'inline' || current?.keys?.type !== 'inline') return record;
  return { ...record, keys: { ...record.keys, jwks: current.keys.jwks } };
}

/** Warnings the edge has about the live records' inline keys (unconfirmed too long), on stderr. */
async function warnStaleKeys(call, live) {
  const inline = [...live].filter(([, { record }]) => record?.keys?.type === 'inline');
  const answers = await Promise.all(inline.map(([name]) => call('GET', `/issuers/${name}/keys`)));
  for (const res of answers) {
    // An edge older than key sync answers 404: nothing to say.
    if (res.status === 200 && typeof res.json?.warning === 'string') process.stderr.write(`warning: ${printable(res.json.warning, 400)}\n`);
  }
}

/**
 * The caller's scope (GET /admin/v1/scope), compiled with the edge's own code: `allowed(action,
 * name)`. An edge older than scopes answers 404: every principal there is global, as before.
 */
async function callerScope(call, { compileScope, permits }) {
  const res = await call('GET', '/scope');
  if (res.status === 404) return { principal: undefined, writes: true, allowed: () => true };
  if (res.status !== 200) throw refused('read the scope', res);
  const { principal, records, actions } = res.json ?? {};
  if (typeof principal !== 'string' || !Array.isArray(records) || !Array.isArray(actions) || !records.every((r) => typeof r === 'string'))
    throw new Failure('read the scope: the edge answered no scope');
  const scope = compileScope({ records, actions });
  return { principal: printable(principal, 200), writes: actions.includes('write'), allowed: (action, name) => permits(scope, action, name) };
}

/**
 * What it would take to make the edge match the directory, for what `scope` may read: a file
 * outside it is `outside` (the edge shows none of those records, so there is nothing to compare),
 * and --prune deletes only records it may write.
 */
function plan(local, live, prune, scope) {
  const steps = [];
  for (const [name, { record: file }] of local) {
    if (!scope.allowed('read', name)) {
      steps.push({ op: 'outside', name, lines: [] });
      continue;
    }
    const current = live.get(name);
    const record = withSyncedKeys(file, current?.record);
    if (!current) steps.push({ op: 'create', name, record, lines: [] });
    else {
      const lines = diffFields(current.record, record);
      if (lines.length) steps.push({ op: 'update', name, record, current: current.record, etag: current.etag, lines });
    }
  }
  for (const [name, current] of live) {
    if (local.has(name)) continue;
    const deletable = prune && scope.allowed('write', name);
    const lines = prune && !deletable ? [`(kept: ${scope.principal} may not write it)`] : [];
    steps.push({ op: deletable ? 'delete' : 'extra', name, etag: current.etag, lines });
  }
  return steps;
}

function show(steps, scope) {
  const outside = steps.filter((s) => s.op === 'outside').map((s) => s.name);
  if (outside.length) process.stdout.write(`= skipped ${outside.length} outside the scope of ${scope.principal}: ${outside.join(', ')}\n`);
  for (const s of steps) {
    if (s.op === 'outside') continue;
    const label = { create: '+ create', update: '~ update', delete: '- delete', extra: '? not in the directory (kept; --prune deletes)' }[s.op];
    process.stdout.write(`${label} ${s.name}\n`);
    for (const line of s.lines) process.stdout.write(`    ${printable(line, 1000)}\n`);
  }
}

async function main(argv) {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { prune: { type: 'boolean' }, 'dry-run': { type: 'boolean' }, yaml: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
  const [command, ...rest] = positionals;
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (!command) throw new Failure(`a command is needed\n${USAGE}`);
  const dirArg = ({ create = false } = {}) => {
    if (!rest[0]) throw new Failure(`${command} needs a directory`);
    const dir = fromInvocationDir(rest[0]);
    if (!create && !existsSync(dir)) throw new Failure(`${rest[0]}: no such directory (${dir})`);
    return dir;
  };

  /** diff's and apply's plan: the directory against the edge, shown, with the changes it makes and the scopes they need that the caller lacks. */
  const planned = async () => {
    const call = edge();
    const tools = await loadSchema();
    const local = await localRecords(dirArg(), tools);
    const live = await liveRecords(call);
    const scope = await callerScope(call, tools);
    const steps = plan(local, live, values.prune ?? false, scope);
    show(steps, scope);
    const changes = changesOf(steps);
    return { call, live, scope, changes, missing: missingScopes(changes, scope.allowed, tools.changesTrustAnchor) };
  };

  switch (command) {
    case 'validate': {
      const records = await localRecords(dirArg(), await loadSchema());
      process.stdout.write(`${records.size} record${records.size === 1 ? '' : 's'} valid\n`);
      return 0;
    }
    case 'diff': {
      // The exit code says whether `apply` (with the same --prune) would write anything.
      const { call, live, scope, changes, missing } = await planned();
      if (changes.length === 0) process.stdout.write('no changes\n');
      // A read-only token (a pull request's diff) is not the one that applies: nothing to warn about.
      if (missing.length && scope.writes) process.stderr.write(`warning: apply would be refused: ${scope.principal} lacks ${missing.join(', ')}\n`);
      await warnStaleKeys(call, live);
      return changes.length ? 2 : 0;
    }
    case 'apply': {
      const { call, live, scope, changes, missing } = await planned();
      await warnStaleKeys(call, live);
      // All or nothing for scope: a change it may not make refuses the apply before any write.
      if (missing.length) throw new Failure(`${scope.principal} lacks ${missing.join(', ')}; nothing was written`);
      if (values['dry-run'] || changes.length === 0) {
        process.stdout.write(changes.length ? '(dry run: nothing written)\n' : 'no changes\n');
        return 0;
      }
      for (const s of changes) {
        // If-Match: a record someone changed since we read it is refused (412), never overwritten.
        const headers = s.op === 'create' ? { 'if-none-match': '*' } : { 'if-match': s.etag };
        const res =
          s.op === 'delete' ? await call('DELETE', `/issuers/${s.name}`, { headers }) : await call('PUT', `/issuers/${s.name}`, { body: s.record, headers });
        if (res.status >= 300) throw refused(`${s.op} ${s.name}`, res);
      }
      process.stdout.write(`applied ${changes.length} change(s)\n`);
      return 0;
    }
    case 'export': {
      const call = edge();
      const dir = dirArg({ create: true });
      mkdirSync(dir, { recursive: true });
      const live = await liveRecords(call);
      for (const [name, { record }] of live) {
        let file;
        try {
          file = exportPath(dir, name, values.yaml ? 'yaml' : 'json');
        } catch (err) {
          throw new Failure(err.message);
        }
        writeFileSync(file, values.yaml ? toYaml(record) : `${JSON.stringify(record, null, 2)}\n`);
      }
      process.stdout.write(`exported ${live.size} record(s) to ${dir}\n`);
      await warnStaleKeys(call, live);
      return 0;
    }
    case 'rollback': {
      const [name, version] = rest;
      if (!name || !version) throw new Failure('rollback takes NAME VERSION');
      if (!isRecordName(name)) throw new Failure(`${printable(name, 80)} is not a record name (a DNS label)`);
      const call = edge();
      const history = await call('GET', `/issuers/${name}/history`);
      if (history.status !== 200) throw refused(`history of ${name}`, history);
      const entry = history.json.items.find((h) => String(h.version) === version);
      if (!entry)
        throw new Failure(`${name} has no version ${printable(version, 20)} (known: ${printable(history.json.items.map((h) => h.version).join(', '))})`);
      const current = await call('GET', `/issuers/${name}`);
      const headers = current.status === 200 ? { 'if-match': current.etag } : { 'if-none-match': '*' };
      const res = await call('PUT', `/issuers/${name}`, { body: entry.record, headers });
      if (res.status >= 300) throw refused(`rollback ${name}`, res);
      process.stdout.write(`${name} is back at version ${version}'s content\n`);
      return 0;
    }
    default:
      throw new Failure(`unknown command ${command}\n${USAGE}`);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`records: ${err instanceof Failure ? err.message : (err?.message ?? err)}\n`);
    process.exit(1);
  },
);
