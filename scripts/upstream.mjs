#!/usr/bin/env node
// `npm run upstream -- trust <record-file> <rule-name> [--namespace NS] [--service-account SA]`:
// the vendor-side trust entry for a federated rule, ready to paste (an AWS role trust policy,
// gcloud commands for the pool, provider and IAM binding, az commands for the federated
// credential, Quay's federation entry, Cloudsmith's provider setting, Docker Hub's connection,
// Harbor's claim rules, the wrangler command for a static secret). Offline: the record file is
// validated and described by the edge's own code (src/, bundled on the fly), exactly as
// `POST /admin/v1/explain` would describe it; no edge is contacted.
//
// The edge's issuer (the workload token's iss) comes from --issuer or EDGE_ISSUER.
// Exit codes: 0 printed; 1 error (unreadable or invalid record, unknown rule, a rule without an
// upstream, a workload the rule does not cover).
import { parseArgs } from 'node:util';
import { fromInvocationDir } from './lib/dev-edge.mjs';
import { readRecordFile } from './lib/records.mjs';
import { loadUpstreamTools } from './lib/schema.mjs';
import { comment, renderSteps } from './lib/trust-commands.mjs';

const USAGE = `usage: npm run upstream -- trust <record-file> <rule-name> [options]

Prints what to create at the registry vendor so that it accepts the workload token the edge
sends for this rule's workloads (the same entry POST /admin/v1/explain shows).

  --namespace NS          the workload's namespace (default: the rule's only namespace;
                          not needed when the upstream's subject is "rule" or "record")
  --service-account SA    the workload's service account (default: the rule's only one;
                          not needed when the upstream's subject is "namespace", "rule" or "record")
  --issuer URL            the edge's issuer, EDGE_ISSUER (default: $EDGE_ISSUER)
  --document              print only the entry's document (JSON), e.g. to save trust-policy.json
  --json                  print the whole description as JSON`;

class Failure extends Error {}

/** The rule's single exact name from a list of globs, if it has one. */
const onlyExact = (patterns) => (patterns.length === 1 && !patterns[0].includes('*') ? patterns[0] : undefined);

function workloadFor(record, rule, values, compileNameGlob) {
  // A "rule" or "record" subject names no workload: one entry for all, whatever they are.
  const fanIn = rule.upstream.type !== 'static' && (rule.upstream.subject === 'rule' || rule.upstream.subject === 'record');
  const namespace = values.namespace ?? onlyExact(rule.namespaces) ?? (fanIn ? '*' : undefined);
  if (!namespace) throw new Failure(`rule ${rule.name} covers namespaces ${rule.namespaces.join(', ')}: say which with --namespace`);
  if (!(fanIn && namespace === '*') && !rule.namespaces.some((p) => compileNameGlob(p)(namespace)))
    throw new Failure(`rule ${rule.name} does not cover namespace ${namespace}`);
  const byNamespace = rule.upstream.type !== 'static' && rule.upstream.subject === 'namespace';
  const serviceAccount =
    values['service-account'] ?? onlyExact(rule.serviceAccounts) ?? (byNamespace || fanIn || rule.upstream.type === 'static' ? '*' : undefined);
  if (!serviceAccount) throw new Failure(`rule ${rule.name} covers service accounts ${rule.serviceAccounts.join(', ')}: say which with --service-account`);
  if (serviceAccount !== '*' && !rule.serviceAccounts.some((p) => compileNameGlob(p)(serviceAccount))) {
    throw new Failure(`rule ${rule.name} does not cover service account ${serviceAccount}`);
  }
  return {
    cluster: record.issuer,
    record: record.name,
    namespace,
    serviceAccount: { name: serviceAccount, uid: '' },
    expiresAt: 0,
  };
}

function render(description) {
  const { trust, workloadToken } = description;
  const lines = [comment(`${trust.vendor}: ${trust.where}`)];
  if (workloadToken)
    lines.push(comment(`the workload token: iss ${workloadToken.iss}, sub ${workloadToken.sub}, aud ${workloadToken.aud}, ${workloadToken.alg}`));
  if (trust.steps?.length) lines.push(...renderSteps(trust.steps));
  else if (trust.document !== undefined) lines.push(comment(`enter:\n${JSON.stringify(trust.document, null, 2)}`));
  for (const note of trust.notes ?? []) lines.push(comment(note));
  return `${lines.join('\n')}\n`;
}

// What the arguments may hold: Kubernetes names, or `*` globs over them as a rule writes them
// (a glob gives a wildcard entry where the vendor has one), and the edge's issuer as vendors need it.
const NAMESPACE = /^[a-z0-9*]([-a-z0-9*]{0,61}[a-z0-9*])?$/;
const SERVICE_ACCOUNT = /^[a-z0-9*][-a-z0-9.*]{0,252}$/;
const LOOPBACK = /^(localhost|\[::1\]|127\.\d{1,3}\.\d{1,3}\.\d{1,3})$/;

function checkArguments(values, issuer) {
  if (values.namespace !== undefined && !NAMESPACE.test(values.namespace))
    throw new Failure(`--namespace must be a Kubernetes namespace (a DNS-1123 label) or a "*" glob, not ${JSON.stringify(values.namespace)}`);
  const sa = values['service-account'];
  if (sa !== undefined && !SERVICE_ACCOUNT.test(sa))
    throw new Failure(`--service-account must be a service account name (a DNS-1123 subdomain) or a "*" glob, not ${JSON.stringify(sa)}`);
  const url = URL.parse(issuer);
  const origin = url && (url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK.test(url.hostname)));
  if (!origin || issuer !== url.origin.concat(issuer.endsWith('/') ? '/' : '') || !/^[\x21-\x7e]+$/.test(issuer))
    throw new Failure(`the edge's issuer must be its https origin (no path, query or credentials), not ${JSON.stringify(issuer)}`);
}

async function main(argv) {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      namespace: { type: 'string' },
      'service-account': { type: 'string' },
      issuer: { type: 'string' },
      document: { type: 'boolean' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, file, ruleName] = positionals;
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (!command) throw new Failure(`a command is needed\n${USAGE}`);
  if (command !== 'trust') throw new Failure(`unknown command ${command}\n${USAGE}`);
  if (!file || !ruleName) throw new Failure(`trust takes <record-file> <rule-name>\n${USAGE}`);
  const issuer = values.issuer ?? process.env.EDGE_ISSUER;
  if (!issuer) throw new Failure("the edge's issuer is needed: --issuer https://ecp.example.com, or EDGE_ISSUER");
  checkArguments(values, issuer);

  const { TrustRecordSchema, describeIssues, compileNameGlob, describeUpstream } = await loadUpstreamTools();
  let read;
  try {
    read = readRecordFile(fromInvocationDir(file)); // as typed, from where `npm run` was started
  } catch (err) {
    throw new Failure(`${file}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
  }
  if (read.error) throw new Failure(`${file}: ${read.error}`);
  if (!read.body || typeof read.body !== 'object' || Array.isArray(read.body)) throw new Failure(`${file}: must hold one trust record (an object)`);
  const parsed = TrustRecordSchema.safeParse({ name: read.name, ...read.body });
  if (!parsed.success) throw new Failure(`${file}: invalid record:\n  ${describeIssues(parsed.error).join('\n  ')}`);
  const record = parsed.data;
  const rule = record.rules.find((r) => r.name === ruleName);
  if (!rule) throw new Failure(`${record.name} has no rule ${ruleName} (rules: ${record.rules.map((r) => r.name).join(', ') || 'none'})`);
  if (!rule.upstream)
    throw new Failure(`rule ${ruleName} mints edge credentials (no upstream): the registry trusts the edge's certificate bundle, see docs/registry.md`);

  const workload = workloadFor(record, rule, values, compileNameGlob);
  const description = describeUpstream(rule.upstream, rule, workload, issuer, Math.floor(Date.now() / 1000));
  if (values.json) process.stdout.write(`${JSON.stringify(description, null, 2)}\n`);
  else if (values.document) {
    if (description.trust.document === undefined) throw new Failure(`a ${rule.upstream.type} upstream has no document; run without --document`);
    process.stdout.write(`${JSON.stringify(description.trust.document, null, 2)}\n`);
  } else process.stdout.write(render(description));
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`upstream: ${err instanceof Failure ? err.message : (err?.message ?? err)}\n`);
    process.exit(1);
  },
);
