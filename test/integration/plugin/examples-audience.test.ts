/**
 * Every example and doc snippet that names the audience of the kubelet's service-account
 * token names the same one. The audience appears in the trust record (`audiences`), the
 * kubelet config (`serviceAccountTokenAudience`), generate-config / install commands
 * (`--audience`), the node RBAC (`resources`), the admission policy (its `audience`
 * variable) and token examples; copied together, two different ones fail every pull with
 * 401 ERR_AUDIENCE_MISMATCH, or guard the wrong audience.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const AUDIENCE = 'edge-credential-provider';
/**
 * The key-sync audience (docs/trust-records.md, "Key sync"): another one on purpose, since a
 * record refuses a keySync audience that is one of its pull audiences. The same everywhere too.
 */
const KEY_SYNC_AUDIENCE = 'edge-key-sync';

interface Mention {
  where: string;
  audience: string;
}

/** Audiences named in command lines and prose: `--audience X`, `serviceAccountToken.audience: X`, `serviceAccountTokenAudience: X`. */
const TEXT_PATTERNS = [/--audience[= ]+'?"?([^\s'"\\`]+)/g, /serviceAccountToken\.audience: *"?([^\s"`),]+)/g, /serviceAccountTokenAudience: *"?([^\s"`,]+)/g];

function fromText(text: string, where: string, out: Mention[]): void {
  for (const pattern of TEXT_PATTERNS) for (const m of text.matchAll(pattern)) out.push({ where, audience: m[1] ?? '' });
}

function fromValue(value: unknown, where: string, out: Mention[]): void {
  if (typeof value === 'string') {
    fromText(value, where, out);
    return;
  }
  if (Array.isArray(value)) {
    for (const v of value) fromValue(v, where, out);
    return;
  }
  if (typeof value !== 'object' || value === null) return;
  const obj = value as Record<string, any>;
  const add = (audience: unknown) => out.push({ where, audience: String(audience) });
  if (typeof obj.serviceAccountTokenAudience === 'string') add(obj.serviceAccountTokenAudience);
  // A trust record (issuer, audiences, rules); an upstream's federated credential has no rules.
  if (typeof obj.issuer === 'string' && Array.isArray(obj.audiences) && Array.isArray(obj.rules)) obj.audiences.forEach(add);
  if (typeof obj.serviceAccountToken?.audience === 'string') add(obj.serviceAccountToken.audience);
  if (obj.kind === 'ClusterRole' || obj.kind === 'Role') {
    for (const rule of obj.rules ?? []) if (rule.verbs?.includes('request-serviceaccounts-token-audience')) rule.resources.forEach(add);
  }
  if (obj.kind === 'ValidatingAdmissionPolicy') {
    for (const v of obj.spec?.variables ?? []) if (v.name === 'audience') add(/^'(.*)'$/.exec(v.expression)?.[1] ?? v.expression);
  }
  for (const [key, v] of Object.entries(obj)) {
    if (key !== 'serviceAccountTokenAudience' && key !== 'audiences') fromValue(v, where, out);
  }
}

function fromYaml(text: string, where: string, out: Mention[]): boolean {
  const docs = parseAllDocuments(text);
  if (!Array.isArray(docs) || docs.some((d) => d.errors.length > 0)) return false;
  for (const doc of docs) fromValue(doc.toJS(), where, out);
  return true;
}

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : [path];
  });
}

function mentions(): Mention[] {
  const out: Mention[] = [];
  for (const path of files(join(ROOT, 'examples'))) {
    const where = relative(ROOT, path);
    const text = readFileSync(path, 'utf8');
    if (/\.(json|ya?ml)$/.test(path)) {
      if (!fromYaml(text, where, out)) throw new Error(`${where} does not parse`);
    } else {
      fromText(text, where, out); // the Dockerfile and anything else: commands only
    }
  }
  for (const path of [join(ROOT, 'README.md'), ...files(join(ROOT, 'docs')).filter((p) => p.endsWith('.md'))]) {
    const where = relative(ROOT, path);
    const text = readFileSync(path, 'utf8');
    const blocks = [...text.matchAll(/^```(\w*)\n([\s\S]*?)^```/gm)];
    let prose = text;
    for (const [block, lang, body = ''] of blocks) {
      // JSON and YAML snippets are read as data; one that does not parse (an excerpt) as text.
      if (['json', 'yaml', 'yml'].includes(lang ?? '') && fromYaml(body, `${where} (${lang} snippet)`, out)) prose = prose.replace(block, '');
    }
    fromText(prose, where, out);
  }
  return out;
}

describe('the audience in examples and docs', () => {
  const found = mentions();

  it(`is ${AUDIENCE} everywhere`, () => {
    expect(found.filter((m) => m.audience !== AUDIENCE && m.audience !== KEY_SYNC_AUDIENCE)).toEqual([]);
  });

  it(`is ${KEY_SYNC_AUDIENCE} for key sync, and only there`, () => {
    const keySync = found.filter((m) => m.audience === KEY_SYNC_AUDIENCE).map((m) => m.where.replace(/ \(.*\)$/, ''));
    expect([...new Set(keySync)].sort()).toEqual(['docs/trust-records.md', 'examples/key-sync/README.md', 'examples/key-sync/cronjob.yaml']);
  });

  it('is found in every place that must name it (so the check above is not vacuous)', () => {
    const sources = new Set(found.map((m) => m.where.replace(/ \(.*\)$/, '')));
    for (const path of [
      'README.md',
      'docs/plugin.md',
      'docs/security.md',
      'docs/trust-records.md',
      'examples/trust-record.json',
      'examples/records/prod-eu1.yaml',
      'examples/records/staging.json',
      'examples/kubelet/credential-provider-config.yaml',
      'examples/kubelet/daemonset.yaml',
      'examples/kubelet/admission-policy.yaml',
      'examples/kubelet/node-rbac.yaml',
    ]) {
      expect(sources, path).toContain(path);
    }
  });
});
