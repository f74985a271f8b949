/**
 * The pure half of `install` and `uninstall`: read a node's CredentialProviderConfig (JSON,
 * or YAML through yaml-read.ts), check it as the kubelet loads it, put in, replace or take
 * out one provider by name, and render the result. Files are install.ts's business.
 *
 * Our own entry is checked strictly by generate-config's rules (config.ts); the other
 * providers only by the kubelet's (pkg/credentialprovider/plugin/config.go), so an ECR,
 * GCP, ACR or JFrog entry in an older shape (v1alpha1, no tokenAttributes) is kept as it is.
 */
import { CACHE_TYPES, CONFIG_API_VERSION, PROVIDER_API_VERSION, type ProviderConfig } from './config';
import { parseGoDuration } from './duration';
import { inputError } from './errors';
import { toYaml } from './yaml';
import { parseYaml, YamlError } from './yaml-read';

export type Format = 'json' | 'yaml';
export type Provider = Record<string, unknown>;

export interface NodeConfig {
  apiVersion: string;
  kind: string;
  providers: Provider[];
}

/** The provider apiVersions the kubelet knows (plugin.go, `apiVersions`). */
const PROVIDER_API_VERSIONS = ['credentialprovider.kubelet.k8s.io/v1alpha1', 'credentialprovider.kubelet.k8s.io/v1beta1', PROVIDER_API_VERSION];
/** The kubelet decodes strictly: any other top-level field stops it. */
const TOP_LEVEL_FIELDS = ['apiVersion', 'kind', 'providers'];
/** First line of every YAML file install writes; not counted as a comment of the operator's. */
export const YAML_HEADER = '# Written by edge-credential-provider install: other providers are kept, comments are not.';

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const looksLikeJson = (text: string) => /^\s*[{[]/.test(text);

/** JSON if the text is JSON (or, for a file with nothing in it yet, if its name ends in .json). */
export function formatOf(path: string, text: string | undefined): Format {
  if (text !== undefined && text.trim() !== '') return looksLikeJson(text) ? 'json' : 'yaml';
  return path.endsWith('.json') ? 'json' : 'yaml';
}

/** True when a YAML text holds a comment that install would drop (its own header aside). */
export function hasComments(text: string): boolean {
  return text.split('\n').some((line) => line !== YAML_HEADER && /(?:^|\s)#/.test(line));
}

/**
 * Reads a config file's text as the kubelet would load it; undefined when it holds nothing
 * (empty, or comments only). Throws a one-line refusal naming `where` otherwise.
 */
export function readConfig(text: string, where: string): NodeConfig | undefined {
  const refuse = (why: string) => inputError(`${where} ${why}`);
  let doc: unknown;
  try {
    doc = looksLikeJson(text) ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    if (err instanceof YamlError) throw refuse(`is YAML install cannot read safely: ${err.message}`);
    if (err instanceof SyntaxError) throw refuse(`is not valid JSON: ${err.message}`);
    throw err;
  }
  if (doc === undefined || doc === null) return undefined;
  if (!isMap(doc)) throw refuse('is not a CredentialProviderConfig (not a mapping)');
  const unknown = Object.keys(doc).filter((k) => !TOP_LEVEL_FIELDS.includes(k));
  if (unknown.length > 0) throw refuse(`has fields the kubelet does not accept: ${unknown.join(', ')}`);
  if (doc.kind !== 'CredentialProviderConfig') throw refuse(`has kind ${JSON.stringify(doc.kind)}, not "CredentialProviderConfig"`);
  if (doc.apiVersion !== CONFIG_API_VERSION) {
    throw refuse(
      `has apiVersion ${JSON.stringify(doc.apiVersion)}; install writes ${CONFIG_API_VERSION} only (tokenAttributes needs it): convert the file first`,
    );
  }
  const providers = doc.providers ?? [];
  if (!Array.isArray(providers) || !providers.every(isMap)) throw refuse('has providers that are not a list of mappings');
  return { apiVersion: CONFIG_API_VERSION, kind: 'CredentialProviderConfig', providers };
}

/**
 * What the kubelet's validateCredentialProviderConfig would refuse in these providers (its
 * decoder's types included), for a kubelet of minor version `minor`.
 */
export function kubeletProblems(providers: readonly Provider[], minor: number): string[] {
  const errs: string[] = [];
  const names = new Set<unknown>();
  for (const p of providers) {
    const at = `provider ${JSON.stringify(p.name)}`;
    const { name, tokenAttributes: t } = p;
    if (typeof name !== 'string' || /[/ ]/.test(name) || name === '.' || name === '..') errs.push(`${at}: name must be a file name`);
    else if (names.has(name)) errs.push(`${at}: the name is defined twice`);
    names.add(name);
    if (!PROVIDER_API_VERSIONS.includes(p.apiVersion as string)) errs.push(`${at}: apiVersion must be one of ${PROVIDER_API_VERSIONS.join(', ')}`);
    const images = p.matchImages;
    if (!Array.isArray(images) || images.length === 0 || !images.every((m) => typeof m === 'string')) {
      errs.push(`${at}: matchImages must be a list of at least 1 string`);
    }
    const duration = typeof p.defaultCacheDuration === 'string' ? parseGoDuration(p.defaultCacheDuration) : undefined;
    if (duration === undefined || duration < 0) errs.push(`${at}: defaultCacheDuration must be a duration >= 0 written as a string ("0s", "12h")`);
    if (t === undefined || t === null) continue;
    if (!isMap(t)) {
      errs.push(`${at}: tokenAttributes must be a mapping`);
      continue;
    }
    if (typeof t.serviceAccountTokenAudience !== 'string' || t.serviceAccountTokenAudience === '') {
      errs.push(`${at}: tokenAttributes.serviceAccountTokenAudience is required`);
    }
    if (typeof t.requireServiceAccount !== 'boolean') errs.push(`${at}: tokenAttributes.requireServiceAccount must be true or false`);
    if (p.apiVersion !== PROVIDER_API_VERSION) errs.push(`${at}: tokenAttributes needs apiVersion ${PROVIDER_API_VERSION}`);
    const required = t.requiredServiceAccountAnnotationKeys;
    if (t.requireServiceAccount === false && Array.isArray(required) && required.length > 0) {
      errs.push(`${at}: requireServiceAccount cannot be false when requiredServiceAccountAnnotationKeys is set`);
    }
    if (minor >= 34 && !(CACHE_TYPES as readonly unknown[]).includes(t.cacheType)) {
      errs.push(`${at}: tokenAttributes.cacheType must be ${CACHE_TYPES.join(' or ')} (Kubernetes >= 1.34)`);
    }
  }
  return errs;
}

/** Deep equality of parsed values; key order does not matter. */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null || Array.isArray(a) !== Array.isArray(b)) return false;
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  const keys = Object.keys(x);
  return keys.length === Object.keys(y).length && keys.every((k) => Object.hasOwn(y, k) && sameValue(x[k], y[k]));
}

/**
 * Puts `ours` in place of the provider of the same name (same position), or last. The
 * install flags cannot express `env`, so an `env` already on our entry (a private CA, a
 * proxy) is kept. `changed` is false when the result means the same as `current`.
 */
export function upsertProvider(current: NodeConfig | undefined, ours: ProviderConfig): { config: NodeConfig; changed: boolean } {
  const providers = [...(current?.providers ?? [])];
  const at = providers.findIndex((p) => p.name === ours.name);
  const old = providers[at];
  const entry: Provider = { ...ours };
  if (old?.env !== undefined) entry.env = old.env;
  if (at === -1) providers.push(entry);
  else providers[at] = entry;
  return { config: { apiVersion: CONFIG_API_VERSION, kind: 'CredentialProviderConfig', providers }, changed: !sameValue(old, entry) };
}

/** The config without the provider `name`, or undefined when it has no such provider. */
export function removeProvider(current: NodeConfig | undefined, name: string): NodeConfig | undefined {
  const providers = current?.providers.filter((p) => p.name !== name) ?? [];
  return current && providers.length < current.providers.length ? { ...current, providers } : undefined;
}

export function renderConfig(config: NodeConfig, format: Format): string {
  return format === 'json' ? `${JSON.stringify(config, null, 2)}\n` : `${YAML_HEADER}\n${toYaml(config)}`;
}
