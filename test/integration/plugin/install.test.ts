/**
 * `edge-credential-provider install` / `uninstall` run as a process against files in a
 * temporary directory, as the installer DaemonSet runs them on a node: the first run
 * changes, the second does not (same bytes, no backup churn), other providers survive, a
 * refusal leaves the file byte-identical, and a config directory gets a drop-in.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, lstatSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ACR, ECR, JFROG } from '../../unit/plugin/support/vendor-configs';
import { findNode18, findNode20, node18Skipped } from './support/older-node';
import { runPlugin } from './support/plugin';
import { expectOneCleanLine } from './support/strict';

const FLAGS = ['--url', 'https://ecp.example.com', '--match-image', 'registry.example.com', '--audience', 'edge-credential-provider'];
const NOTE = /^edge-credential-provider: \S/;

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ecp-install-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const run = (...args: string[]) => runPlugin({ input: '', args });
const names = (path: string) => (parse(readFileSync(path, 'utf8')) as { providers: { name: string }[] }).providers.map((p) => p.name);
const snapshot = (path: string) => ({ bytes: readFileSync(path, 'utf8'), mtimeMs: statSync(path).mtimeMs, mode: statSync(path).mode & 0o777 });

describe('install', () => {
  it('creates the file and its directory, then changes nothing on the second run', async () => {
    const file = join(dir, 'etc', 'kubernetes', 'credential-provider', 'config.yaml');
    const first = await run('install', '--config', file, ...FLAGS);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toBe(`changed: ${file}\n`);
    expect(first.stderr).toBe('');
    const config = parse(readFileSync(file, 'utf8'));
    expect(config).toMatchObject({ apiVersion: 'kubelet.config.k8s.io/v1', kind: 'CredentialProviderConfig' });
    expect(config.providers[0].tokenAttributes.serviceAccountTokenAudience).toBe('edge-credential-provider');
    const before = snapshot(file);

    const second = await run('install', '--config', file, ...FLAGS);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toBe(`unchanged: ${file}\n`);
    expect(second.stderr).toBe('');
    expect(snapshot(file)).toEqual(before);
    expect(readdirSync(join(dir, 'etc', 'kubernetes', 'credential-provider'))).toEqual(['config.yaml']);
  });

  it('keeps the other providers in their order, their fields and the file mode, and backs the original up once', async () => {
    const file = join(dir, 'config.yaml');
    const original = `${ACR}${JFROG.slice(JFROG.indexOf('providers:\n') + 'providers:\n'.length)}`;
    writeFileSync(file, original);
    chmodSync(file, 0o600);
    const first = await run('install', '--config', file, ...FLAGS);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toBe(`changed: ${file}\n`);
    const notes = first.stderr.trim().split('\n');
    expect(notes).toEqual([
      `edge-credential-provider: kept the file as it was in ${file}.ecp-backup`,
      `edge-credential-provider: the comments in ${file} are not kept (they are in ${file}.ecp-backup)`,
    ]);
    expect(names(file)).toEqual(['acr-credential-provider', 'jfrog-credential-provider', 'edge-credential-provider']);
    const [acr, jfrog] = parse(readFileSync(file, 'utf8')).providers;
    const [acrBefore, jfrogBefore] = parse(original).providers;
    expect(acr).toEqual(acrBefore);
    expect(jfrog).toEqual(jfrogBefore);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(`${file}.ecp-backup`, 'utf8')).toBe(original);

    const update = await run('install', '--config', file, ...FLAGS, '--match-image', 'mirror.example.com');
    expect(update.stdout).toBe(`changed: ${file}\n`);
    expect(update.stderr).toBe('');
    expect(readFileSync(`${file}.ecp-backup`, 'utf8')).toBe(original);
    expect(readdirSync(dir).sort()).toEqual(['config.yaml', 'config.yaml.ecp-backup']);
  });

  it('keeps a JSON config JSON', async () => {
    const file = join(dir, 'config.json');
    writeFileSync(file, JSON.stringify(parse(ECR), null, 4));
    expect((await run('install', '--config', file, ...FLAGS)).stdout).toBe(`changed: ${file}\n`);
    expect(JSON.parse(readFileSync(file, 'utf8')).providers.map((p: { name: string }) => p.name)).toEqual([
      'ecr-credential-provider',
      'edge-credential-provider',
    ]);
  });

  it('replaces the file a symbolic link points to, and keeps the link', async () => {
    const real = join(dir, 'real.yaml');
    const link = join(dir, 'config.yaml');
    writeFileSync(real, ECR);
    symlinkSync(real, link);
    const result = await run('install', '--config', link, ...FLAGS);
    expect(result.stdout).toBe(`changed: ${real}\n`);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(names(link)).toEqual(['ecr-credential-provider', 'edge-credential-provider']);
  });

  it.each([
    [
      'an apiVersion other than kubelet.config.k8s.io/v1',
      ECR.replace('kubelet.config.k8s.io/v1', 'kubelet.config.k8s.io/v1beta1'),
      /has apiVersion "kubelet.config.k8s.io\/v1beta1"/,
    ],
    ['YAML it cannot read safely', `${ECR}  args: &a [x]\n`, /is YAML install cannot read safely: line 12: anchors/],
    ['unparsable JSON', '{"apiVersion": "kubelet.config.k8s.io/v1",', /is not valid JSON/],
    ['a provider the kubelet would refuse', ECR.replace('"12h"', '"soon"'), /the kubelet would not load the merged config: .*defaultCacheDuration/],
  ])('refuses %s with one line, exit 1, and leaves the file byte-identical', async (_what, text, message) => {
    const file = join(dir, 'config.yaml');
    writeFileSync(file, text);
    const before = snapshot(file);
    const result = await run('install', '--config', file, ...FLAGS);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(expectOneCleanLine(result.stderr)).toMatch(message);
    expect(snapshot(file)).toEqual(before);
    expect(readdirSync(dir)).toEqual(['config.yaml']); // no backup, no temporary file
  });

  it('refuses bad flags with exit 2', async () => {
    const result = await run(
      'install',
      '--config',
      join(dir, 'c.yaml'),
      '--url',
      'http://edge.example.com',
      '--match-image',
      'r.example.com',
      '--audience',
      'a',
    );
    expect(result.code).toBe(2);
    expect(expectOneCleanLine(result.stderr)).toMatch(/must use https:\/\//);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('explains itself with --help', async () => {
    const result = await run('install', '--help');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Prints "changed: FILE" or "unchanged: FILE"');
  });
});

describe('install into a config directory', () => {
  it('writes its own drop-in and leaves the other files alone', async () => {
    const conf = join(dir, 'credential-providers');
    mkdirSync(conf);
    writeFileSync(join(conf, '10-ecr.yaml'), ECR);
    const dropIn = join(conf, 'edge-credential-provider.yaml');
    const first = await run('install', '--config', conf, ...FLAGS);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toBe(`changed: ${dropIn}\n`);
    expect(readFileSync(join(conf, '10-ecr.yaml'), 'utf8')).toBe(ECR);
    expect(names(dropIn)).toEqual(['edge-credential-provider']);
    expect((await run('install', '--config', conf, ...FLAGS)).stdout).toBe(`unchanged: ${dropIn}\n`);
    expect(readdirSync(conf).sort()).toEqual(['10-ecr.yaml', 'edge-credential-provider.yaml']);
  });

  it('refuses when another file there already defines the provider name', async () => {
    const conf = join(dir, 'credential-providers');
    mkdirSync(conf);
    writeFileSync(join(conf, '10-ecr.yaml'), ECR);
    const result = await run('install', '--config', conf, ...FLAGS, '--name', 'ecr-credential-provider');
    expect(result.code).toBe(1);
    expect(expectOneCleanLine(result.stderr)).toContain(`${join(conf, '10-ecr.yaml')} already defines the provider ecr-credential-provider`);
    expect(readdirSync(conf)).toEqual(['10-ecr.yaml']);
  });
});

describe('uninstall', () => {
  it('removes only our provider, then has nothing to do', async () => {
    const file = join(dir, 'config.yaml');
    writeFileSync(file, JFROG);
    await run('install', '--config', file, ...FLAGS);
    const removed = await run('uninstall', '--config', file);
    expect(removed.code, removed.stderr).toBe(0);
    expect(removed.stdout).toBe(`changed: ${file}\n`);
    expect(parse(readFileSync(file, 'utf8'))).toEqual(parse(JFROG));
    const again = await run('uninstall', '--config', file);
    expect(again.stdout).toBe(`unchanged: ${file}\n`);
    expect(again.stderr).toBe(`edge-credential-provider: ${file} has no provider edge-credential-provider\n`);
  });

  it('removes a file that held only our provider, and our drop-in', async () => {
    const file = join(dir, 'kubelet', 'config.yaml');
    await run('install', '--config', file, ...FLAGS);
    const result = await run('uninstall', '--config', file);
    expect(result.stdout).toBe(`changed: ${file}\n`);
    expect(result.stderr).toMatch(
      /it held only edge-credential-provider, and the kubelet refuses a config without providers\n.*now names nothing the kubelet can load/,
    );
    expect(existsSync(file)).toBe(false);

    const conf = join(dir, 'conf.d');
    mkdirSync(conf);
    writeFileSync(join(conf, '10-ecr.yaml'), ECR);
    await run('install', '--config', conf, ...FLAGS);
    expect((await run('uninstall', '--config', conf)).stdout).toBe(`changed: ${join(conf, 'edge-credential-provider.yaml')}\n`);
    expect(readdirSync(conf)).toEqual(['10-ecr.yaml']);
  });

  it('refuses a file it cannot read and leaves it byte-identical', async () => {
    const file = join(dir, 'config.yaml');
    writeFileSync(file, 'providers: |\n  text\n');
    const result = await run('uninstall', '--config', file);
    expect(result.code).toBe(1);
    expect(expectOneCleanLine(result.stderr)).toMatch(/block scalars/);
    expect(readFileSync(file, 'utf8')).toBe('providers: |\n  text\n');
  });

  it('prints notes as lines of its own on stderr', async () => {
    const result = await run('uninstall', '--config', join(dir, 'none.yaml'));
    expect(result.code).toBe(0);
    for (const line of result.stderr.trim().split('\n')) expect(line).toMatch(NOTE);
  });
});

describe.each([...(node18Skipped() ? [] : [{ major: 18, find: findNode18 }]), { major: 20, find: findNode20 }])(
  'install and uninstall on Node.js $major',
  ({ find }) => {
    it('merge, find nothing to do the second time, and take our provider out again', async () => {
      const node = find().path;
      const file = join(dir, 'config.yaml');
      writeFileSync(file, ECR);
      const on = (...args: string[]) => runPlugin({ node, input: '', args });
      expect((await on('install', '--config', file, ...FLAGS)).stdout).toBe(`changed: ${file}\n`);
      expect((await on('install', '--config', file, ...FLAGS)).stdout).toBe(`unchanged: ${file}\n`);
      expect(names(file)).toEqual(['ecr-credential-provider', 'edge-credential-provider']);
      const removed = await on('uninstall', '--config', file);
      expect(removed.code, removed.stderr).toBe(0);
      expect(parse(readFileSync(file, 'utf8'))).toEqual(parse(ECR));
    });
  },
);
