/**
 * The workload token: what the edge, as an OpenID Connect provider of its own, signs for a
 * verified workload so that a registry vendor's identity service can trade it for the
 * vendor's own short-lived registry credential. The vendor verifies it against
 * `<EDGE_ISSUER>/.well-known/openid-configuration` and the JWKS it names, like any OIDC token.
 *
 *   header  { alg: ES256 | RS256, kid, typ: "JWT" }
 *   claims  { iss: EDGE_ISSUER, sub, aud, iat, nbf, exp (5 min), jti,
 *             record, cluster, and namespace, service_account, service_account_uid
 *             (or with subject "rule" only `rule`, with "record" none of these) }
 *
 * `sub`, by the upstream's `subject`:
 *   serviceAccount (default)  `<record>:<namespace>:<service account>`
 *   namespace                 `<record>:<namespace>`
 *   rule                      `<record>:rule=<rule name>`   ('=' is in no Kubernetes name: never a namespace's sub)
 *   record                    `<record>`
 * Coarser subjects let one vendor-side trust entry serve many workloads, which vendors that
 * match `sub` exactly or limit their entries (Entra ID's 20, an AWS trust policy's size) need.
 * With "rule" and "record" (fan-in) the token names no workload at all: no namespace or service
 * account claim, so every workload of the rule (record) sends the vendor the same claims, and
 * the vendor can grant them nothing different. That is what lets them share one vendor
 * credential (federate.ts); the edge's audit line still names the workload.
 * Pure, but for the signature.
 */
import { NotConfigured } from '../errors';
import type { Workload } from '../identity/workload';
import { signJws } from '../signing/jws';
import type { KeyRing } from '../signing/keys';

/** How long a workload token lives, seconds: one exchange with a vendor, with room for clock skew. */
export const WORKLOAD_TOKEN_TTL = 300;

export type SubjectScope = 'serviceAccount' | 'namespace' | 'rule' | 'record';
export type WorkloadTokenAlg = 'ES256' | 'RS256';

/** A subject that names no workload: one vendor-side entry, and one vendor credential, for every workload of the rule or record. */
export const isFanIn = (scope: SubjectScope) => scope === 'rule' || scope === 'record';

export function workloadTokenSubject(w: Pick<Workload, 'record' | 'namespace' | 'serviceAccount'>, scope: SubjectScope, rule: string): string {
  if (scope === 'record') return w.record;
  if (scope === 'rule') return `${w.record}:rule=${rule}`;
  return scope === 'namespace' ? `${w.record}:${w.namespace}` : `${w.record}:${w.namespace}:${w.serviceAccount.name}`;
}

export interface WorkloadTokenInput {
  edgeIssuer: string;
  audience: string;
  subject: SubjectScope;
  /** The name of the rule that granted (a DNS label, unique in its record). */
  rule: string;
  workload: Workload;
  /** Seconds since the epoch. */
  now: number;
}

/** The claims, without time-varying ids: what `explain` shows and what is signed. */
export function workloadTokenClaims(input: WorkloadTokenInput) {
  const { workload: w, now, subject } = input;
  // Fan-in: nothing of the workload, so that the vendor sees one identity (see above).
  const who: { rule?: string; namespace?: string; service_account?: string; service_account_uid?: string } = isFanIn(subject)
    ? subject === 'rule'
      ? { rule: input.rule }
      : {}
    : { namespace: w.namespace, service_account: w.serviceAccount.name, service_account_uid: w.serviceAccount.uid };
  return {
    iss: input.edgeIssuer,
    sub: workloadTokenSubject(w, subject, input.rule),
    aud: input.audience,
    iat: now,
    nbf: now,
    exp: now + WORKLOAD_TOKEN_TTL,
    record: w.record,
    cluster: w.cluster,
    ...who,
  };
}

export async function signWorkloadToken(ring: KeyRing, alg: WorkloadTokenAlg, input: WorkloadTokenInput): Promise<string> {
  // Workload keys only: never the credential key, which registries trust (signing/keys.ts).
  const key = alg === 'RS256' ? ring.rsa : ring.workload;
  if (!key) {
    throw new NotConfigured({
      detail: `EDGE_SIGNING_KEYS has no ${alg} workload key: npm run keys -- rotate ${alg === 'RS256' ? '--rsa' : '--workload'}`,
      message: 'the edge has no key to sign this workload token',
    });
  }
  return signJws(alg, key.privateKey, { kid: key.kid, typ: 'JWT' }, { ...workloadTokenClaims(input), jti: crypto.randomUUID() });
}
