/**
 * The kubelet's credential-provider protocol, edge side (kubernetes
 * staging/src/k8s.io/kubelet/pkg/apis/credentialprovider/v1/types.go): the request the plugin
 * forwards, and the response, built with only the fields the kubelet defines (it decodes
 * strictly: an unknown field fails the whole response).
 */
import * as z from './zod';
import { deferred } from './zod';

export const API_VERSIONS = [
  'credentialprovider.kubelet.k8s.io/v1',
  'credentialprovider.kubelet.k8s.io/v1beta1',
  'credentialprovider.kubelet.k8s.io/v1alpha1',
] as const;

export const CredentialProviderRequestSchema = deferred(() =>
  z.object({
    apiVersion: z.string(),
    kind: z.string(),
    image: z.string().check(z.maxLength(4096)),
    serviceAccountToken: z.optional(z.string().check(z.maxLength(16 * 1024))),
    serviceAccountAnnotations: z.optional(z.recordOf(z.string().check(z.maxLength(317)), z.string().check(z.maxLength(64 * 1024)))),
  }),
);
export type CredentialProviderRequest = z.infer<typeof CredentialProviderRequestSchema>;

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
