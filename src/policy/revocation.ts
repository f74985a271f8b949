/**
 * Revocations: an administrator's "void what exists now" for one cluster (trust record).
 * Pure: the check both the exchange and the registry token endpoint run (the schema of the
 * stored list and of the admin API's request: policy/revocation-schema.ts, loaded only to check one). Stored by src/store/revocations.ts; managed by the admin API.
 *
 *   serviceAccountUid  { uid }              no credential for, and no credential held by, that account
 *   serviceAccount     { namespace, name }  the same, by name (whatever its uid)
 *   credential         { jti }              one credential, by the id the exchange's audit line logged
 *   issuedBefore       { before }           every credential minted before `before` (seconds)
 *
 * Each entry expires (`expiresAt`, seconds): by then every token and credential it was
 * meant to void has expired on its own. To keep denying an account, change the rule.
 */
import type { Workload } from '../identity/workload';
import type { Revocation } from './revocation-schema';

export type { Revocation };

/** At most this many live entries per record: a list read on every exchange stays small (< 200 KiB). */
export const MAX_REVOCATIONS = 1000;

/** What is being checked: a workload asking for a credential, or a credential being used. */
export interface RevocationSubject {
  workload: Pick<Workload, 'namespace' | 'serviceAccount'>;
  /** Present when a credential is presented (the registry token endpoint). */
  credential?: { jti: string; issuedAt: number };
}

/** The first live entry that voids the subject, or undefined. `now` in seconds. */
export function findRevocation(list: readonly Revocation[], subject: RevocationSubject, now: number): Revocation | undefined {
  const { workload: w, credential } = subject;
  const voids = (r: Revocation): boolean => {
    switch (r.kind) {
      case 'serviceAccountUid':
        return r.uid === w.serviceAccount.uid;
      case 'serviceAccount':
        return r.namespace === w.namespace && r.name === w.serviceAccount.name;
      case 'credential':
        return credential !== undefined && r.jti === credential.jti;
      case 'issuedBefore':
        return credential !== undefined && credential.issuedAt < r.before;
    }
  };
  return list.find((r) => r.expiresAt > now && voids(r));
}

/** For explain and the audit log: which entry, without anything secret (there is nothing secret in one). */
export function describeRevocation(r: Revocation): string {
  switch (r.kind) {
    case 'serviceAccountUid':
      return `${r.id}: service account uid ${r.uid}`;
    case 'serviceAccount':
      return `${r.id}: service account ${r.namespace}/${r.name}`;
    case 'credential':
      return `${r.id}: credential ${r.jti}`;
    case 'issuedBefore':
      return `${r.id}: credentials issued before ${new Date(r.before * 1000).toISOString()}`;
  }
}
