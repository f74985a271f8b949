/**
 * scripts/lib/trust-commands.mjs: the vendor-side trust steps explain returns as data, rendered
 * as commands with every value single-quoted. The rendered lines are run by a real POSIX shell
 * against fake vendor CLIs that record their arguments: whatever a value holds ($(...),
 * backticks, quotes, newlines, globs), it arrives as one argument, intact, and nothing else runs.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { comment, renderStep, renderSteps, shellQuote } from '../../../scripts/lib/trust-commands.mjs';

const dir = mkdtempSync(join(tmpdir(), 'ecp-trust-commands-'));
const bin = join(dir, 'bin');
const canary = join(dir, 'pwned');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Each fake CLI appends its arguments, NUL-separated, one invocation per record.
spawnSync('mkdir', ['-p', bin]);
for (const tool of ['aws', 'gcloud', 'az', 'curl', 'npx']) {
  const path = join(bin, tool);
  writeFileSync(path, `#!/bin/sh\n{ printf '%s' "${tool}"; for a in "$@"; do printf '\\000%s' "$a"; done; printf '\\036'; } >> "${dir}/calls"\n`);
  chmodSync(path, 0o755);
}

/** Runs the lines in sh with the fakes first on PATH; returns each call's argv. */
function run(lines: string[]): string[][] {
  rmSync(join(dir, 'calls'), { force: true });
  const r = spawnSync('sh', ['-c', lines.join('\n')], { env: { PATH: `${bin}:/usr/bin:/bin`, QUAY_TOKEN: 'q', CLOUDSMITH_API_KEY: 'c' }, encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  if (!existsSync(join(dir, 'calls'))) return [];
  return readFileSync(join(dir, 'calls'), 'utf8')
    .split('\u001e')
    .filter(Boolean)
    .map((call) => call.split('\u0000'));
}

const HOSTILE = [
  `$(touch ${canary})`,
  `\`touch ${canary}\``,
  `'; touch ${canary}; echo '`,
  `"$(touch ${canary})"`,
  `x\ntouch ${canary}`,
  '*',
  '~root',
  '$HOME',
  'a\\b',
  '',
];

describe('shellQuote', () => {
  it.each([
    ['plain', "'plain'"],
    ["it's", `'it'\\''s'`],
    ['', "''"],
  ])('quotes %j as %s, always', (value, quoted) => {
    expect(shellQuote(value)).toBe(quoted);
  });

  it.each(HOSTILE)('keeps %j one argument, intact, running nothing', (value) => {
    const [call] = run([renderStep({ op: 'aws.create-oidc-provider', url: value, clientId: value })]);
    expect(call).toEqual(['aws', 'iam', 'create-open-id-connect-provider', '--url', value, '--client-id-list', value]);
    expect(existsSync(canary)).toBe(false);
  });
});

describe('renderSteps', () => {
  const v = `team-a'$(touch ${canary})`;
  const doc = { subject: v, note: "it's\n$(x)" };
  const steps = [
    { op: 'cloudsmith.create-oidc-provider', organization: 'acme', document: doc },
    { op: 'aws.update-assume-role-policy', roleName: v, document: doc },
    { op: 'gcloud.create-pool', project: '123', pool: v },
    { op: 'gcloud.create-oidc-provider', project: '123', pool: 'p', provider: v, issuerUri: v, attributeMapping: 'a=b+":"+c', allowedAudience: v },
    { op: 'gcloud.bind-service-account', serviceAccount: v, member: v },
    { op: 'gcloud.bind-repository', project: '<PROJECT_ID>', location: v, repository: v, member: v },
    { op: 'az.create-app-federated-credential', clientId: v, document: doc },
    { op: 'az.assign-acr-pull', clientId: v, registryName: v },
    { op: 'quay.set-robot-federation', url: `https://quay.io/${v}`, document: doc },
    { op: 'wrangler.secret-put', name: v },
  ];

  it('renders every step so that each value is one argument and nothing else runs', () => {
    const calls = run(renderSteps(steps));
    expect(existsSync(canary)).toBe(false);
    // az assign-acr-pull runs `az acr show` inside $(...) first: 11 calls for 10 steps.
    expect(calls.map((c) => c.slice(0, 3).join(' '))).toEqual([
      'curl -fsS -X',
      'aws iam update-assume-role-policy',
      'gcloud iam workload-identity-pools',
      'gcloud iam workload-identity-pools',
      'gcloud iam service-accounts',
      'gcloud artifacts repositories',
      'az ad app',
      'az acr show',
      'az role assignment',
      'curl -fsS -X',
      'npx wrangler secret',
    ]);
    expect(calls[1]).toEqual(['aws', 'iam', 'update-assume-role-policy', '--role-name', v, '--policy-document', JSON.stringify(doc)]);
    expect(calls[3]).toContain(`--issuer-uri=${v}`);
    expect(calls[3]).toContain('--attribute-mapping=a=b+":"+c');
    expect(calls[7]).toEqual(['az', 'acr', 'show', '--name', v, '--query', 'id', '--output', 'tsv']);
    expect(calls[9]!.at(-1)).toBe(`https://quay.io/${v}`);
    expect(calls[9]).toContain('Authorization: Bearer q'); // the operator's own variable still expands
    expect(calls[10]).toEqual(['npx', 'wrangler', 'secret', 'put', v]);
  });

  it('prints an optional step commented out, with its condition, so a paste never runs it', () => {
    const lines = renderSteps([{ op: 'wrangler.secret-put', name: `x\ntouch ${canary}`, optional: 'only if\nyou must' }]);
    for (const line of lines.join('\n').split('\n')) expect(line.startsWith('# ')).toBe(true);
    expect(run(lines)).toEqual([]);
    expect(existsSync(canary)).toBe(false);
  });

  it('refuses a step it does not know rather than guess', () => {
    expect(() => renderStep({ op: 'rm -rf /' })).toThrow(/unknown trust step/);
  });
});

describe('comment', () => {
  it('keeps every line a comment and shows control characters escaped', () => {
    expect(comment(`a\nb\r\u001b[2Jc`)).toBe('# a\n# b\\u000d\\u001b[2Jc');
  });
});
