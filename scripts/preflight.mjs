#!/usr/bin/env node
// `npm run preflight` (and `npm run deploy`, which runs it before `wrangler deploy`): refuses
// a wrangler.toml that would deploy a broken edge: the placeholder KV namespace id, or an
// EDGE_ISSUER that vendors and registries cannot reach (missing, not https, loopback). Each
// refusal says what to set. Offline; reads only the config file.
//   --config FILE   the Wrangler config (default wrangler.toml beside package.json)
// Exit codes: 0 ready to deploy, 1 something to set first, 2 a bad argument.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';

const PLACEHOLDER_KV_ID = /^0+$/;

/**
 * The top-level tables of a wrangler.toml, flat: `{ table, key, value }` for each `key = "string"`
 * line. Enough for the two settings checked here; anything fancier is wrangler's to read.
 */
export function tomlStrings(text) {
  const out = [];
  let table = '';
  for (const raw of text.split('\n')) {
    const line = raw.replace(/^\s+/, '');
    const header = /^(\[\[?)\s*([^\]\s]+)\s*\]\]?/.exec(line);
    if (header) table = header[2];
    const kv = /^([A-Za-z0-9_-]+)\s*=\s*"([^"]*)"/.exec(line);
    if (kv) out.push({ table, key: kv[1], value: kv[2] });
  }
  return out;
}

const isLoopbackHost = (host) => host === 'localhost' || host === '[::1]' || host === '0.0.0.0' || /^127(\.\d{1,3}){3}$/.test(host);

/** What must be set before `wrangler deploy`, one sentence each; empty when ready. */
export function preflightProblems(text) {
  const strings = tomlStrings(text);
  const problems = [];
  for (const { value } of strings.filter((s) => s.table === 'kv_namespaces' && s.key === 'id')) {
    if (PLACEHOLDER_KV_ID.test(value))
      problems.push('[[kv_namespaces]] id is the placeholder: run `npx wrangler kv namespace create TRUST` and put the id it prints in wrangler.toml');
  }
  const issuer = strings.find((s) => s.table === 'vars' && s.key === 'EDGE_ISSUER')?.value;
  const set = "set [vars] EDGE_ISSUER in wrangler.toml to the edge's public https URL, e.g. https://ecp.example.com";
  if (!issuer) problems.push(`EDGE_ISSUER is not set: ${set}`);
  else {
    let url;
    try {
      url = new URL(issuer);
    } catch {
      url = undefined;
    }
    if (!url) problems.push(`EDGE_ISSUER ${issuer} is not a URL: ${set}`);
    else if (isLoopbackHost(url.hostname)) problems.push(`EDGE_ISSUER ${issuer} is this machine (npm start's): ${set}`);
    else if (url.protocol !== 'https:') problems.push(`EDGE_ISSUER ${issuer} is not https: ${set}`);
  }
  return problems;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  let values;
  try {
    ({ values } = parseArgs({ options: { config: { type: 'string' } } }));
  } catch (err) {
    console.error(`preflight: ${err.message}\nusage: npm run preflight [-- --config FILE]`);
    process.exit(2);
  }
  const file = values.config ?? fileURLToPath(new URL('../wrangler.toml', import.meta.url));
  let text;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    console.error(`preflight: cannot read ${file} (${err.code ?? err.message})`);
    process.exit(1);
  }
  const problems = preflightProblems(text);
  if (problems.length) {
    console.error(`preflight: ${file} is not ready to deploy:\n  ${problems.join('\n  ')}`);
    process.exit(1);
  }
  console.log(`preflight: ${file} is ready to deploy`);
}
