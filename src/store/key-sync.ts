/**
 * When a record's inline keys were last confirmed, and by whom: `confirmed/v1/<name>`, written
 * by the admin writer (a push through PUT /v1/keys, changed or not; an admin PUT that creates
 * the record or changes its inline keys), read by explain and GET /admin/v1/issuers/:name/keys.
 * Apart from the record, so that a push that changes nothing writes no record version and no
 * history entry. Never read on the pull path.
 */
import * as z from '../zod';
import { deferred } from '../zod';
import type { KeyConfirmation } from '../policy/key-sync';
import { keys, readJson, remove, writeJson } from './kv';

const ConfirmationSchema = deferred(() => z.strictObject({ at: z.number().check(z.int()), by: z.string().check(z.maxLength(512)) }));

export function readKeyConfirmation(kv: KVNamespace, name: string): Promise<KeyConfirmation | undefined> {
  return readJson(kv, keys.keysConfirmed(name), ConfirmationSchema);
}

export function writeKeyConfirmation(kv: KVNamespace, name: string, confirmation: KeyConfirmation): Promise<void> {
  return writeJson(kv, keys.keysConfirmed(name), ConfirmationSchema, confirmation);
}

export function removeKeyConfirmation(kv: KVNamespace, name: string): Promise<void> {
  return remove(kv, keys.keysConfirmed(name));
}
