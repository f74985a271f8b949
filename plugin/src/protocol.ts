/**
 * The kubelet's credential-provider protocol (k8s.io/kubelet/pkg/apis/credentialprovider,
 * versions v1alpha1, v1beta1, v1): checking the request the kubelet wrote on stdin, and
 * checking and trimming the edge's answer so stdout carries exactly what the kubelet's
 * strict decoder accepts. Pure functions, no I/O.
 */
import { parseGoDuration } from './duration';
import { inputError, protocolError } from './errors';

const GROUP = 'credentialprovider.kubelet.k8s.io';
export const API_VERSIONS = [`${GROUP}/v1`, `${GROUP}/v1beta1`, `${GROUP}/v1alpha1`] as const;
export type ApiVersion = (typeof API_VERSIONS)[number];

export const CACHE_KEY_TYPES = ['Image', 'Registry', 'Global'] as const;
export type CacheKeyType = (typeof CACHE_KEY_TYPES)[number];

/**
 * The response fields each version defines (types.go of each version). The three are the
 * same today; the table keeps the projection honest if a version grows a field.
 * (A `serviceAccountTokenCacheType` response field was proposed during v1.34 but shipped
 * as the config's `tokenAttributes.cacheType` instead, so no version carries it.)
 */
export const RESPONSE_FIELDS: Record<ApiVersion, readonly string[]> = {
  [`${GROUP}/v1`]: ['kind', 'apiVersion', 'cacheKeyType', 'cacheDuration', 'auth'],
  [`${GROUP}/v1beta1`]: ['kind', 'apiVersion', 'cacheKeyType', 'cacheDuration', 'auth'],
  [`${GROUP}/v1alpha1`]: ['kind', 'apiVersion', 'cacheKeyType', 'cacheDuration', 'auth'],
} as Record<ApiVersion, readonly string[]>;

export interface CredentialProviderRequest {
  apiVersion: ApiVersion;
  kind: 'CredentialProviderRequest';
  image: string;
  serviceAccountToken?: string;
  serviceAccountAnnotations?: Record<string, string>;
  [field: string]: unknown;
}

export interface AuthConfig {
  username: string;
  password: string;
}

export interface CredentialProviderResponse {
  kind: 'CredentialProviderResponse';
  apiVersion: ApiVersion;
  cacheKeyType: CacheKeyType;
  cacheDuration?: string;
  auth?: Record<string, AuthConfig>;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const isApiVersion = (v: unknown): v is ApiVersion => (API_VERSIONS as readonly unknown[]).includes(v);

/** Quotes a value we did not produce, short and on one line, for an error message. */
export function quote(value: unknown, max = 60): string {
  if (value === undefined) return '(missing)';
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this replaces.
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
  return JSON.stringify(clean.length > max ? `${clean.slice(0, max)}...` : clean);
}

/**
 * Parses and checks the kubelet's request. The request is forwarded to the edge as parsed
 * (fields a newer kubelet adds included: the edge decides about them); only the fields the
 * plugin relies on are checked here.
 */
export function parseRequest(text: string): CredentialProviderRequest {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw inputError('the request on stdin is not valid JSON');
  }
  if (!isObject(value)) throw inputError('the request on stdin is not a JSON object');
  if (value.kind !== 'CredentialProviderRequest') {
    throw inputError(`the request on stdin has kind ${quote(value.kind)}, expected "CredentialProviderRequest"`);
  }
  if (!isApiVersion(value.apiVersion)) {
    throw inputError(`the request on stdin has apiVersion ${quote(value.apiVersion)}, expected one of ${API_VERSIONS.join(', ')}`);
  }
  if (typeof value.image !== 'string' || value.image === '') {
    throw inputError('the request on stdin has no image');
  }
  if (value.serviceAccountToken !== undefined && typeof value.serviceAccountToken !== 'string') {
    throw inputError('the request on stdin has a serviceAccountToken that is not a string');
  }
  const annotations = value.serviceAccountAnnotations;
  if (annotations !== undefined && annotations !== null) {
    if (!isObject(annotations) || Object.values(annotations).some((v) => typeof v !== 'string')) {
      throw inputError('the request on stdin has serviceAccountAnnotations that are not a map of strings');
    }
  }
  return value as CredentialProviderRequest;
}

/**
 * Checks the edge's 200 answer against the request and returns it trimmed to the fields the
 * request's apiVersion defines. Anything the kubelet would reject, or would misread, is a
 * protocol error: it is never forwarded.
 */
export function checkResponse(body: unknown, request: CredentialProviderRequest): CredentialProviderResponse {
  const bad = (what: string) => protocolError(`the edge's response ${what}`);
  if (!isObject(body)) throw bad('is not a JSON object');
  if (body.apiVersion !== request.apiVersion) {
    throw bad(`has apiVersion ${quote(body.apiVersion)}, expected ${quote(request.apiVersion)}`);
  }
  if (body.kind !== 'CredentialProviderResponse') {
    throw bad(`has kind ${quote(body.kind)}, expected "CredentialProviderResponse"`);
  }
  if (!(CACHE_KEY_TYPES as readonly unknown[]).includes(body.cacheKeyType)) {
    throw bad(`has cacheKeyType ${quote(body.cacheKeyType)}, expected one of ${CACHE_KEY_TYPES.join(', ')}`);
  }
  const out: CredentialProviderResponse = {
    kind: 'CredentialProviderResponse',
    apiVersion: request.apiVersion,
    cacheKeyType: body.cacheKeyType as CacheKeyType,
  };
  if (body.cacheDuration !== undefined && body.cacheDuration !== null) {
    const ms = typeof body.cacheDuration === 'string' ? parseGoDuration(body.cacheDuration) : undefined;
    if (ms === undefined) throw bad(`has cacheDuration ${quote(body.cacheDuration)}, which is not a Go duration`);
    if (ms < 0) throw bad(`has a negative cacheDuration ${quote(body.cacheDuration)}`);
    out.cacheDuration = body.cacheDuration as string;
  }
  if (body.auth !== undefined && body.auth !== null) {
    if (!isObject(body.auth)) throw bad('has an auth field that is not a map');
    const auth: Record<string, AuthConfig> = {};
    for (const [key, entry] of Object.entries(body.auth)) {
      // Keys are kubelet matchImages patterns: host[:port][/path], no scheme, no spaces.
      if (key === '' || /[\s]/.test(key) || key.includes('://')) {
        throw bad(`has an auth key ${quote(key)} that is not a registry pattern`);
      }
      // Only the key is quoted: an entry may hold the password.
      if (!isObject(entry) || typeof entry.username !== 'string' || typeof entry.password !== 'string') {
        throw bad(`has an auth entry for ${quote(key)} without string username and password`);
      }
      auth[key] = { username: entry.username, password: entry.password };
    }
    out.auth = auth;
  }
  const allowed = RESPONSE_FIELDS[request.apiVersion];
  for (const field of Object.keys(out)) {
    if (!allowed.includes(field)) delete (out as unknown as Record<string, unknown>)[field];
  }
  return out;
}
