/**
 * install --copy-binary-to: the installer image's one step besides the merge (it has no
 * shell for cp/cmp/mv). The executable lands as DIR/NAME before the config names it, only
 * when the bytes differ, and a refusal of either step writes neither.
 */
import { describe, expect, it } from 'vitest';
import { install } from '../../../plugin/src/install';
import { failureOf } from './support/failure';
import { memFiles } from './support/mem-files';

const FLAGS = ['--url', 'https://ecp.example.com', '--match-image', 'registry.example.com', '--audience', 'edge-credential-provider'];
const FILE = '/host/config/config.yaml';
const SELF = '/opt/edge-credential-provider/edge-credential-provider';
const BIN = '/host/bin';
const setup = () => memFiles({ [SELF]: 'sea bytes' }, ['/host', '/host/config', BIN, '/opt', '/opt/edge-credential-provider']);

describe('install --copy-binary-to', () => {
  it('copies the executable as DIR/NAME before it writes the config, and says so', () => {
    const fs = setup();
    const outcome = install(['--config', FILE, '--copy-binary-to', BIN, ...FLAGS], fs, SELF);
    expect(outcome).toEqual({ changed: true, path: FILE, notes: [`copied ${SELF} to ${BIN}/edge-credential-provider`] });
    expect(fs.writes).toEqual([`${BIN}/edge-credential-provider`, FILE]);
    expect(fs.files.get(`${BIN}/edge-credential-provider`)).toEqual({ text: 'sea bytes', mode: 0o755 });
  });

  it('writes nothing on a second run with the same executable', () => {
    const fs = setup();
    install(['--config', FILE, `--copy-binary-to=${BIN}`, ...FLAGS], fs, SELF);
    fs.writes.length = 0;
    const again = install(['--config', FILE, `--copy-binary-to=${BIN}`, ...FLAGS], fs, SELF);
    expect(again).toEqual({ changed: false, path: FILE, notes: [`${BIN}/edge-credential-provider is already this executable`] });
    expect(fs.writes).toEqual([]);
  });

  it('replaces an older executable and leaves an unchanged config unchanged', () => {
    const fs = setup();
    install(['--config', FILE, '--copy-binary-to', BIN, ...FLAGS], fs, SELF);
    fs.files.set(SELF, { text: 'newer sea bytes', mode: 0o755 });
    fs.writes.length = 0;
    expect(install(['--config', FILE, '--copy-binary-to', BIN, ...FLAGS], fs, SELF).changed).toBe(false);
    expect(fs.writes).toEqual([`${BIN}/edge-credential-provider`]);
    expect(fs.files.get(`${BIN}/edge-credential-provider`)?.text).toBe('newer sea bytes');
  });

  it('names the copy after --name, the name the kubelet looks the binary up by', () => {
    const fs = setup();
    install(['--config', FILE, '--copy-binary-to', BIN, ...FLAGS, '--name', 'ecp'], fs, SELF);
    expect(fs.files.has(`${BIN}/ecp`)).toBe(true);
  });

  it('creates the directory when it is not there', () => {
    const fs = memFiles({ [SELF]: 'sea bytes' }, ['/opt', '/opt/edge-credential-provider']);
    install(['--config', FILE, '--copy-binary-to', '/etc/kubernetes/image-credential-provider', ...FLAGS], fs, SELF);
    expect(fs.files.get('/etc/kubernetes/image-credential-provider/edge-credential-provider')?.mode).toBe(0o755);
  });

  it.each([
    ['a missing value', ['--config', FILE, ...FLAGS, '--copy-binary-to'], SELF, 'usage 2'],
    ['an empty value', ['--config', FILE, '--copy-binary-to=', ...FLAGS], SELF, 'usage 2'],
    ['the flag twice', ['--config', FILE, '--copy-binary-to', BIN, '--copy-binary-to', BIN, ...FLAGS], SELF, 'usage 2'],
    ['a file where the directory should be', ['--config', FILE, '--copy-binary-to', SELF, ...FLAGS], SELF, 'input 1'],
    ['no known executable', ['--config', FILE, '--copy-binary-to', BIN, ...FLAGS], undefined, 'input 1'],
    ['an executable path that is not there', ['--config', FILE, '--copy-binary-to', BIN, ...FLAGS], '/nowhere', 'input 1'],
    ['generate-config flags install refuses', ['--config', FILE, '--copy-binary-to', BIN, '--url', 'http://ecp.example.com'], SELF, 'usage 2'],
  ])('refuses %s and writes nothing', (_, argv, self, failure) => {
    const fs = setup();
    expect(failureOf(() => install(argv, fs, self))).toBe(failure);
    expect(fs.writes).toEqual([]);
  });
});
