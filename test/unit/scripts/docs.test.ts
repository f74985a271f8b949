/**
 * The README and docs agree with the code: the kubelet snippet is what generate-config prints,
 * the benchmark prose quotes the table, the admin examples use the CLIs' EDGE_URL, and
 * package-lock.json's root entry is what package.json says (so `npm install` leaves it as it is).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { generateConfig } from '../../../plugin/src/config';

const read = (path: string) => readFileSync(fileURLToPath(new URL(`../../../${path}`, import.meta.url)), 'utf8');
const README = read('README.md');

describe('README and docs agree with the code', () => {
  it("shows the kubelet config generate-config prints for the snippet's own flags", () => {
    const snippet = /## Kubelet configuration[\s\S]*?```yaml\n([\s\S]*?)```/.exec(README)?.[1];
    expect(snippet).toBeDefined();
    const printed = generateConfig(['--url', 'https://ecp.example.com', '--match-image', 'registry.example.com', '--audience', 'edge-credential-provider']);
    expect(parseYaml(snippet!)).toEqual(parseYaml(printed));
  });

  it("quotes the benchmark table's plugin figures in the prose", () => {
    const row = (name: string) => new RegExp(`\\| exec plugin: ${name} \\| ([\\d.]+) ms median`).exec(README)?.[1];
    const [file, sea, bare] = [row('plugin file'), row('plugin SEA'), row('node -e 0')];
    expect([file, sea, bare].every(Boolean)).toBe(true);
    expect(README).toContain(`took ${file} ms\n(file) and ${sea} ms (SEA) in the latest bench run, against ${bare} ms for \`node -e 0\``);
  });

  it('names the edge EDGE_URL in shell examples, as the CLIs read it', () => {
    const docs = ['README.md', ...readdirSync(fileURLToPath(new URL('../../../docs', import.meta.url))).map((f) => `docs/${f}`)];
    for (const doc of docs) expect(read(doc), doc).not.toMatch(/\$EDGE\b(?!_)|\bEDGE=/);
  });

  it("keeps package-lock.json's root entry equal to package.json (npm install has nothing to rewrite)", () => {
    const pkg = JSON.parse(read('package.json'));
    const root = JSON.parse(read('package-lock.json')).packages[''];
    expect(root.engines).toEqual(pkg.engines);
    expect(root.dependencies).toEqual(pkg.dependencies);
    expect(root.devDependencies).toEqual(pkg.devDependencies);
    const installHooks = ['preinstall', 'install', 'postinstall'].some((h) => h in pkg.scripts);
    expect(root.hasInstallScript ?? false).toBe(installHooks);
  });
});
