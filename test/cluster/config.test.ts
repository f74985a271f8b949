/**
 * Every form of CredentialProviderConfig that `generate-config` prints is loaded by the real
 * kubelet of this release, as a file and as a drop-in in a config directory; what
 * generate-config refuses, the kubelet refuses too (or the difference is written down in
 * docs/plugin.md, "Which kubelet checks what").
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { attach, generateConfig } from '../../cluster/lib/cluster.mjs';

let cluster: any;
const release = inject('clusterRelease');
const base = { edge: 'https://edge.example.com', matchImages: ['registry.example.com', '*.registry.example.com:5000/team-a'] };

beforeAll(async () => {
  cluster = await attach(inject('clusterDir'));
});

afterAll(async () => {
  await cluster?.restartKubelet({ provider: null }).catch(() => {});
  cluster?.api.close();
});

const FORMS: [string, Record<string, unknown>][] = [
  ['the defaults (cacheType ServiceAccount)', {}],
  ['cacheType Token', { cacheType: 'Token' }],
  [
    'required and optional annotations, cache 0s, every passed-on flag, JSON',
    {
      extraArgs: [
        '--required-annotation=example.com/team',
        '--optional-annotation=example.com/tier',
        '--default-cache-duration=0s',
        '--attempt-timeout=5s',
        '--budget=20s',
        '--max-attempts=3',
        '--verbose',
        '--format=json',
      ],
    },
  ],
  ['requireServiceAccount false (static pods reach the plugin without a token)', { extraArgs: ['--require-service-account=false'] }],
  ['another provider name', { name: 'ecp-second' }],
  ['a drop-in file in a config directory', { layout: 'directory' }],
];

describe(`the ${release} kubelet loads what generate-config prints`, () => {
  it.each(FORMS)('%s', async (_title, form) => {
    const result = await cluster.tryKubelet({ provider: { ...base, ...form } });
    expect(result.accepted, result.log.slice(-3000)).toBe(true);
  });
});

describe('what generate-config refuses, the kubelet refuses', () => {
  it('refuses a config without tokenAttributes.cacheType (the 1.33 form) since 1.34', async () => {
    const text = generateConfig({ ...base, extraArgs: [] }, '1.33');
    expect(text).not.toContain('cacheType');
    const result = await cluster.tryKubelet({ provider: { ...base, text } });
    expect(result.accepted).toBe(false);
    expect(result.log).toMatch(/Failed to register CRI auth plugins.*cacheType/);
  });

  it('refuses an unknown cacheType, as generate-config does', async () => {
    const text = generateConfig(base, release).replace(/cacheType: "?ServiceAccount"?/, 'cacheType: "Pod"');
    expect(() => generateConfig({ ...base, cacheType: 'Pod' as 'Token' }, release)).toThrow(/cache-type/);
    const result = await cluster.tryKubelet({ provider: { ...base, text } });
    expect(result.accepted).toBe(false);
    expect(result.log).toMatch(/Failed to register CRI auth plugins.*cacheType/);
  });

  it('refuses an annotation key both required and optional, as generate-config does', async () => {
    const args = ['--required-annotation=example.com/team', '--optional-annotation=example.com/team'];
    expect(() => generateConfig({ ...base, extraArgs: args }, release)).toThrow(/both required and optional/);
    const text = generateConfig({ ...base, extraArgs: ['--required-annotation=example.com/team'] }, release).replace(
      /^( +)requiredServiceAccountAnnotationKeys:/m,
      '$1optionalServiceAccountAnnotationKeys: ["example.com/team"]\n$1requiredServiceAccountAnnotationKeys:',
    );
    expect(text).toContain('optionalServiceAccountAnnotationKeys');
    const result = await cluster.tryKubelet({ provider: { ...base, text } });
    expect(result.accepted).toBe(false);
    expect(result.log).toContain('annotation keys cannot be both required and optional');
  });

  it('refuses an unknown field (the kubelet decodes its config strictly)', async () => {
    const text = generateConfig(base, release).replace(/^( +)defaultCacheDuration:/m, '$1cacheDurationDefault: "5m"\n$1defaultCacheDuration:');
    expect(text).toContain('cacheDurationDefault');
    const result = await cluster.tryKubelet({ provider: { ...base, text } });
    expect(result.accepted).toBe(false);
    expect(result.log).toMatch(/strict decoding error: unknown field \\?"providers\[0\]\.cacheDurationDefault/);
  });
});
