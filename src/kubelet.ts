/**
 * The kubelet's credential-provider protocol, edge side (kubernetes
 * staging/src/k8s.io/kubelet/pkg/apis/credentialprovider/v1/types.go): the request the plugin
 * forwards, and the response, built with only the fields the kubelet defines (it decodes
 * strictly: an unknown field fails the whole response).
 */
import { isObject } from './shape';

export const API_VERSIONS = [
  'credentialprovider.kubelet.k8s.io/v1',
  'credentialprovider.kubelet.k8s.io/v1beta1',
  'credentialprovider.kubelet.k8s.io/v1alpha1',
] as const;

export interface CredentialProviderRequest {
  apiVersion: string;
  kind: string;
  image: string;
  serviceAccountToken?: string;
  serviceAccountAnnotations?: Record<string, string>;
}

/** Longest accepted: an image reference, a token, an annotation key (a DNS-1123 prefix and a name) and value. */
const MAX = { image: 4096, token: 16 * 1024, annotationKey: 317, annotationValue: 64 * 1024 } as const;

const isText = (v: unknown, max = Number.POSITIVE_INFINITY): v is string => typeof v === 'string' && v.length <= max;

/**
 * The request as the plugin forwards it, its known fields only (others are dropped, as the
 * kubelet's own decoder would keep them out of the struct), or undefined when a field has the
 * wrong type or is too long. By hand, not with a schema: it is the first thing a fresh
 * isolate's first request does (bench/FINDINGS.md, 11).
 */
export function parseCredentialProviderRequest(body: unknown): CredentialProviderRequest | undefined {
  if (!isObject(body)) return undefined;
  const { apiVersion, kind, image, serviceAccountToken: token, serviceAccountAnnotations: annotations } = body;
  if (!isText(apiVersion) || !isText(kind) || !isText(image, MAX.image)) return undefined;
  if (token !== undefined && !isText(token, MAX.token)) return undefined;
  const req: CredentialProviderRequest = { apiVersion, kind, image, ...(token !== undefined ? { serviceAccountToken: token } : {}) };
  if (annotations === undefined) return req;
  if (!isObject(annotations)) return undefined;
  const entries = Object.entries(annotations);
  for (const [key, value] of entries) if (key.length > MAX.annotationKey || !isText(value, MAX.annotationValue)) return undefined;
  // fromEntries defines each key as its own property: a `__proto__` key stays data.
  return { ...req, serviceAccountAnnotations: Object.fromEntries(entries) as Record<string, string> };
}

export function isSupportedRequest(req: CredentialProviderRequest): boolean {
  return (API_VERSIONS as readonly string[]).includes(req.apiVersion) && req.kind === 'CredentialProviderRequest';
}

export type CacheKeyType = 'Image' | 'Registry' | 'Global';

/** Go's time.Duration.String() for whole seconds: 3300 → "55m0s", 30 → "30s". */
export function goDuration(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (h) return `${h}h${m}m${s}s`;
  if (m) return `${m}m${s}s`;
  return `${s}s`;
}

/**
 * The kubelet stops using a cached credential this long before it expires, so a pull that
 * starts just before expiry still completes: 10% of the lifetime, at least 30 s, at most 5 min.
 */
export function cacheSeconds(ttl: number): number {
  const margin = Math.min(300, Math.max(30, Math.floor(ttl / 10)));
  return Math.max(0, ttl - margin);
}

export interface CredentialProviderResponse {
  apiVersion: string;
  kind: 'CredentialProviderResponse';
  cacheKeyType: CacheKeyType;
  cacheDuration: string;
  auth: Record<string, { username: string; password: string }>;
}

/** One registry's credentials, which the kubelet may cache for `cacheFor` seconds. */
export function credentialProviderResponse(
  apiVersion: string,
  cacheKeyType: CacheKeyType,
  cacheFor: number,
  registry: string,
  auth: { username: string; password: string },
): CredentialProviderResponse {
  return {
    apiVersion,
    kind: 'CredentialProviderResponse',
    cacheKeyType,
    cacheDuration: goDuration(Math.max(0, Math.floor(cacheFor))),
    auth: { [registry]: { username: auth.username, password: auth.password } },
  };
}
