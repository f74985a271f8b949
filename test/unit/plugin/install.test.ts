/**
 * install / uninstall over an in-memory file system: what is written, what is kept, what is
 * refused (and then nothing is written), in a file and in a kubelet config directory.
 */
import { describe, expect, it } from 'vitest';
import { install, uninstall } from '../../../plugin/src/install';
import { readConfig, type NodeConfig } from '../../../plugin/src/merge';
import { failureOf, messageOf } from './support/failure';
import { memFiles } from './support/mem-files';
import { ACR, ECR, JFROG, LEGACY_JSON } from './support/vendor-configs';

const FLAGS = ['--url', 'https://ecp.example.com', '--match-image', 'registry.example.com', '--audience', 'edge-credential-provider'];
const FILE = '/etc/kubernetes/credential-provider/config.yaml';
const DIR = '/etc/kubernetes/credential-providers';
const names = (text: string | undefined) => (readConfig(text ?? '', 'x') as NodeConfig).providers.map((p) => p.name);

describe('install into a file', () => {
  it('creates the file and its directory when there is none', () => {
    const fs = memFiles();
    expect(install(['--config', FILE, ...FLAGS], fs)).toEqual({ changed: true, path: FILE, notes: [] });
    expect(names(fs.files.get(FILE)?.text)).toEqual(['edge-credential-provider']);
    expect(fs.dirs.has('/etc/kubernetes/credential-provider')).toBe(true);
    expect(fs.files.get(FILE)?.mode).toBe(0o644);
  });

  it('changes nothing on a second run and says so', () => {
    const fs = memFiles({ [FILE]: ECR }, ['/etc/kubernetes/credential-provider']);
    install([`--config=${FILE}`, ...FLAGS], fs);
    const after = fs.files.get(FILE)?.text;
    fs.writes.length = 0;
    expect(install([`--config=${FILE}`, ...FLAGS], fs)).toEqual({ changed: false, path: FILE, notes: [] });
    expect(fs.writes).toEqual([]);
    expect(fs.files.get(FILE)?.text).toBe(after);
  });

  it('keeps the other providers, backs the original up once, and says the comments are gone', () => {
    const original = `${ACR}${JFROG.slice(JFROG.indexOf('providers:\n') + 'providers:\n'.length)}`;
    const fs = memFiles({ [FILE]: original }, ['/etc/kubernetes/credential-provider']);
    fs.files.set(FILE, { text: original, mode: 0o600 });
    const first = install(['--config', FILE, ...FLAGS], fs);
    expect(first.changed).toBe(true);
    expect(first.notes).toEqual([`kept the file as it was in ${FILE}.ecp-backup`, `the comments in ${FILE} are not kept (they are in ${FILE}.ecp-backup)`]);
    expect(names(fs.files.get(FILE)?.text)).toEqual(['acr-credential-provider', 'jfrog-credential-provider', 'edge-credential-provider']);
    expect(fs.files.get(FILE)?.mode).toBe(0o600);
    expect(fs.files.get(`${FILE}.ecp-backup`)).toEqual({ text: original, mode: 0o600 });

    const second = install(['--config', FILE, ...FLAGS, '--match-image', 'other.example.com'], fs);
    expect(second.changed).toBe(true);
    expect(second.notes).toEqual([]); // no second backup, and our own header is no comment of the operator's
    expect(fs.files.get(`${FILE}.ecp-backup`)?.text).toBe(original);
  });

  it('keeps a JSON file JSON', () => {
    const fs = memFiles({ '/etc/eks/config.json': LEGACY_JSON }, ['/etc/eks']);
    install(['--config', '/etc/eks/config.json', ...FLAGS], fs);
    const text = fs.files.get('/etc/eks/config.json')?.text ?? '';
    expect(JSON.parse(text).providers.map((p: { name: string }) => p.name)).toEqual(['legacy-provider', 'edge-credential-provider']);
  });

  it.each([
    ['an older config apiVersion', ECR.replace('kubelet.config.k8s.io/v1', 'kubelet.config.k8s.io/v1beta1'), /has apiVersion/],
    ['YAML it cannot read safely', 'apiVersion: kubelet.config.k8s.io/v1\nkind: CredentialProviderConfig\nproviders: &p []\n', /anchors/],
    [
      'another provider the kubelet would refuse',
      ECR.replace('defaultCacheDuration: "12h"', 'defaultCacheDuration: "soon"'),
      /kubelet would not load the merged config: .*defaultCacheDuration.*; nothing was written/,
    ],
    ['a name defined twice already', ACR + ACR.slice(ACR.indexOf('  - name')), /defined twice/],
  ])('refuses %s and writes nothing', (_what, text, message) => {
    const fs = memFiles({ [FILE]: text }, ['/etc/kubernetes/credential-provider']);
    expect(failureOf(() => install(['--config', FILE, ...FLAGS], fs))).toBe('input 1');
    expect(messageOf(() => install(['--config', FILE, ...FLAGS], fs))).toMatch(message);
    expect(fs.writes).toEqual([]);
    expect(fs.files.get(FILE)?.text).toBe(text);
  });

  it.each([
    [[...FLAGS], /install needs --config PATH/],
    [['--config', FILE, '--config', FILE, ...FLAGS], /--config is given more than once/],
    [['--config', FILE, ...FLAGS, '--format', 'json'], /drop --format/],
    [['--config', FILE, '--url', 'https://ecp.example.com'], /install needs --match-image, --audience/],
    [['--config'], /--config needs a value/],
  ])('refuses the flags %j as a usage error', (argv, message) => {
    const fs = memFiles();
    expect(failureOf(() => install(argv, fs))).toBe('usage 2');
    expect(messageOf(() => install(argv, fs))).toMatch(message);
  });
});

describe('install into a config directory', () => {
  it('writes a drop-in of its own, leaving the other files alone', () => {
    const fs = memFiles({ [`${DIR}/10-ecr.yaml`]: ECR }, [DIR]);
    expect(install(['--config', DIR, ...FLAGS], fs)).toEqual({ changed: true, path: `${DIR}/edge-credential-provider.yaml`, notes: [] });
    expect(fs.writes).toEqual([`${DIR}/edge-credential-provider.yaml`]);
    expect(install(['--config', `${DIR}/`, ...FLAGS], fs).changed).toBe(false);
  });

  it('creates the directory for a path ending in "/"', () => {
    const fs = memFiles();
    expect(install(['--config', `${DIR}/`, ...FLAGS], fs).path).toBe(`${DIR}/edge-credential-provider.yaml`);
    expect(fs.dirs.has(DIR)).toBe(true);
  });

  it('refuses when another file there defines our provider name', () => {
    const theirs = `${ECR}- name: edge-credential-provider\n  matchImages: [x]\n  defaultCacheDuration: 1m\n  apiVersion: credentialprovider.kubelet.k8s.io/v1\n`;
    const fs = memFiles({ [`${DIR}/00-mine.yaml`]: theirs }, [DIR]);
    expect(messageOf(() => install(['--config', DIR, ...FLAGS], fs))).toMatch(
      `${DIR}/00-mine.yaml already defines the provider edge-credential-provider and the kubelet refuses a name defined twice`,
    );
    expect(fs.writes).toEqual([]);
  });

  it('refuses when a file it cannot read mentions our name, and only notes one that does not', () => {
    const unreadable = 'a: &x 1\n';
    const fs = memFiles({ [`${DIR}/50-odd.yml`]: unreadable, [`${DIR}/README.txt`]: 'edge-credential-provider' }, [DIR]);
    const outcome = install(['--config', DIR, ...FLAGS], fs);
    expect(outcome.notes).toEqual([
      expect.stringMatching(
        /50-odd.yml is YAML install cannot read safely: line 1: anchors.*; it does not mention edge-credential-provider, so install goes on$/,
      ),
    ]);
    fs.files.set(`${DIR}/60-odd.json`, { text: '{"providers": [{"name": "edge-credential-provider"', mode: 0o644 });
    expect(failureOf(() => install(['--config', DIR, ...FLAGS], fs))).toBe('input 1');
  });
});

describe('uninstall', () => {
  it('removes only our provider and keeps the rest', () => {
    const fs = memFiles({ [FILE]: JFROG }, ['/etc/kubernetes/credential-provider']);
    install(['--config', FILE, ...FLAGS], fs);
    expect(uninstall(['--config', FILE], fs).changed).toBe(true);
    expect(readConfig(fs.files.get(FILE)?.text ?? '', 'x')).toEqual(readConfig(JFROG, 'x'));
    expect(uninstall(['--config', FILE], fs)).toEqual({ changed: false, path: FILE, notes: [`${FILE} has no provider edge-credential-provider`] });
  });

  it('removes a file that would be left without providers, and says what the kubelet needs then', () => {
    const fs = memFiles();
    install(['--config', FILE, ...FLAGS], fs);
    const outcome = uninstall(['--config', FILE], fs);
    expect(outcome.changed).toBe(true);
    expect(fs.files.has(FILE)).toBe(false);
    expect(outcome.notes[0]).toMatch(/removed .* it held only edge-credential-provider, and the kubelet refuses a config without providers/);
    expect(outcome.notes[1]).toMatch(/--image-credential-provider-config=.* now names nothing the kubelet can load/);
  });

  it('removes a provider of another name with --name', () => {
    const fs = memFiles({ [FILE]: `${JFROG}${ACR.slice(ACR.indexOf('  - name'))}` }, ['/etc/kubernetes/credential-provider']);
    uninstall(['--config', FILE, '--name', 'acr-credential-provider'], fs);
    expect(names(fs.files.get(FILE)?.text)).toEqual(['jfrog-credential-provider']);
  });

  it('removes our drop-in from a directory, and leaves a file it did not write alone', () => {
    const theirs = `${DIR}/20-theirs.yaml`;
    const fs = memFiles({ [`${DIR}/10-ecr.yaml`]: ECR }, [DIR]);
    install(['--config', DIR, ...FLAGS], fs);
    const outcome = uninstall(['--config', DIR], fs);
    expect(outcome).toEqual({
      changed: true,
      path: `${DIR}/edge-credential-provider.yaml`,
      notes: [`removed ${DIR}/edge-credential-provider.yaml: it held only edge-credential-provider, and the kubelet refuses a config without providers`],
    });
    expect([...fs.files.keys()]).toEqual([`${DIR}/10-ecr.yaml`]);
    fs.files.set(theirs, { text: ECR.replace('ecr-credential-provider', 'edge-credential-provider'), mode: 0o644 });
    expect(uninstall(['--config', DIR], fs).notes).toEqual([
      `${theirs} defines edge-credential-provider too; install did not write it, so uninstall leaves it alone`,
      `${DIR}/edge-credential-provider.yaml does not exist`,
    ]);
  });

  it('changes nothing where there is no config', () => {
    expect(uninstall(['--config', FILE], memFiles()).changed).toBe(false);
  });
});
