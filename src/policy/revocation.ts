/**
 * Revocations: an administrator's "void what exists now" for one cluster (trust record).
 * Pure: the schema of the stored list and the check both the exchange and the registry
 * token endpoint run. Stored by src/store/revocations.ts; managed by the admin API.
 *
 *   serviceAccountUid  { uid }              no credential for, and no credential held by, that account
 *   serviceAccount     { namespace, name }  the same, by name (whatever its uid)
 *   credential         { jti }              one credential, by the id the exchange's audit line logged
 *   issuedBefore       { before }           every credential minted before `before` (seconds)
 *
 * Each entry expires (`expiresAt`, seconds): by then every token and credential it was
 * meant to void has expired on its own. To keep denying an account, change the rule.
 */
import * as z from '../zod';
import { deferred } from '../zod';
import { DNS_LABEL } from '../grammar';
import type { Workload } from '../identity/workload';

/** At most this many live entries per record: a list read on every exchange stays small (< 200 KiB). */
export const MAX_REVOCATIONS = 1000;

/** Fields every kind of entry has (built with the schema that spreads them). */
const entryBase = () => ({
  /** Stable id, for removal. */
  id: z.string().check(z.regex(/^rv-[a-z0-9]{1,32}$/)),
  /** Seconds since the epoch. */
  createdAt: z.number().check(z.int()),
  /** Seconds since the epoch; the entry is ignored and pruned after it. */
  expiresAt: z.number().check(z.int()),
  reason: revocationReason(),
});

/** Free text for the operator, at most 200 characters: on the stored entry and in the admin API's request. */
export const revocationReason = () => z.optional(z.string().check(z.maxLength(200)));

/**
 * What each kind of entry names, as the stored entry and the admin API's request both hold it
 * (routes/admin-revocations.ts builds its request schema from these, so the two cannot drift).
 */
export const revocationTargets = () => ({
  serviceAccountUid: { kind: z.literal('serviceAccountUid'), uid: z.string().check(z.minLength(1), z.maxLength(64)) },
  serviceAccount: {
    kind: z.literal('serviceAccount'),
    namespace: z.string().check(z.minLength(1), z.maxLength(63)),
    name: z.string().check(z.minLength(1), z.maxLength(253)),
  },
  credential: { kind: z.literal('credential'), jti: z.string().check(z.minLength(1), z.maxLength(64)) },
  issuedBefore: { kind: z.literal('issuedBefore'), before: z.number().check(z.int()) },
});

/**
 * Kubernetes' own grammar (apimachinery validation): a namespace is a DNS-1123 label, a
 * service account name a DNS-1123 subdomain, a uid a lowercase UUID as the API server writes
 * it. A revocation outside it can never match a token (`Team-A`, a trailing space, a
 * zero-width character, an uppercase uid), so an administrator who typed one would believe an
 * account revoked that is not: the admin API refuses it (400). Stored entries are read with
 * the looser shape above, so that a list written before this check still parses.
 */
const DNS1123_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const KUBERNETES_UID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** revocationTargets, with the account targets held to Kubernetes' grammar: what the admin API takes. */
export const revocationRequestTargets = () => {
  const t = revocationTargets();
  return {
    ...t,
    serviceAccountUid: { ...t.serviceAccountUid, uid: z.string().check(z.regex(KUBERNETES_UID, 'must be a Kubernetes uid: a lowercase UUID')) },
    serviceAccount: {
      ...t.serviceAccount,
      namespace: z.string().check(z.regex(DNS_LABEL, 'must be a Kubernetes namespace: a DNS-1123 label (lowercase letters, digits, "-", at most 63)')),
      name: z
        .string()
        .check(z.regex(DNS1123_SUBDOMAIN, 'must be a service account name: a DNS-1123 subdomain (lowercase letters, digits, "-" and ".", at most 253)')),
    },
  };
};

export const RevocationSchema = deferred(() => {
  const t = revocationTargets();
  return z.discriminatedUnion('kind', [
    z.strictObject({ ...t.serviceAccountUid, ...entryBase() }),
    z.strictObject({ ...t.serviceAccount, ...entryBase() }),
    z.strictObject({ ...t.credential, ...entryBase() }),
    z.strictObject({ ...t.issuedBefore, ...entryBase() }),
  ]);
});
export type Revocation = z.infer<typeof RevocationSchema>;

export const RevocationListSchema = deferred(() => z.strictObject({ items: z.array(RevocationSchema).check(z.maxLength(MAX_REVOCATIONS)) }));

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
