/**
 * `npm run upstream -- trust`, run as a process: offline, from a record file, it prints the
 * vendor-side trust entry the edge's own explain computes (src/upstream/federate.ts, bundled
 * here the same way for comparison: src/ is Worker TypeScript, outside this Node project), and
 * refuses what it cannot describe with exit code 1.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadUpstreamTools } from '../../../scripts/lib/schema.mjs';
import { renderSteps } from '../../../scripts/lib/trust-commands.mjs';

const SCRIPT = fileURLToPath(new URL('../../../scripts/upstream.mjs', import.meta.url));
const ISSUER = 'https://ecp.example.com';
const dir = mkdtempSync(join(tmpdir(), 'ecp-upstream-cli-'));

interface Described {
  workloadToken?: unknown;
  trust: { steps?: { op: string }[]; document?: unknown };
}
let tools: {
  TrustRecordSchema: { parse(v: unknown): { name: string; issuer: string; rules: Array<{ name: string; upstream?: unknown }> } };
  describeUpstream(u: unknown, rule: unknown, workload: unknown, issuer: string, now: number): Described;
};

beforeAll(async () => {
  tools = (await loadUpstreamTools()) as typeof tools;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const record = {
  name: 'prod-eu1',
  issuer: 'https://k8s.prod-eu1.example.com',
  audiences: ['edge-credential-provider'],
  keys: { type: 'discovery' },
  rules: [
    {
      name: 'ecr',
      namespaces: ['team-a'],
      serviceAccounts: ['builder'],
      registry: '123456789012.dkr.ecr.eu-west-1.amazonaws.com',
      repositories: ['team-a/*'],
      upstream: { type: 'ecr', roleArn: 'arn:aws:iam::123456789012:role/ecp-team-a', region: 'eu-west-1' },
    },
    {
      name: 'gar',
      namespaces: ['team-*'],
      registry: 'europe-west1-docker.pkg.dev',
      repositories: ['acme-prod/images/**'],
      upstream: { type: 'gar', workloadIdentityProvider: 'projects/123456789/locations/global/workloadIdentityPools/edge-pool/providers/edge-oidc' },
    },
    {
      name: 'quay',
      namespaces: ['team-a'],
      registry: 'quay.io',
      repositories: ['acme/**'],
      upstream: { type: 'quay', robot: 'acme+puller', subject: 'namespace' },
    },
    {
      name: 'ghcr',
      namespaces: ['team-a'],
      registry: 'ghcr.io',
      repositories: ['acme/**'],
      upstream: { type: 'static', username: 'acme-bot', secret: 'UPSTREAM_SECRET_GHCR_PULL' },
    },
    { name: 'own', namespaces: ['team-a'], registry: 'registry.example.com', repositories: ['**'] },
  ],
};

function file(name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(path, body);
  return path;
}
const jsonRecord = file('prod-eu1.json', JSON.stringify(record));
const yamlRecord = file(
  'prod-eu1.yaml',
  `name: prod-eu1
issuer: https://k8s.prod-eu1.example.com
audiences: [edge-credential-provider]
keys: { type: discovery }
rules:
  - name: acr
    namespaces: [team-a]
    registry: acmeprod.azurecr.io
    repositories: ["**"]
    upstream: { type: acr, tenantId: 72f988bf-86f1-41af-91ab-2d7cd011db47, clientId: 0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0 }
`,
);

function run(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [SCRIPT, ...args], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '', ...env }, timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** What explain computes for this rule and workload, from the source itself. */
function explained(ruleName: string, namespace: string, serviceAccount: string): Described {
  const parsed = tools.TrustRecordSchema.parse(record);
  const rule = parsed.rules.find((r) => r.name === ruleName)!;
  const workload = { cluster: parsed.issuer, record: parsed.name, namespace, serviceAccount: { name: serviceAccount, uid: '' }, expiresAt: 0 };
  return tools.describeUpstream(rule.upstream, rule, workload, ISSUER, Math.floor(Date.now() / 1000));
}

describe('npm run upstream -- trust', () => {
  it("prints the AWS commands with the trust policy for the rule's only workload", () => {
    const { code, stdout, stderr } = run(['trust', jsonRecord, 'ecr', '--issuer', ISSUER]);
    expect(code, stderr).toBe(0);
    const expected = explained('ecr', 'team-a', 'builder');
    for (const command of renderSteps(expected.trust.steps)) expect(stdout).toContain(`${command}\n`);
    expect(stdout).toContain("aws iam update-assume-role-policy --role-name 'ecp-team-a' --policy-document '{");
    expect(stdout).toContain('# the workload token: iss https://ecp.example.com, sub prod-eu1:team-a:builder, aud sts.amazonaws.com, RS256');
  });

  it("prints the document alone with --document, equal to explain's", () => {
    const { code, stdout } = run(['trust', jsonRecord, 'ecr', '--document'], { EDGE_ISSUER: ISSUER });
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual(explained('ecr', 'team-a', 'builder').trust.document);
  });

  it('needs --namespace when the rule covers several, and uses it', () => {
    const without = run(['trust', jsonRecord, 'gar', '--issuer', ISSUER, '--service-account', 'builder']);
    expect(without.code).toBe(1);
    expect(without.stderr).toContain('--namespace');
    const { code, stdout } = run(['trust', jsonRecord, 'gar', '--issuer', ISSUER, '--namespace', 'team-b', '--service-account', 'builder', '--json']);
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual(explained('gar', 'team-b', 'builder'));
  });

  it('needs no service account for a namespace-wide subject', () => {
    const { code, stdout } = run(['trust', jsonRecord, 'quay', '--issuer', ISSUER]);
    expect(code).toBe(0);
    expect(stdout).toContain(JSON.stringify([{ issuer: ISSUER, subject: 'prod-eu1:team-a' }]));
  });

  it('binds a whole namespace for service account "*" (principalSet, not a subject ending in *), and refuses a pattern Google cannot match', () => {
    const { code, stdout, stderr } = run(['trust', jsonRecord, 'gar', '--issuer', ISSUER, '--namespace', 'team-a', '--service-account', '*']);
    expect(code, stderr).toBe(0);
    expect(stdout).toContain(
      "--member='principalSet://iam.googleapis.com/projects/123456789/locations/global/workloadIdentityPools/edge-pool/attribute.record_namespace/prod-eu1:team-a'\n",
    );
    expect(stdout).not.toContain('/subject/');
    const pattern = run(['trust', jsonRecord, 'gar', '--issuer', ISSUER, '--namespace', 'team-a', '--service-account', 'build-*']);
    expect(pattern.code).toBe(1);
    expect(pattern.stderr).toContain('"subject": "namespace"');
  });

  it('reads a relative record path from the directory npm run was started in (INIT_CWD)', () => {
    const { code, stderr } = run(['trust', 'prod-eu1.json', 'ecr', '--issuer', ISSUER], { INIT_CWD: dir });
    expect(code, stderr).toBe(0);
  });

  it('reads a YAML record', () => {
    const { code, stdout } = run(['trust', yamlRecord, 'acr', '--issuer', ISSUER, '--service-account', 'builder']);
    expect(code).toBe(0);
    expect(stdout).toContain("az ad app federated-credential create --id '0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0'");
    expect(stdout).toContain('"subject":"prod-eu1:team-a:builder"');
  });

  it('prints the wrangler command for a static secret, needing no workload', () => {
    const { code, stdout } = run(['trust', jsonRecord, 'ghcr', '--issuer', ISSUER]);
    expect(code).toBe(0);
    expect(stdout).toContain("npx wrangler secret put 'UPSTREAM_SECRET_GHCR_PULL'\n");
  });

  it.each<[string, string[], Record<string, string>, string]>([
    ["without the edge's issuer", ['trust', jsonRecord, 'ecr'], {}, 'EDGE_ISSUER'],
    ['for a rule the record does not have', ['trust', jsonRecord, 'nope', '--issuer', ISSUER], {}, 'has no rule nope'],
    ['for a rule without an upstream', ['trust', jsonRecord, 'own', '--issuer', ISSUER], {}, 'no upstream'],
    [
      'for a namespace the rule does not cover',
      ['trust', jsonRecord, 'ecr', '--issuer', ISSUER, '--namespace', 'team-b'],
      {},
      'does not cover namespace team-b',
    ],
    [
      'for a service account the rule does not cover',
      ['trust', jsonRecord, 'ecr', '--issuer', ISSUER, '--service-account', 'x'],
      {},
      'does not cover service account x',
    ],
    ['for a file that is not there', ['trust', join(dir, 'missing.json'), 'ecr', '--issuer', ISSUER], {}, 'no such file'],
    [
      'for an invalid record, naming the field',
      ['trust', file('bad.json', JSON.stringify({ ...record, rules: [{ ...record.rules[0], registry: 'elsewhere.example.com' }] })), 'ecr', '--issuer', ISSUER],
      {},
      'rules.0.registry',
    ],
    ['for an unknown command', ['explain', jsonRecord, 'ecr'], {}, 'unknown command'],
    [
      'for an issuer that is not an https origin',
      ['trust', jsonRecord, 'ecr', '--issuer', 'https://ecp.example.com/$(id)'],
      {},
      'issuer must be its https origin',
    ],
    ['for an issuer with a newline', ['trust', jsonRecord, 'ecr', '--issuer', 'https://ecp.example.com\ntouch /tmp/x'], {}, 'issuer must be its https origin'],
    [
      'for a namespace outside the Kubernetes grammar',
      ['trust', jsonRecord, 'gar', '--issuer', ISSUER, '--namespace', "team-a'$(id)"],
      {},
      '--namespace must be',
    ],
    [
      'for a service account outside the Kubernetes grammar',
      ['trust', jsonRecord, 'gar', '--issuer', ISSUER, '--namespace', 'team-a', '--service-account', 'x\ny'],
      {},
      '--service-account must be',
    ],
    ['without a command, with the usage', [], {}, 'usage: npm run upstream'],
  ])('exits 1 %s', (_what, args, env, message) => {
    const { code, stdout, stderr } = run(args, env);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toContain(message);
  });
});

describe('npm run upstream -- trust, fan-in subjects ("rule", "record")', () => {
  const fanIn = file(
    'fan-in.json',
    JSON.stringify({
      ...record,
      rules: [
        {
          ...record.rules[0],
          name: 'ecr-all',
          namespaces: ['team-*', 'ops'],
          serviceAccounts: ['*'],
          upstream: { ...record.rules[0]!.upstream, subject: 'rule' },
        },
        { ...record.rules[1], name: 'gar-all', namespaces: ['*'], upstream: { ...record.rules[1]!.upstream, subject: 'rule' } },
        {
          name: 'acr-all',
          namespaces: ['team-a', 'team-b'],
          registry: 'acmeprod.azurecr.io',
          repositories: ['**'],
          upstream: { type: 'acr', tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47', clientId: '0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0', subject: 'record' },
        },
      ],
    }),
  );

  it.each([
    ['no workload', []],
    ['a namespace and service account', ['--namespace', 'team-b', '--service-account', 'deployer']],
    ['wildcards', ['--namespace', 'team-*', '--service-account', 'build-*']],
  ])('prints the one AWS trust policy of a "rule" subject, exact (StringEquals), for %s', (_t, args) => {
    const { code, stdout, stderr } = run(['trust', fanIn, 'ecr-all', '--issuer', ISSUER, '--document', ...args]);
    expect(code, stderr).toBe(0);
    expect(JSON.parse(stdout).Statement[0].Condition).toEqual({
      StringEquals: { 'ecp.example.com:aud': 'sts.amazonaws.com', 'ecp.example.com:sub': 'prod-eu1:rule=ecr-all' },
    });
  });

  it("binds the rule's one principal at Google, even for a wildcard service account (no principalSet)", () => {
    const { code, stdout, stderr } = run(['trust', fanIn, 'gar-all', '--issuer', ISSUER, '--service-account', '*']);
    expect(code, stderr).toBe(0);
    expect(stdout).toContain(
      "--member='principal://iam.googleapis.com/projects/123456789/locations/global/workloadIdentityPools/edge-pool/subject/prod-eu1:rule=gar-all'\n",
    );
    expect(stdout).not.toContain('principalSet');
    expect(stdout).toContain('# One entry for every workload of rule gar-all');
  });

  it('prints one Entra federated credential for a "record" subject (Entra takes 20 per application)', () => {
    const { code, stdout, stderr } = run(['trust', fanIn, 'acr-all', '--issuer', ISSUER]);
    expect(code, stderr).toBe(0);
    expect(stdout).toContain('"subject":"prod-eu1"');
    expect(stdout).toContain('# One entry for every workload of record prod-eu1');
  });

  it('still refuses a namespace the rule does not cover', () => {
    const { code, stderr } = run(['trust', fanIn, 'acr-all', '--issuer', ISSUER, '--namespace', 'ops']);
    expect(code).toBe(1);
    expect(stderr).toContain('does not cover namespace ops');
  });
});
