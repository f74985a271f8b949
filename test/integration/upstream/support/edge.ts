/**
 * What the upstream tests share: the kubelet's exchange against a running edge, trust records
 * whose one rule federates with a vendor fake, and reading the answer.
 */
import { edgeAdmin, kubeletRequest, makeCluster, trustRecord, type TestCluster } from '../../../support/kit.mjs';
import type { startEdge } from '../../../support/edge.mjs';

export type Edge = Awaited<ReturnType<typeof startEdge>>;

export interface CredentialAnswer {
  apiVersion: string;
  kind: string;
  cacheKeyType: string;
  cacheDuration: string;
  auth: Record<string, { username: string; password: string }>;
}

export interface Exchanged {
  status: number;
  /** The edge's Retry-After header, if any. */
  retryAfter: string | null;
  /** The body as sent, for "never repeats" checks. */
  text: string;
  body: Partial<CredentialAnswer> & { error?: string; message?: string };
}

/** POST /v1/credentials as the plugin forwards the kubelet's request. */
export async function exchange(edge: Edge, image: string, token: string): Promise<Exchanged> {
  const res = await fetch(`${edge.url}/v1/credentials`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(kubeletRequest(image, token)),
  });
  const text = await res.text();
  return { status: res.status, retryAfter: res.headers.get('retry-after'), text, body: JSON.parse(text) as Exchanged['body'] };
}

/**
 * Registers a record for a fresh cluster whose single rule sends team-a's pulls from
 * `registry` to `upstream` (`rule` overrides fields of that rule, e.g. its ttl). Answers the
 * cluster (to sign service-account tokens with).
 */
export async function federatedRecord(
  edge: Edge,
  name: string,
  registry: string,
  upstream: Record<string, unknown>,
  rule: Record<string, unknown> = {},
): Promise<TestCluster> {
  const cluster = await makeCluster();
  await edgeAdmin(edge).register(
    name,
    trustRecord(cluster, {
      rules: [{ name: 'vendor', namespaces: ['team-a'], registry, repositories: ['**'], upstream, ...rule }],
    }),
  );
  return cluster;
}

/** explain's answer for a granted federated pull: the upstream as the edge describes it. */
export interface ExplainedUpstream {
  type: string;
  vendor: string;
  workloadToken?: { iss: string; sub: string; aud: string; alg: string };
  trust: { vendor: string; where: string; commands?: string[]; document?: unknown; notes?: string[] };
  [field: string]: unknown;
}

/** POST /admin/v1/explain for a service account of `cluster` and `image`; the upstream of the grant. */
export async function explainUpstream(edge: Edge, cluster: TestCluster, serviceAccount: string, image: string): Promise<ExplainedUpstream> {
  const res = await edgeAdmin(edge).explain({ token: await cluster.token({ serviceAccount }), image });
  const body = (await res.json()) as { decision: string; grant?: { upstream?: ExplainedUpstream } };
  if (res.status !== 200 || body.decision !== 'allow' || !body.grant?.upstream) throw new Error(`explain: ${res.status} ${JSON.stringify(body)}`);
  return body.grant.upstream;
}

/** Lets a refusal the edge shares with concurrent requests (for 1 s) expire. */
export const pastSharedRefusal = () => new Promise((r) => setTimeout(r, 1_200));

/** Seconds in a Go duration as the edge writes them (`1h2m3s`, `55m0s`, `7s`). */
export function goSeconds(duration: string): number {
  const m = /^(?:(\d+)h)?(?:(\d+)m)?(\d+)s$/.exec(duration);
  if (!m) throw new Error(`not a Go duration: ${duration}`);
  return Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3]);
}

export const nowSeconds = () => Math.floor(Date.now() / 1000);
