/**
 * `generate-config`: prints a kubelet CredentialProviderConfig (kubelet.config.k8s.io/v1)
 * that runs this plugin in service-account-token mode. Inputs are checked against the
 * kubelet's own rules (pkg/credentialprovider/plugin/config.go,
 * validateCredentialProviderConfig) plus stricter ones where the kubelet's would accept
 * a pattern that can never match, and the output is validated again before it is printed.
 */
import { formatGoDuration, parseGoDuration } from './duration';
import { usageError } from './errors';
import { parseBoolean, parseEdgeUrl, parseFlags, parseOptions } from './options';
import { toYaml } from './yaml';

export const CONFIG_API_VERSION = 'kubelet.config.k8s.io/v1';
export const PROVIDER_API_VERSION = 'credentialprovider.kubelet.k8s.io/v1';
export const CACHE_TYPES = ['ServiceAccount', 'Token'] as const;
/** Service-account tokens for credential providers arrived in 1.33 (alpha); cacheType in 1.34 (beta). */
const FIRST_MINOR_WITH_TOKENS = 33;
const FIRST_MINOR_WITH_CACHE_TYPE = 34;
/** Conservative fallback when the edge's answer carries no cacheDuration. */
const DEFAULT_CACHE_DURATION = '5m';

export const GENERATE_CONFIG_USAGE = `Usage: edge-credential-provider generate-config [flags]
Prints a kubelet CredentialProviderConfig for the edge on stdout.

Required:
  --url URL                     the edge's base URL (https://, or http:// to loopback)
  --match-image PATTERN         repeatable; host[:port][/path], '*' globs one host label
  --audience AUDIENCE           serviceAccountTokenAudience: the audience the edge expects
Optional:
  --name NAME                   provider name = binary file name in the bin dir
                                (default edge-credential-provider)
  --default-cache-duration D    used when the edge sends no cacheDuration (default 5m)
  --cache-type T                ServiceAccount (default) or Token (Kubernetes >= 1.34)
  --require-service-account B   true (default) or false
  --required-annotation KEY     repeatable; service-account annotation the pod must have
  --optional-annotation KEY     repeatable; service-account annotation passed if present
  --kubernetes-version 1.N      kubelet minor version (default 1.34; 1.33 omits cacheType)
  --attempt-timeout D, --budget D, --max-attempts N, --verbose
                                passed on to the plugin as args
  --format yaml|json            output format (default yaml)
`;

const FLAGS = {
  url: { takesValue: true },
  'match-image': { takesValue: true, repeat: true },
  audience: { takesValue: true },
  name: { takesValue: true },
  'default-cache-duration': { takesValue: true },
  'cache-type': { takesValue: true },
  'require-service-account': { takesValue: true },
  'required-annotation': { takesValue: true, repeat: true },
  'optional-annotation': { takesValue: true, repeat: true },
  'kubernetes-version': { takesValue: true },
  'attempt-timeout': { takesValue: true },
  budget: { takesValue: true },
  'max-attempts': { takesValue: true },
  verbose: { takesValue: false },
  format: { takesValue: true },
};

export interface TokenAttributes {
  serviceAccountTokenAudience: string;
  cacheType?: string;
  requireServiceAccount: boolean;
  requiredServiceAccountAnnotationKeys?: string[];
  optionalServiceAccountAnnotationKeys?: string[];
}

export interface ProviderConfig {
  name: string;
  matchImages: string[];
  defaultCacheDuration: string;
  apiVersion: string;
  args?: string[];
  tokenAttributes?: TokenAttributes;
}

export interface CredentialProviderConfig {
  apiVersion: string;
  kind: 'CredentialProviderConfig';
  providers: ProviderConfig[];
}

// A host label with optional '*' globs; the kubelet matches each label with filepath.Match.
const HOST_LABEL = /^(?:[A-Za-z0-9*](?:[A-Za-z0-9*-]*[A-Za-z0-9*])?)$/;
const PATH = /^(?:\/[A-Za-z0-9._-]+)+\/?$/;

/**
 * Why a matchImages entry is unusable, or undefined if it is fine. The kubelet only needs
 * `url.Parse("https://" + pattern)` to succeed; we also refuse what could never match an
 * image: a scheme, a glob in the port or path, empty labels.
 */
export function matchImageProblem(pattern: string): string | undefined {
  if (pattern === '') return 'is empty';
  if (/\s/.test(pattern)) return 'contains whitespace';
  if (pattern.includes('://')) return 'must not have a scheme (write registry.example.com, not https://registry.example.com)';
  const slash = pattern.indexOf('/');
  const hostPort = slash === -1 ? pattern : pattern.slice(0, slash);
  const path = slash === -1 ? '' : pattern.slice(slash);
  if (path !== '' && !PATH.test(path)) return 'has a path that is not /name[/name...] (globs are only allowed in the host)';
  const portMatch = /^(.*?)(?::([^:]*))?$/.exec(hostPort);
  const host = portMatch?.[1] ?? '';
  const port = portMatch?.[2];
  if (port !== undefined) {
    if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) return 'has a port that is not a number from 1 to 65535 (no globs in ports)';
  }
  if (host === '') return 'has no host';
  if (host.length > 253) return 'has a host longer than 253 characters';
  for (const label of host.split('.')) {
    if (!HOST_LABEL.test(label) || label.length > 63) {
      return `has a host label ${JSON.stringify(label)} that is not letters, digits, '-' and '*' globs`;
    }
  }
  return undefined;
}

/** Kubernetes QualifiedName (annotation key) rules, lower-cased as the kubelet does. */
export function annotationKeyProblem(key: string): string | undefined {
  const k = key.toLowerCase();
  const parts = k.split('/');
  if (parts.length > 2) return 'has more than one "/"';
  const name = parts.length === 2 ? (parts[1] ?? '') : (parts[0] ?? '');
  const prefix = parts.length === 2 ? (parts[0] ?? '') : undefined;
  if (prefix !== undefined) {
    if (prefix === '' || prefix.length > 253) return 'has an empty or too long prefix';
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(prefix)) return 'has a prefix that is not a DNS subdomain';
  }
  if (name === '' || name.length > 63) return 'has an empty name or one longer than 63 characters';
  if (!/^[a-z0-9]([-a-z0-9_.]*[a-z0-9])?$/.test(name)) return 'has a name that is not alphanumerics with "-", "_" or "." inside';
  return undefined;
}

/**
 * The kubelet's validateCredentialProviderConfig (feature gate on), plus our stricter
 * matchImages rule. Returns the list of problems; empty means the kubelet will load it.
 */
export function validateCredentialProviderConfig(config: CredentialProviderConfig): string[] {
  const errs: string[] = [];
  if (config.apiVersion !== CONFIG_API_VERSION) errs.push(`apiVersion must be ${CONFIG_API_VERSION}`);
  if (config.kind !== 'CredentialProviderConfig') errs.push('kind must be CredentialProviderConfig');
  if (config.providers.length === 0) errs.push('providers: at least 1 item is required');
  const names = new Set<string>();
  for (const p of config.providers) {
    if (p.name === '' || p.name.includes('/') || p.name.includes(' ') || p.name === '.' || p.name === '..') {
      errs.push(`providers.name ${JSON.stringify(p.name)}: must be a file name (no "/", no spaces, not "." or "..")`);
    }
    if (names.has(p.name)) errs.push(`providers.name ${JSON.stringify(p.name)}: duplicate`);
    names.add(p.name);
    if (p.apiVersion !== PROVIDER_API_VERSION) errs.push(`providers.apiVersion: tokenAttributes needs ${PROVIDER_API_VERSION}`);
    if (p.matchImages.length === 0) errs.push('providers.matchImages: at least 1 item is required');
    for (const m of p.matchImages) {
      const problem = matchImageProblem(m);
      if (problem) errs.push(`providers.matchImages ${JSON.stringify(m)}: ${problem}`);
    }
    const d = parseGoDuration(p.defaultCacheDuration);
    if (d === undefined || d < 0) errs.push('providers.defaultCacheDuration: must be a duration >= 0');
    const t = p.tokenAttributes;
    if (t) {
      if (t.serviceAccountTokenAudience.trim() === '') errs.push('providers.tokenAttributes.serviceAccountTokenAudience: required');
      if (t.cacheType !== undefined && !(CACHE_TYPES as readonly string[]).includes(t.cacheType)) {
        errs.push(`providers.tokenAttributes.cacheType: must be one of ${CACHE_TYPES.join(', ')}`);
      }
      const required = t.requiredServiceAccountAnnotationKeys ?? [];
      const optional = t.optionalServiceAccountAnnotationKeys ?? [];
      if (!t.requireServiceAccount && required.length > 0) {
        errs.push('providers.tokenAttributes.requiredServiceAccountAnnotationKeys: requireServiceAccount cannot be false when annotation keys are required');
      }
      for (const [field, keys] of [
        ['requiredServiceAccountAnnotationKeys', required],
        ['optionalServiceAccountAnnotationKeys', optional],
      ] as const) {
        const seen = new Set<string>();
        for (const k of keys) {
          const problem = annotationKeyProblem(k);
          if (problem) errs.push(`providers.tokenAttributes.${field} ${JSON.stringify(k)}: ${problem}`);
          if (seen.has(k)) errs.push(`providers.tokenAttributes.${field} ${JSON.stringify(k)}: duplicate`);
          seen.add(k);
        }
      }
      const both = required.filter((k) => optional.includes(k));
      if (both.length > 0) errs.push(`providers.tokenAttributes: annotation keys cannot be both required and optional: ${both.join(', ')}`);
    }
  }
  return errs;
}

function parseMinor(text: string): number {
  const m = /^v?1\.(\d+)(?:\.\d+)?$/.exec(text);
  if (!m) throw usageError(`--kubernetes-version must look like 1.34, got ${JSON.stringify(text)}`);
  const minor = Number(m[1]);
  if (minor < FIRST_MINOR_WITH_TOKENS) {
    throw usageError(`Kubernetes ${text} cannot send service-account tokens to credential providers; 1.33 or newer is required`);
  }
  return minor;
}

/** Builds the config object from the command line; throws a usage error listing every problem. */
export function buildConfig(
  argv: readonly string[],
  command = 'generate-config',
): { config: CredentialProviderConfig; minor: number; format: 'yaml' | 'json' } {
  const flags = parseFlags(argv, FLAGS);
  const one = (name: string) => flags.get(name)?.[0];
  const many = (name: string) => flags.get(name) ?? [];

  const missing = ['url', 'match-image', 'audience'].filter((f) => !flags.has(f));
  if (missing.length > 0) throw usageError(`${command} needs ${missing.map((f) => `--${f}`).join(', ')}`);

  const url = one('url') ?? '';
  parseEdgeUrl(url, '--url');
  const minor = parseMinor(one('kubernetes-version') ?? '1.34');
  const format = one('format') ?? 'yaml';
  if (format !== 'yaml' && format !== 'json') throw usageError('--format must be yaml or json');

  const durationText = one('default-cache-duration') ?? DEFAULT_CACHE_DURATION;
  const durationMs = parseGoDuration(durationText);
  if (durationMs === undefined || durationMs < 0 || !Number.isInteger(durationMs)) {
    throw usageError(`--default-cache-duration must be a duration such as "5m" or "0s", got ${JSON.stringify(durationText)}`);
  }

  const cacheType = one('cache-type') ?? 'ServiceAccount';
  if (!(CACHE_TYPES as readonly string[]).includes(cacheType))
    throw usageError(`--cache-type must be ServiceAccount or Token, got ${JSON.stringify(cacheType)}`);
  if (minor < FIRST_MINOR_WITH_CACHE_TYPE && flags.has('cache-type')) {
    throw usageError('--cache-type needs Kubernetes 1.34 or newer (1.33 has no tokenAttributes.cacheType)');
  }

  const args = [`--url=${url}`];
  for (const name of ['attempt-timeout', 'budget', 'max-attempts'] as const) {
    const v = one(name);
    if (v !== undefined) args.push(`--${name}=${v}`);
  }
  if (parseBoolean('--verbose', one('verbose') ?? 'false')) args.push('--verbose'); // --verbose=false is off
  // The plugin's own parser judges the passed-on flags, so a bad value fails here, not on a node.
  parseOptions(args, {});

  const required = many('required-annotation');
  const optional = many('optional-annotation');
  const tokenAttributes: TokenAttributes = {
    serviceAccountTokenAudience: one('audience') ?? '',
    ...(minor >= FIRST_MINOR_WITH_CACHE_TYPE ? { cacheType } : {}),
    requireServiceAccount: parseBoolean('--require-service-account', one('require-service-account') ?? 'true'),
    ...(required.length > 0 ? { requiredServiceAccountAnnotationKeys: required } : {}),
    ...(optional.length > 0 ? { optionalServiceAccountAnnotationKeys: optional } : {}),
  };
  const config: CredentialProviderConfig = {
    apiVersion: CONFIG_API_VERSION,
    kind: 'CredentialProviderConfig',
    providers: [
      {
        name: one('name') ?? 'edge-credential-provider',
        matchImages: many('match-image'),
        defaultCacheDuration: formatGoDuration(durationMs),
        apiVersion: PROVIDER_API_VERSION,
        args,
        tokenAttributes,
      },
    ],
  };
  const problems = validateCredentialProviderConfig(config);
  if (problems.length > 0) throw usageError(`invalid configuration: ${problems.join('; ')}`);
  return { config, minor, format };
}

export function generateConfig(argv: readonly string[]): string {
  const { config, minor, format } = buildConfig(argv);
  if (format === 'json') return `${JSON.stringify(config, null, 2)}\n`;
  const gate =
    minor === FIRST_MINOR_WITH_TOKENS
      ? '# Kubernetes 1.33: enable the alpha feature gate KubeletServiceAccountTokenForCredentialProviders=true on the kubelet.\n'
      : minor === FIRST_MINOR_WITH_CACHE_TYPE
        ? '# Kubernetes 1.34: the feature gate KubeletServiceAccountTokenForCredentialProviders is beta and on by default.\n'
        : '';
  return (
    '# Generated by edge-credential-provider generate-config.\n' +
    '# kubelet flags: --image-credential-provider-config=<this file> --image-credential-provider-bin-dir=<dir holding the binary>\n' +
    gate +
    toYaml(config)
  );
}
