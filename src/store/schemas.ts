/**
 * The schemas of what the exchange reads from KV, in one module that store/kv.ts loads only to
 * check a value: on every write, and on a read whose seal does not hold (store/seal.ts). The
 * exchange reads what its own writer sealed and so never loads this module, nor zod with it.
 * Values only the admin API reads (history, key confirmations) keep their schemas beside them.
 */
import * as z from '../zod';
import { deferred } from '../zod';

export { RevocationListSchema } from '../policy/revocation-schema';
export { TrustRecordSchema } from '../policy/schema';

/** `trust/v1/name/<name>`: which issuer holds a record. */
export const NameIndexSchema = deferred(() => z.object({ issuer: z.string() }));

/** jose's ExportedJWKSCache: `uat` is when the set was fetched, ms since the epoch. */
export const StoredJwksSchema = deferred(() =>
  z.object({
    uat: z.number(),
    jwks: z.object({ keys: z.array(z.looseObject({ kty: z.string() })) }),
  }),
);

/** `uat`: when discovery ran, ms since the epoch, so a reader can tell how old it is. */
export const StoredDiscoverySchema = deferred(() => z.object({ jwks_uri: z.string(), uat: z.number() }));
