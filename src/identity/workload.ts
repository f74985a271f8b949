/**
 * The workload: who is asking, as proven by a verified service-account token (or, at the
 * registry token endpoint, by an edge credential minted from one). One shape for
 * verification, policy, minting, explain and the audit log.
 */
export interface NameUid {
  name: string;
  uid: string;
}

export interface Workload {
  /** The cluster's service-account issuer (`iss`), exactly as its trust record names it. */
  cluster: string;
  /** The trust record that vouches for the cluster (its name, a DNS label). */
  record: string;
  namespace: string;
  serviceAccount: NameUid;
  pod?: NameUid;
  node?: NameUid;
  /** When the proof of identity expires, seconds since the epoch. */
  expiresAt: number;
}

/**
 * A registry token's subject, which the registry logs as the user:
 * `<record>/<namespace>/<service account>`. Unambiguous across clusters (record names are
 * unique on an edge; none of the three parts can hold '/' or ':'), and never equal to a
 * workload token's `sub` (`<record>[:<namespace>[:<service account>]]` or `<record>:rule=<rule>`,
 * upstream/workload-token.ts: none holds '/'),
 * so that no vendor-side trust entry written for a workload can match a registry token.
 */
export function registryTokenSubject(w: Pick<Workload, 'record' | 'namespace' | 'serviceAccount'>): string {
  return `${w.record}/${w.namespace}/${w.serviceAccount.name}`;
}
