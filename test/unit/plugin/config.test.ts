import { describe, expect, it } from 'vitest';
import {
  annotationKeyProblem,
  buildConfig,
  generateConfig,
  matchImageProblem,
  validateCredentialProviderConfig,
  type CredentialProviderConfig,
} from '../../../plugin/src/config';
import { failureOf } from './support/failure';

const REQUIRED = ['--url', 'https://edge.example.com', '--match-image', 'registry.example.com', '--audience', 'edge.example.com'];

describe('matchImageProblem', () => {
  it.each([
    'registry.example.com',
    '*.registry.example.com',
    'reg*.example.com',
    'registry.example.com:5000',
    'registry.example.com/team-a',
    '127.0.0.1:5000/team-a/app',
    'localhost',
  ])('accepts %s', (pattern) => {
    expect(matchImageProblem(pattern)).toBeUndefined();
  });

  it.each([
    ['an empty pattern', '', /empty/],
    ['whitespace', 'registry .example.com', /whitespace/],
    ['a scheme', 'https://registry.example.com', /scheme/],
    ['a glob in the path', 'registry.example.com/team-*', /path/],
    ['an empty path segment', 'registry.example.com//app', /path/],
    ['a glob in the port', 'registry.example.com:*', /port/],
    ['port 0', 'registry.example.com:0', /port/],
    ['port 65536', 'registry.example.com:65536', /port/],
    ['no host before the port', ':5000', /no host/],
    ['an empty host label', 'registry..example.com', /host label/],
    ['a label that starts with a dash', '-registry.example.com', /host label/],
    ['a label over 63 characters', `${'a'.repeat(64)}.example.com`, /host label/],
  ])('refuses %s', (_what, pattern, problem) => {
    expect(matchImageProblem(pattern)).toMatch(problem);
  });
});

describe('annotationKeyProblem', () => {
  it.each(['role', 'edge.example.com/role', 'Edge.Example.com/Role', 'a_b.c-d', `${'n'.repeat(63)}`])('accepts %s', (key) => {
    expect(annotationKeyProblem(key)).toBeUndefined();
  });

  it.each([
    ['two slashes', 'a/b/c', /more than one/],
    ['an empty prefix', '/role', /prefix/],
    ['a prefix that is not a DNS subdomain', 'edge_example/role', /prefix/],
    ['an empty name', 'edge.example.com/', /empty name/],
    ['a name over 63 characters', 'n'.repeat(64), /empty name or one longer/],
    ['a name that starts with a dash', '-role', /alphanumerics/],
    ['a space', 'the role', /alphanumerics/],
  ])('refuses %s', (_what, key, problem) => {
    expect(annotationKeyProblem(key)).toMatch(problem);
  });
});

describe('validateCredentialProviderConfig', () => {
  const valid = (): CredentialProviderConfig => buildConfig(REQUIRED).config;
  type Spoil = (c: CredentialProviderConfig) => void;
  const provider = (c: CredentialProviderConfig) => c.providers[0]!;
  const tokens = (c: CredentialProviderConfig) => provider(c).tokenAttributes!;

  it('finds nothing wrong with the config generate-config builds', () => {
    expect(validateCredentialProviderConfig(valid())).toEqual([]);
  });

  it.each<[string, Spoil, RegExp]>([
    [
      'another config apiVersion',
      (c) => {
        c.apiVersion = 'kubelet.config.k8s.io/v1beta1';
      },
      /^apiVersion must be/,
    ],
    [
      'no providers',
      (c) => {
        c.providers = [];
      },
      /at least 1 item/,
    ],
    [
      'a provider name with a slash',
      (c) => {
        provider(c).name = 'bin/plugin';
      },
      /must be a file name/,
    ],
    [
      'a provider name of ".."',
      (c) => {
        provider(c).name = '..';
      },
      /must be a file name/,
    ],
    [
      'two providers of one name',
      (c) => {
        c.providers.push({ ...provider(c) });
      },
      /duplicate/,
    ],
    [
      'a provider apiVersion without tokenAttributes',
      (c) => {
        provider(c).apiVersion = 'credentialprovider.kubelet.k8s.io/v1beta1';
      },
      /tokenAttributes needs/,
    ],
    [
      'no matchImages',
      (c) => {
        provider(c).matchImages = [];
      },
      /matchImages: at least 1/,
    ],
    [
      'a matchImages entry with a scheme',
      (c) => {
        provider(c).matchImages = ['https://r.example.com'];
      },
      /scheme/,
    ],
    [
      'a negative defaultCacheDuration',
      (c) => {
        provider(c).defaultCacheDuration = '-1m';
      },
      /defaultCacheDuration/,
    ],
    [
      'a blank audience',
      (c) => {
        tokens(c).serviceAccountTokenAudience = ' ';
      },
      /serviceAccountTokenAudience: required/,
    ],
    [
      'an unknown cacheType',
      (c) => {
        tokens(c).cacheType = 'Pod';
      },
      /cacheType: must be one of/,
    ],
    [
      'required annotations without requireServiceAccount',
      (c) => {
        tokens(c).requireServiceAccount = false;
        tokens(c).requiredServiceAccountAnnotationKeys = ['a'];
      },
      /requireServiceAccount cannot be false/,
    ],
    [
      'a key both required and optional',
      (c) => {
        tokens(c).requiredServiceAccountAnnotationKeys = ['a'];
        tokens(c).optionalServiceAccountAnnotationKeys = ['a'];
      },
      /both required and optional: a/,
    ],
    [
      'a repeated annotation key',
      (c) => {
        tokens(c).optionalServiceAccountAnnotationKeys = ['a', 'a'];
      },
      /duplicate/,
    ],
    [
      'an invalid annotation key',
      (c) => {
        tokens(c).optionalServiceAccountAnnotationKeys = ['a/b/c'];
      },
      /more than one/,
    ],
  ])('reports %s', (_what, spoil, problem) => {
    const config = valid();
    spoil(config);
    expect(validateCredentialProviderConfig(config).join('\n')).toMatch(problem);
  });
});

describe('buildConfig', () => {
  it('builds one provider that passes the URL to the plugin and asks for service-account tokens', () => {
    expect(buildConfig(REQUIRED)).toEqual({
      minor: 34,
      format: 'yaml',
      config: {
        apiVersion: 'kubelet.config.k8s.io/v1',
        kind: 'CredentialProviderConfig',
        providers: [
          {
            name: 'edge-credential-provider',
            matchImages: ['registry.example.com'],
            defaultCacheDuration: '5m0s',
            apiVersion: 'credentialprovider.kubelet.k8s.io/v1',
            args: ['--url=https://edge.example.com'],
            tokenAttributes: { serviceAccountTokenAudience: 'edge.example.com', cacheType: 'ServiceAccount', requireServiceAccount: true },
          },
        ],
      },
    });
  });

  const provider = (extra: string[]) => buildConfig([...REQUIRED, ...extra]).config.providers[0];

  it('leaves out cacheType for a 1.33 kubelet, whose strict decoder does not know it', () => {
    expect(provider(['--kubernetes-version', '1.33'])?.tokenAttributes).not.toHaveProperty('cacheType');
  });

  it.each([
    ['cacheType Token when asked', ['--cache-type', 'Token'], { tokenAttributes: { cacheType: 'Token' } }],
    ['the default cache duration in Go form', ['--default-cache-duration', '90s'], { defaultCacheDuration: '1m30s' }],
    [
      'the plugin flags as args',
      ['--budget', '30s', '--max-attempts', '2', '--verbose'],
      {
        args: ['--url=https://edge.example.com', '--budget=30s', '--max-attempts=2', '--verbose'],
      },
    ],
    ['every match-image in order', ['--match-image', '*.registry.example.com'], { matchImages: ['registry.example.com', '*.registry.example.com'] }],
    [
      'annotation keys and requireServiceAccount',
      ['--required-annotation', 'a.example.com/x', '--optional-annotation', 'y'],
      {
        tokenAttributes: {
          requireServiceAccount: true,
          requiredServiceAccountAnnotationKeys: ['a.example.com/x'],
          optionalServiceAccountAnnotationKeys: ['y'],
        },
      },
    ],
  ])('writes %s', (_what, extra, expected) => {
    expect(provider(extra)).toMatchObject(expected);
  });

  it.each([
    ['no flags at all', []],
    ['no audience', REQUIRED.slice(0, 4)],
    ['a plain http URL to a remote edge', ['--url', 'http://edge.example.com', ...REQUIRED.slice(2)]],
    ['a kubelet older than 1.33', [...REQUIRED, '--kubernetes-version', '1.32']],
    ['a version that is not 1.N', [...REQUIRED, '--kubernetes-version', '2.0']],
    ['a cache type for 1.33', [...REQUIRED, '--kubernetes-version', '1.33', '--cache-type', 'Token']],
    ['an unknown cache type', [...REQUIRED, '--cache-type', 'Pod']],
    ['an unknown format', [...REQUIRED, '--format', 'toml']],
    ['a cache duration that is not a Go duration', [...REQUIRED, '--default-cache-duration', '5 minutes']],
    ['a sub-millisecond cache duration', [...REQUIRED, '--default-cache-duration', '1.5ms']],
    ['a plugin flag the plugin would refuse', [...REQUIRED, '--budget', '2m']],
    ['a match-image with a scheme', [...REQUIRED, '--match-image', 'https://r.example.com']],
    ['required annotations without a service account', [...REQUIRED, '--require-service-account', 'false', '--required-annotation', 'a']],
  ])('refuses %s as a usage error (exit 2)', (_what, argv) => {
    expect(failureOf(() => buildConfig(argv))).toBe('usage 2');
  });
});

describe('generateConfig', () => {
  it('prints JSON that is exactly the built config', () => {
    expect(JSON.parse(generateConfig([...REQUIRED, '--format', 'json']))).toEqual(buildConfig(REQUIRED).config);
  });

  it.each([
    ['1.33', /enable the alpha feature gate/],
    ['1.34', /beta and on by default/],
  ])('prints YAML for Kubernetes %s with a note on the feature gate', (version, note) => {
    const yaml = generateConfig([...REQUIRED, '--kubernetes-version', version]);
    expect(yaml).toMatch(note);
    expect(yaml).toContain('kind: "CredentialProviderConfig"');
  });

  it('prints no feature-gate note for Kubernetes 1.35, where the gate needs no mention', () => {
    expect(generateConfig([...REQUIRED, '--kubernetes-version', '1.35'])).not.toMatch(/feature gate/);
  });
});
