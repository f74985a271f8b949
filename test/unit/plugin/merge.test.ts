/**
 * The pure merge behind install/uninstall: reading a node's config as the kubelet loads it,
 * checking other providers only by the kubelet's rules, putting our entry in or taking it
 * out by name, and rendering a file that reads back the same.
 */
import { describe, expect, it } from 'vitest';
import { buildConfig, type ProviderConfig } from '../../../plugin/src/config';
import {
  formatOf,
  hasComments,
  kubeletProblems,
  readConfig,
  removeProvider,
  renderConfig,
  sameValue,
  upsertProvider,
  YAML_HEADER,
  type NodeConfig,
  type Provider,
} from '../../../plugin/src/merge';
import { failureOf, messageOf } from './support/failure';
import { ACR, ECR, GCP, JFROG, LEGACY_JSON } from './support/vendor-configs';

const ours = (...extra: string[]): ProviderConfig => {
  const { config } = buildConfig([
    '--url',
    'https://ecp.example.com',
    '--match-image',
    'registry.example.com',
    '--audience',
    'edge-credential-provider',
    ...extra,
  ]);
  return config.providers[0] as ProviderConfig;
};
const read = (text: string) => readConfig(text, '/etc/kubernetes/c.yaml') as NodeConfig;
const names = (config: NodeConfig) => config.providers.map((p) => p.name);

describe('readConfig', () => {
  it.each([
    ['ECR', ECR, ['ecr-credential-provider']],
    ['GCP', GCP, ['auth-provider-gcp']],
    ['ACR', ACR, ['acr-credential-provider']],
    ['JFrog', JFROG, ['jfrog-credential-provider']],
    ['a legacy JSON one', LEGACY_JSON, ['legacy-provider']],
  ])('reads the %s provider config', (_what, text, expected) => {
    expect(names(read(text))).toEqual(expected);
  });

  it('reads an empty file, or one of comments, as no config yet', () => {
    expect(readConfig('', 'f')).toBeUndefined();
    expect(readConfig('# to be written\n', 'f')).toBeUndefined();
  });

  it('reads a config without providers as an empty list', () => {
    expect(read('apiVersion: kubelet.config.k8s.io/v1\nkind: CredentialProviderConfig\n').providers).toEqual([]);
  });

  it.each([
    [
      'an older config apiVersion',
      ECR.replace('kubelet.config.k8s.io/v1', 'kubelet.config.k8s.io/v1beta1'),
      /has apiVersion "kubelet.config.k8s.io\/v1beta1"; install writes kubelet.config.k8s.io\/v1 only/,
    ],
    ['another kind', 'apiVersion: kubelet.config.k8s.io/v1\nkind: KubeletConfiguration\n', /has kind "KubeletConfiguration"/],
    ['a field the kubelet does not accept', `${ECR}extra: 1\n`, /has fields the kubelet does not accept: extra/],
    [
      'providers that are not mappings',
      'apiVersion: kubelet.config.k8s.io/v1\nkind: CredentialProviderConfig\nproviders: [a]\n',
      /providers that are not a list of mappings/,
    ],
    ['a top-level list', '- a\n', /not a mapping/],
    ['broken JSON', '{"apiVersion": ', /is not valid JSON/],
    ['YAML with an anchor', `${ECR}  args: &a [x]\n`, /is YAML install cannot read safely: line \d+: anchors/],
  ])('refuses %s with one line naming the file', (_what, text, message) => {
    expect(failureOf(() => read(text))).toBe('input 1');
    const line = messageOf(() => read(text));
    expect(line).toMatch(message);
    expect(line).toContain('/etc/kubernetes/c.yaml');
    expect(line).not.toContain('\n');
  });
});

describe('kubeletProblems', () => {
  const base = read(ECR).providers[0] as Provider;
  const withTokens = { ...base, tokenAttributes: { serviceAccountTokenAudience: 'a', requireServiceAccount: true, cacheType: 'Token' } };

  it.each([
    ['ECR', ECR],
    ['GCP', GCP],
    ['ACR', ACR],
    ['JFrog', JFROG],
    ['legacy v1alpha1', LEGACY_JSON],
  ])('accepts the %s provider as the kubelet does', (_what, text) => {
    expect(kubeletProblems(read(text).providers, 34)).toEqual([]);
  });

  it.each([
    ['a name with a slash', { ...base, name: 'bin/x' }, /name must be a file name/],
    ['the name ..', { ...base, name: '..' }, /name must be a file name/],
    ['an unknown provider apiVersion', { ...base, apiVersion: 'credentialprovider.kubelet.k8s.io/v2' }, /apiVersion must be one of/],
    ['no matchImages', { ...base, matchImages: [] }, /matchImages must be a list of at least 1 string/],
    ['no defaultCacheDuration', { ...base, defaultCacheDuration: undefined }, /defaultCacheDuration must be a duration/],
    ['a number as defaultCacheDuration', { ...base, defaultCacheDuration: 0 }, /written as a string/],
    ['a negative defaultCacheDuration', { ...base, defaultCacheDuration: '-1m' }, /defaultCacheDuration/],
    [
      'tokenAttributes without an audience',
      { ...withTokens, tokenAttributes: { requireServiceAccount: true, cacheType: 'Token' } },
      /serviceAccountTokenAudience is required/,
    ],
    ['tokenAttributes on v1beta1', { ...withTokens, apiVersion: 'credentialprovider.kubelet.k8s.io/v1beta1' }, /tokenAttributes needs apiVersion/],
    [
      'tokenAttributes without cacheType on 1.34',
      { ...withTokens, tokenAttributes: { serviceAccountTokenAudience: 'a', requireServiceAccount: true } },
      /cacheType must be/,
    ],
    [
      'required annotations without requireServiceAccount',
      { ...withTokens, tokenAttributes: { ...withTokens.tokenAttributes, requireServiceAccount: false, requiredServiceAccountAnnotationKeys: ['a/b'] } },
      /requireServiceAccount cannot be false/,
    ],
  ])('refuses %s', (_what, provider, problem) => {
    const problems = kubeletProblems([provider as Provider], 34);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(problem);
  });

  it('accepts tokenAttributes without cacheType for a 1.33 kubelet', () => {
    expect(kubeletProblems([{ ...withTokens, tokenAttributes: { serviceAccountTokenAudience: 'a', requireServiceAccount: true } }], 33)).toEqual([]);
  });

  it('refuses a name defined twice', () => {
    expect(kubeletProblems([base, base], 34)).toEqual(['provider "ecr-credential-provider": the name is defined twice']);
  });
});

describe('upsertProvider and removeProvider', () => {
  it('adds our provider last, keeping the others and their order', () => {
    const current = read(JFROG);
    current.providers.unshift(...read(ECR).providers);
    const { config, changed } = upsertProvider(current, ours());
    expect(changed).toBe(true);
    expect(names(config)).toEqual(['ecr-credential-provider', 'jfrog-credential-provider', 'edge-credential-provider']);
    expect(config.providers.slice(0, 2)).toEqual(current.providers.slice(0, 2));
  });

  it('replaces our provider where it is, and says nothing changed when it means the same', () => {
    const first = upsertProvider(read(ECR), ours()).config;
    first.providers.push(...read(GCP).providers);
    const again = upsertProvider(first, ours());
    expect(again.changed).toBe(false);
    const updated = upsertProvider(first, ours('--match-image', 'other.example.com'));
    expect(updated.changed).toBe(true);
    expect(names(updated.config)).toEqual(['ecr-credential-provider', 'edge-credential-provider', 'auth-provider-gcp']);
    expect(updated.config.providers[1]?.matchImages).toEqual(['registry.example.com', 'other.example.com']);
  });

  it('treats our entry with its keys in another order as unchanged', () => {
    const entry = ours();
    const reordered = Object.fromEntries(Object.entries(entry).reverse());
    const current: NodeConfig = { apiVersion: 'kubelet.config.k8s.io/v1', kind: 'CredentialProviderConfig', providers: [reordered] };
    expect(upsertProvider(current, entry).changed).toBe(false);
  });

  it('keeps an env someone put on our entry by hand (the flags cannot say env)', () => {
    const env = [{ name: 'NODE_EXTRA_CA_CERTS', value: '/etc/kubernetes/pki/edge-ca.pem' }];
    const current: NodeConfig = { apiVersion: 'kubelet.config.k8s.io/v1', kind: 'CredentialProviderConfig', providers: [{ ...ours(), env }] };
    const { config, changed } = upsertProvider(current, ours());
    expect(changed).toBe(false);
    expect(config.providers[0]?.env).toEqual(env);
  });

  it('removes only the named provider, and reports a config that never had it', () => {
    const merged = upsertProvider(read(ACR), ours()).config;
    expect(names(removeProvider(merged, 'edge-credential-provider') as NodeConfig)).toEqual(['acr-credential-provider']);
    expect(removeProvider(read(ACR), 'edge-credential-provider')).toBeUndefined();
    expect(removeProvider(undefined, 'edge-credential-provider')).toBeUndefined();
  });
});

describe('rendering', () => {
  it.each([
    ['ECR', ECR],
    ['GCP', GCP],
    ['ACR', ACR],
    ['JFrog', JFROG],
  ])('writes YAML that reads back as the merged %s config', (_what, text) => {
    const { config } = upsertProvider(read(text), ours('--optional-annotation', 'example.com/team'));
    const yaml = renderConfig(config, 'yaml');
    expect(yaml.startsWith(`${YAML_HEADER}\n`)).toBe(true);
    expect(read(yaml)).toEqual(config);
    expect(hasComments(yaml)).toBe(false);
  });

  it('writes JSON for a JSON file', () => {
    const { config } = upsertProvider(read(LEGACY_JSON), ours());
    const json = renderConfig(config, 'json');
    expect(JSON.parse(json)).toEqual(config);
    expect(formatOf('/x/config.yaml', LEGACY_JSON)).toBe('json');
  });

  it.each([
    ['/x/c.json', undefined, 'json'],
    ['/x/c.json', '', 'json'],
    ['/x/c.yaml', undefined, 'yaml'],
    ['/x/c', ECR, 'yaml'],
    ['/x/c.yaml', ' {"a": 1}', 'json'],
  ])('picks the format of %s (%j) as %s', (path, text, format) => {
    expect(formatOf(path, text)).toBe(format);
  });

  it('finds the comments a rewrite would drop', () => {
    expect(hasComments(ECR)).toBe(true);
    expect(hasComments('a: "x # y"\n')).toBe(true); // a false alarm only costs a note
    expect(hasComments('a: b#c\n')).toBe(false);
  });

  it('compares values deeply', () => {
    expect(sameValue({ a: [1, { b: null }] }, { a: [1, { b: null }] })).toBe(true);
    expect(sameValue({ a: [1] }, { a: { 0: 1 } })).toBe(false);
    expect(sameValue({ a: 1 }, { a: 1, b: undefined })).toBe(false);
  });
});
