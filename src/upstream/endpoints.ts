/**
 * Vendor endpoint overrides (`endpoint`, `stsEndpoint`, `ecrEndpoint`, `iamEndpoint`,
 * `entraEndpoint`, `registryEndpoint`): where the workload token is sent instead of the
 * vendor's default API host. Two rules:
 *
 * - Shape (the schema, always): an origin and nothing else. No whitespace or control
 *   characters (the URL parser drops some silently, and the value reaches printed commands),
 *   no user info, path, query or fragment (a path or query would be sent along with the
 *   token); https, or http to loopback. Stored normalised: the URL's origin.
 * - Host (`endpointProblems`, on write and again before every vendor call): with
 *   ALLOW_ENDPOINT_OVERRIDES=on (tests, local development; never in wrangler.toml) any such
 *   origin; without it only the vendor's own hosts below, or for ACR and Quay the rule's
 *   registry itself. No metadata address, private range or other host can receive a token.
 */
import { isHttpsOrLoopback } from '../net';
import type { Upstream } from './schema';

/** Printable ASCII only: a space, tab, newline or control character is never part of an endpoint. */
const PRINTABLE_ASCII = /^[\x21-\x7e]+$/;

/** Why `raw` is not an endpoint origin, or undefined. */
export function endpointShapeProblem(raw: string): string | undefined {
  if (!PRINTABLE_ASCII.test(raw)) return 'must not hold whitespace, control or non-ASCII characters';
  const url = URL.parse(raw);
  if (!url || !isHttpsOrLoopback(raw)) return 'must be an https URL (http only for loopback, in tests)';
  if (url.username || url.password || raw.slice(url.protocol.length + 2).includes('@')) return 'must not hold user info';
  // `?` and `#` are refused even empty: the parser would drop them and store a value that differs from the one written.
  if ((url.pathname !== '/' && url.pathname !== '') || raw.includes('?') || raw.includes('#')) return 'must be an origin: no path, query or fragment';
  return undefined;
}

const AWS = String.raw`\.amazonaws\.com(\.cn)?`;
/** The vendors' own API hosts, per override field: what an edge without ALLOW_ENDPOINT_OVERRIDES accepts. */
const VENDOR_HOSTS: Record<string, Record<string, RegExp>> = {
  cloudsmith: { endpoint: /^api\.cloudsmith\.io$/ },
  // Regional and FIPS STS and ECR endpoints, commercial and China partitions.
  ecr: { stsEndpoint: new RegExp(`^sts(-fips)?(\\.[a-z0-9-]+)?${AWS}$`), ecrEndpoint: new RegExp(`^(api\\.)?ecr(-fips)?\\.[a-z0-9-]+${AWS}$`) },
  // Global, regional (`.rep.`) and Private Service Connect (`-<name>.p.`) endpoints.
  gar: {
    stsEndpoint: /^(sts(\.[a-z0-9-]+\.rep)?|sts-[a-z0-9-]+\.p)\.googleapis\.com$/,
    iamEndpoint: /^(iamcredentials(\.[a-z0-9-]+\.rep)?|iamcredentials-[a-z0-9-]+\.p)\.googleapis\.com$/,
  },
  // Entra ID's public and national clouds.
  acr: { entraEndpoint: /^(login\.microsoftonline\.(com|us)|login\.chinacloudapi\.cn|login\.partner\.microsoftonline\.cn)$/ },
  dockerhub: { endpoint: /^identity\.docker\.com$/ },
};
/** Fields whose only host, without ALLOW_ENDPOINT_OVERRIDES, is the rule's registry (the vendor's API is the registry). */
const REGISTRY_HOSTED: Record<string, string> = { acr: 'registryEndpoint', quay: 'endpoint' };

export interface EndpointProblem {
  /** The override's field in the upstream (`stsEndpoint`, ...). */
  field: string;
  message: string;
}

/**
 * The overrides of `upstream` this edge may not send a token to. `registry` is the rule's
 * (host[:port]); `allowAny` is ALLOW_ENDPOINT_OVERRIDES. Pure.
 */
export function endpointProblems(upstream: Upstream, registry: string, allowAny: boolean): EndpointProblem[] {
  const problems: EndpointProblem[] = [];
  const fields = upstream as unknown as Record<string, unknown>;
  const own = VENDOR_HOSTS[upstream.type] ?? {};
  const hosted = REGISTRY_HOSTED[upstream.type];
  for (const field of [...Object.keys(own), ...(hosted ? [hosted] : [])]) {
    const value = fields[field];
    if (typeof value !== 'string') continue;
    const shape = endpointShapeProblem(value);
    if (shape) {
      problems.push({ field, message: shape });
      continue;
    }
    if (allowAny) continue;
    const url = new URL(value);
    const allowed =
      url.protocol === 'https:' && (field === hosted ? url.host === registry || url.host === `${registry}:443` : (own[field]?.test(url.hostname) ?? false));
    if (!allowed) {
      const only = field === hosted ? `https://${registry}, the rule's registry` : "the vendor's own hosts (docs/upstreams.md)";
      problems.push({ field, message: `endpoint overrides are off on this edge (ALLOW_ENDPOINT_OVERRIDES): only ${only}` });
    }
  }
  return problems;
}

/** Every refused override of a record's rules, as `rules.N.upstream.<field>: message` issues (the admin PUT's 400). */
export function recordEndpointIssues(rules: readonly { registry: string; upstream?: Upstream | undefined }[], allowAny: boolean): string[] {
  return rules.flatMap((rule, i) =>
    rule.upstream ? endpointProblems(rule.upstream, rule.registry, allowAny).map((p) => `rules.${i}.upstream.${p.field}: ${p.message}`) : [],
  );
}
