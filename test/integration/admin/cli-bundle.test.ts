/**
 * The bundled CLI (`npm run build:cli`, dist/cli/ecp.mjs) as a CI job or the chart's CronJob
 * runs it: the one file copied alone into an empty directory (no node_modules, no checkout
 * around it), run with Node 18 (the floor) and with the pinned Node, against the real local
 * edge. Records validated, applied, diffed and exported; the vendor trust entry printed as
 * scripts/upstream.mjs prints it; keys pushed with keys-sync. The build itself: the same
 * bytes twice, no path of the checkout in them, nothing imported but Node's built-ins.
 */
import { createHash } from 'node:crypto';
import { builtinModules } from 'node:module';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exportJWK, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { buildCli } from '../../../scripts/build-cli.mjs';
import { startEdge } from '../../support/edge.mjs';
import { edgeAdmin, makeCluster, trustRecord, type TestCluster } from '../../support/kit.mjs';
import { run } from '../../e2e/support/processes.mjs';
import { findNode18, node18Skipped } from '../plugin/support/older-node';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const NODE = join(ROOT, 'node_modules', 'node', 'bin', 'node');
const ISSUER = 'https://ecp.example.com';
const AUDIENCE = 'edge-key-sync';
/** Each test runs the CLI a few times (0.1 to 1 s each here); a loaded CI machine gets room. */
const PROCESS_TIMEOUT_MS = 60_000;
const keySync = { audience: AUDIENCE, serviceAccount: { namespace: 'kube-system', name: 'edge-key-sync' } };

let edge: Awaited<ReturnType<typeof startEdge>>;
let built: string[];
let imports: string[];
/** The empty directory the CLI is copied to, and where every command runs. */
let alone: string;
let data: string;

beforeAll(async () => {
  built = [];
  for (const n of [1, 2]) {
    const r = await buildCli({ outfile: join(mkdtempSync(join(tmpdir(), `ecp-cli-build${n}-`)), 'ecp.mjs') });
    built.push(r.outfile);
    imports = r.imports;
  }
  alone = mkdtempSync(join(tmpdir(), 'ecp-cli-alone-'));
  copyFileSync(built[0] as string, join(alone, 'ecp.mjs'));
  data = mkdtempSync(join(tmpdir(), 'ecp-cli-data-'));
  edge = await startEdge();
}, 120_000);
afterAll(async () => {
  await edge?.stop();
  for (const d of [...(built ?? []).map((f) => join(f, '..')), alone, data]) if (d) rmSync(d, { recursive: true, force: true });
});

describe('npm run build:cli', () => {
  it('builds the same bytes twice into one executable file with no path of the checkout in it', () => {
    const [a, b] = built.map((f) => readFileSync(f));
    expect(a?.equals(b as Buffer)).toBe(true);
    const text = (a as Buffer).toString('utf8');
    expect(text.startsWith('#!/usr/bin/env node\n')).toBe(true);
    expect(text).not.toContain(ROOT.replace(/\/$/, ''));
    expect(statSync(built[0] as string).mode & 0o111).toBe(0o111);
  });

  it('imports nothing at run time but Node built-ins (esbuild, zod, yaml and src/ are inside or left out)', () => {
    expect(imports).toContain('node:fs');
    const builtins = new Set(builtinModules);
    expect(imports.filter((s) => !builtins.has(s.replace(/^node:/, '')))).toEqual([]);
    const text = readFileSync(built[0] as string, 'utf8');
    expect(text).not.toContain('esbuild');
  });
});

const nodes: [string, () => string, boolean][] = [
  ['Node 18', () => findNode18().path, node18Skipped()],
  ['the pinned Node', () => NODE, false],
];

describe.each(nodes)('the bundled CLI alone in an empty directory, on %s', { timeout: PROCESS_TIMEOUT_MS }, (label, node, skipped) => {
  const tag = label === 'Node 18' ? 'n18' : 'pinned';
  let cluster: TestCluster;
  const ecp = (args: string[], env: Record<string, string | undefined> = {}) =>
    run(node(), [join(alone, 'ecp.mjs'), ...args], { cwd: alone, env: { PATH: process.env.PATH, EDGE_URL: edge.url, ADMIN_TOKEN: edge.adminToken, ...env } });

  beforeAll(async () => {
    if (skipped) return;
    cluster = await makeCluster();
    expect(readdirSync(alone)).toEqual(['ecp.mjs']);
    expect(existsSync(join(alone, '..', 'node_modules'))).toBe(false);
  });

  it.skipIf(skipped)('runs on that Node', async () => {
    const out = await run(node(), ['--version']);
    expect(out.stdout.trim()).toMatch(label === 'Node 18' ? /^v18\./ : /^v24\./);
  });

  it.skipIf(skipped)('validates, applies, diffs and exports a records directory with CI exit codes', async () => {
    const dir = join(data, `records-${tag}`);
    mkdirSync(dir);
    const record = trustRecord(cluster, { keySync });
    writeFileSync(join(dir, `bundle-${tag}.json`), JSON.stringify(record, null, 2));

    const valid = await ecp(['records', 'validate', dir], { EDGE_URL: undefined, ADMIN_TOKEN: undefined });
    expect(valid.stderr).toBe('');
    expect(valid.stdout).toBe('1 record valid\n');
    expect(valid.code).toBe(0);

    const before = await ecp(['records', 'diff', dir]);
    expect(before.stdout).toContain(`+ create bundle-${tag}\n`);
    expect(before.code).toBe(2);

    const apply = await ecp(['records', 'apply', dir]);
    expect(apply.stderr).toBe('');
    expect(apply.stdout).toContain('applied 1 change(s)\n');
    expect(apply.code).toBe(0);
    expect((await edgeAdmin(edge).get(`bundle-${tag}`)).status).toBe(200);

    const after = await ecp(['records', 'diff', dir]);
    expect(after.stdout).not.toContain(`bundle-${tag}`);
    expect(after.code).toBe(0);

    const exported = join(data, `exported-${tag}`);
    const exp = await ecp(['records', 'export', exported, '--yaml']);
    expect(exp.code).toBe(0);
    expect(readFileSync(join(exported, `bundle-${tag}.yaml`), 'utf8')).toContain(`issuer: ${cluster.issuer}`);

    // Refusals keep their codes: a read-only mistake (no token) is exit 1, named.
    const noToken = await ecp(['records', 'diff', dir], { ADMIN_TOKEN: undefined });
    expect(noToken.stderr).toMatch(/^records: set ADMIN_TOKEN/);
    expect(noToken.code).toBe(1);
  });

  it.skipIf(skipped)('prints the vendor trust entry offline, the same as scripts/upstream.mjs from the checkout', async () => {
    const file = join(data, `upstream-${tag}.json`);
    const rule = {
      name: 'ecr',
      namespaces: ['team-a'],
      serviceAccounts: ['builder'],
      registry: '123456789012.dkr.ecr.eu-west-1.amazonaws.com',
      repositories: ['team-a/*'],
      upstream: { type: 'ecr', roleArn: 'arn:aws:iam::123456789012:role/ecp-team-a', region: 'eu-west-1' },
    };
    writeFileSync(
      file,
      JSON.stringify({ name: 'prod-eu1', issuer: 'https://k8s.prod-eu1.example.com', audiences: ['ecp'], keys: { type: 'discovery' }, rules: [rule] }),
    );
    const args = ['trust', file, 'ecr', '--issuer', ISSUER];
    const bundled = await ecp(['upstream', ...args], { EDGE_URL: undefined, ADMIN_TOKEN: undefined });
    const checkout = await run(NODE, [join(ROOT, 'scripts', 'upstream.mjs'), ...args], { env: { PATH: process.env.PATH } });
    expect(bundled.stderr).toBe('');
    expect(bundled.code).toBe(0);
    expect(bundled.stdout).toContain('aws iam update-assume-role-policy');
    expect(bundled.stdout).toBe(checkout.stdout);
  });

  it.skipIf(skipped)("pushes the cluster's keys with keys-sync, and exits 1 with the edge's code when refused", async () => {
    const next = await generateKeyPair('RS256', { extractable: true });
    const nextJwk = { ...(await exportJWK(next.publicKey)), kid: `next-${tag}`, alg: 'RS256', use: 'sig' };
    const jwks = join(data, `jwks-${tag}.json`);
    writeFileSync(jwks, JSON.stringify({ keys: [...cluster.jwks.keys, nextJwk] }));
    const token = join(data, `token-${tag}`);
    writeFileSync(token, await cluster.token({ namespace: 'kube-system', serviceAccount: 'edge-key-sync', audience: AUDIENCE }));
    const pushed = await ecp(['keys-sync', '--jwks-from', jwks, '--token-file', token], { ADMIN_TOKEN: undefined });
    expect(pushed.stderr).toBe('');
    expect(pushed.stdout).toBe(`keys-sync: record bundle-${tag}: keys changed (version 2); keys: ${cluster.rsa.jwk.kid}, ${cluster.ec.jwk.kid}, next-${tag}\n`);
    expect(pushed.code).toBe(0);

    writeFileSync(token, await cluster.token({ namespace: 'kube-system', serviceAccount: 'default', audience: AUDIENCE }));
    const refused = await ecp(['keys-sync', '--jwks-from', jwks, '--token-file', token], { ADMIN_TOKEN: undefined });
    expect(refused.stderr).toMatch(/^keys-sync: the edge refused the keys: 403 ERR_KEY_SYNC_FORBIDDEN /);
    expect(refused.code).toBe(1);
  });

  it.skipIf(skipped)('names the CLIs it has, and refuses an unknown one with exit 1', async () => {
    const help = await ecp(['--help']);
    expect(help.stdout).toMatch(/^usage: ecp <cli>/);
    expect(help.code).toBe(0);
    const none = await ecp([]);
    expect(none.stderr).toMatch(/^ecp: a cli is needed\n/);
    expect(none.code).toBe(1);
    const unknown = await ecp(['keys']);
    expect(unknown.stderr).toMatch(/^ecp: unknown cli "keys"\n/);
    expect(unknown.code).toBe(1);
    const sub = await ecp(['records', '--help']);
    expect(sub.stdout).toContain('validate DIR');
    expect(sub.code).toBe(0);
  });
});

describe('examples/ci/trust-records.yml, its steps as written', { timeout: PROCESS_TIMEOUT_MS }, () => {
  const workflow = parseYaml(readFileSync(join(ROOT, 'examples', 'ci', 'trust-records.yml'), 'utf8'));
  const steps = workflow.jobs.records.steps as { name?: string; run?: string; if?: string }[];
  const step = (name: string) => {
    const found = steps.find((x) => x.name === name)?.run;
    if (!found) throw new Error(`no step ${name} in the workflow`);
    return found;
  };
  let own: Awaited<ReturnType<typeof startEdge>>;
  let workspace: string;
  /** A step's script in bash, in the checked-out records repository, with the runner's variables. */
  const bash = (script: string, env: Record<string, string | undefined> = {}) =>
    run('bash', ['-e', '-c', script], {
      cwd: workspace,
      env: { PATH: `${join(ROOT, 'node_modules', 'node', 'bin')}:${process.env.PATH}`, RUNNER_TEMP: alone, ...env },
    });

  beforeAll(async () => {
    own = await startEdge(); // apply --prune deletes what is not in the directory: an edge of its own
    workspace = mkdtempSync(join(tmpdir(), 'ecp-cli-workflow-'));
    mkdirSync(join(workspace, 'records'));
    writeFileSync(join(workspace, 'records', 'prod.json'), JSON.stringify(trustRecord(await makeCluster())));
  }, 120_000);
  afterAll(async () => {
    await own?.stop();
    if (workspace) rmSync(workspace, { recursive: true, force: true });
  });

  it('downloads nothing but the one file, and runs it only when its SHA-256 is the pinned one', async () => {
    expect(steps.some((x) => x.run?.includes('npm '))).toBe(false);
    const fetchStep = step('the CLI (one file, digest pinned)');
    expect(fetchStep).toMatch(/^curl -fsSL --proto '=https' -o "\$RUNNER_TEMP\/ecp.mjs" "\$ECP_CLI_URL"$/m);
    const check = fetchStep.replace(/^curl .*$/m, ''); // the file is in RUNNER_TEMP already
    const digest = createHash('sha256')
      .update(readFileSync(join(alone, 'ecp.mjs')))
      .digest('hex');
    expect((await bash(check, { ECP_CLI_SHA256: digest })).code).toBe(0);
    expect((await bash(check, { ECP_CLI_SHA256: '0'.repeat(64) })).code).not.toBe(0);
  });

  it('validates, shows the change on a pull request (exit 0 with a notice) and applies it on main', async () => {
    const valid = await bash(step('validate (offline)'));
    expect(valid.stdout).toBe('1 record valid\n');
    expect(valid.code).toBe(0);
    const secrets = { EDGE_URL: own.url, ADMIN_TOKEN: own.adminToken };
    const diff = await bash(step('diff'), secrets);
    expect(diff.stdout).toContain('+ create prod\n');
    expect(diff.stdout).toContain('::notice::this pull request changes trust records');
    expect(diff.code).toBe(0);
    const apply = await bash(step('apply'), secrets);
    expect(apply.stdout).toContain('applied 1 change(s)');
    expect(apply.code).toBe(0);
    const again = await bash(step('diff'), secrets);
    expect(again.stdout).toBe('no changes\n');
    expect(again.code).toBe(0);
    // An error is not a change: the step fails.
    const broken = await bash(step('diff'), { ...secrets, ADMIN_TOKEN: 'not-the-token' });
    expect(broken.code).toBe(1);
  });
});
