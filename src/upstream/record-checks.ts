/**
 * Checks on a record's upstreams that the admin API runs when a record is written, beyond its
 * schema: they depend on the edge's settings (endpoint overrides), or they tighten what older
 * records may hold, and a stored record must keep parsing (a record that no longer parses would
 * refuse every workload of its cluster). What reaches a vendor is checked again at exchange
 * time (federate.ts). Pure.
 *
 * - Endpoint overrides: endpoints.ts.
 * - A static upstream reads only bindings named `UPSTREAM_SECRET_*`: a naming convention that no
 *   binding of the edge's own, and no binding added later for another purpose, falls under.
 * - A Harbor rule hands its workload token to the Harbor server as the password. A vendor that
 *   does not check `aud` (Quay) would take that same token if a rule of the same record trusts
 *   the same `sub` there: the Harbor server could trade it for the Quay robot's credential.
 */
import { recordEndpointIssues } from './endpoints';
import type { Upstream } from './vendors';

/** The prefix every `static` upstream's binding name must have. */
export const STATIC_SECRET_PREFIX = 'UPSTREAM_SECRET_';
export const isStaticSecretName = (name: string) => name.startsWith(STATIC_SECRET_PREFIX) && name.length > STATIC_SECRET_PREFIX.length;

/** Vendors whose federation entries match issuer and subject only, whatever the token's `aud`. */
const AUD_BLIND: readonly Upstream['type'][] = ['quay'];

export interface RuleUpstream {
  name: string;
  namespaces: readonly string[];
  serviceAccounts: readonly string[];
  registry: string;
  upstream?: Upstream | undefined;
}

/**
 * Whether two name globs (`*` = any run of characters) match a common name. Pure, over the
 * pattern pair's positions (at most 253 x 253): no name is enumerated.
 */
export function globsOverlap(a: string, b: string): boolean {
  const seen = new Set<number>();
  const width = b.length + 1;
  const go = (i: number, j: number): boolean => {
    if (i === a.length && j === b.length) return true;
    const key = i * width + j;
    if (seen.has(key)) return false;
    seen.add(key);
    const ca = a[i];
    const cb = b[j];
    if (ca === '*' && (go(i + 1, j) || (j < b.length && go(i, j + 1)))) return true;
    if (cb === '*' && (go(i, j + 1) || (i < a.length && go(i + 1, j)))) return true;
    return ca !== undefined && ca !== '*' && ca === cb && go(i + 1, j + 1);
  };
  return go(0, 0);
}

const anyOverlap = (xs: readonly string[], ys: readonly string[]) => xs.some((x) => ys.some((y) => globsOverlap(x, y)));

/** Whether some workload could get the same workload-token `sub` under both rules (same record). */
function sameSubject(a: RuleUpstream, b: RuleUpstream): boolean {
  if (!a.upstream || !b.upstream || a.upstream.type === 'static' || b.upstream.type === 'static') return false;
  // Subjects of different shapes never match (`<record>`, `<record>:rule=<rule>`, `<record>:<ns>`, `<record>:<ns>:<sa>`).
  if (a.upstream.subject !== b.upstream.subject) return false;
  if (a.upstream.subject === 'record') return true;
  if (a.upstream.subject === 'rule') return a.name === b.name; // rule names are unique in a record
  if (!anyOverlap(a.namespaces, b.namespaces)) return false;
  return a.upstream.subject === 'namespace' || anyOverlap(a.serviceAccounts, b.serviceAccounts);
}

/** Every problem of a record's upstreams, as `rules.N.<path>: message` issues (the admin PUT's 400). */
export function upstreamWriteIssues(rules: readonly RuleUpstream[], allowEndpointOverrides: boolean): string[] {
  const issues = recordEndpointIssues(rules, allowEndpointOverrides);
  rules.forEach((rule, i) => {
    const u = rule.upstream;
    if (u?.type === 'static' && !isStaticSecretName(u.secret)) {
      issues.push(`rules.${i}.upstream.secret: must be a binding named ${STATIC_SECRET_PREFIX}<NAME> (wrangler secret put ${STATIC_SECRET_PREFIX}...)`);
    }
    if (u?.type !== 'harbor') return;
    const blind = rules.find((other) => other.upstream && AUD_BLIND.includes(other.upstream.type) && sameSubject(rule, other));
    if (blind) {
      issues.push(
        `rules.${i}.upstream: the Harbor server receives this rule's workload tokens, and rule "${blind.name}" (${blind.upstream!.type}, which does not check aud) ` +
          'trusts the same subjects: give one of them another "subject" (e.g. "rule"), or narrow them apart, or use separate records',
      );
    }
  });
  return issues;
}
