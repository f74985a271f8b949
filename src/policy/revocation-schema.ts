/**
 * The schemas of revocations (policy/revocation.ts): the stored list, and the admin API's
 * request. Apart from the check, so that the exchange, which reads lists its own writer sealed
 * (store/seal.ts), does not load zod; store/kv.ts loads this module to check a list it did not seal.
 */
import * as z from '../zod';
import { deferred } from '../zod';
import { DNS_LABEL } from '../grammar';
import { MAX_REVOCATIONS } from './revocation';

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
