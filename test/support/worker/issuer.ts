/**
 * The fixture kit (test/support/kit.mjs) bound to the Worker under test in workerd: clusters
 * with real keys and tokens, kubelet requests, trust records, and the admin API through
 * `exports.default.fetch`.
 */
import { env, exports } from 'cloudflare:workers';
import { adminClient, AUDIENCE, kubeletRequest, makeCluster, REGISTRY, trustRecord, type TestCluster, type TokenOptions } from '../kit.mjs';

export { AUDIENCE, REGISTRY, type TokenOptions };
export type TestIssuer = TestCluster;
export const ADMIN = () => ({ authorization: `Bearer ${env.ADMIN_TOKEN}` });

export const makeIssuer = (issuer?: string): Promise<TestIssuer> => makeCluster(issuer ? { issuer } : {});
export const saToken = (iss: TestIssuer, opts: TokenOptions = {}): Promise<string> => iss.token(opts);
export const defaultRecord = trustRecord;

export function now(): number {
  return Math.floor(Date.now() / 1000);
}

export function edgeFetch(path: string, init?: RequestInit): Promise<Response> {
  return exports.default.fetch(new Request(`https://edge.test${path}`, init));
}

export const admin = () => adminClient(edgeFetch, env.ADMIN_TOKEN!);
export const putRecord = (name: string, record: unknown): Promise<Response> => admin().put(name, record);

/** A kubelet request for `image` (default: team-a/app on the test registry), with extra fields merged in. */
export function credentialRequest(token: string | undefined, image = `${REGISTRY}/team-a/app:v1`, extra: Record<string, unknown> = {}) {
  return { ...kubeletRequest(image, token), ...extra };
}

export function postCredentials(body: unknown): Promise<Response> {
  return edgeFetch('/v1/credentials', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}
