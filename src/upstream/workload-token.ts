/**
 * The workload token: what the edge, as an OpenID Connect provider of its own, signs for a
 * verified workload so that a registry vendor's identity service can trade it for the
 * vendor's own short-lived registry credential. The vendor verifies it against
 * `<EDGE_ISSUER>/.well-known/openid-configuration` and the JWKS it names, like any OIDC token.
 *
 *   header  { alg: ES256 | RS256, kid, typ: "JWT" }
 *   claims  { iss: EDGE_ISSUER, sub, aud, iat, nbf, exp (5 min), jti,
 *             record, cluster, namespace, service_account, service_account_uid }
 *
 * `sub` is `<record>:<namespace>:<service account>` (subject "serviceAccount", the default),
 * or `<record>:<namespace>` (subject "namespace"): one vendor-side trust entry then serves a
 * whole namespace, which vendors that match `sub` exactly (Entra ID, Quay) need for that.
 * Pure, but for the signature.
 */
import { NotConfigured } from '../errors';
import type { Workload } from '../identity/workload';
import { signJws } from '../signing/jws';
import type { KeyRing } from '../signing/keys';

/** How long a workload token lives, seconds: one exchange with a vendor, with room for clock skew. */
export const WORKLOAD_TOKEN_TTL = 300;

export type SubjectScope = 'serviceAccount' | 'namespace';
export type WorkloadTokenAlg = 'ES256' | 'RS256';

export function workloadTokenSubject(w: Pick<Workload, 'record' | 'namespace' | 'serviceAccount'>, scope: SubjectScope): string {
  return scope === 'namespace' ? `${w.record}:${w.namespace}` : `${w.record}:${w.namespace}:${w.serviceAccount.name}`;
}

export interface WorkloadTokenInput {
  edgeIssuer: string;
  audience: string;
  subject: SubjectScope;
  workload: Workload;
  /** Seconds since the epoch. */
  now: number;
}

/** The claims, without time-varying ids: what `explain` shows and what is signed. */
export function workloadTokenClaims(input: WorkloadTokenInput) {
  const { workload: w, now } = input;
  return {
    iss: input.edgeIssuer,
    sub: workloadTokenSubject(w, input.subject),
    aud: input.audience,
    iat: now,
    nbf: now,
    exp: now + WORKLOAD_TOKEN_TTL,
    record: w.record,
    cluster: w.cluster,
    namespace: w.namespace,
    service_account: w.serviceAccount.name,
    service_account_uid: w.serviceAccount.uid,
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
