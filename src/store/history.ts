/**
 * Each record's change history: the last HISTORY_LENGTH versions, newest first, under
 * `history/v1/<name>` (by name: it outlives a delete, so a deleted record can be rolled back).
 * Every admin change appends one entry: version number, the record's ETag, when, by whom, the
 * record itself (absent for a delete). Read-modify-write: the admin writer (store/writer.ts)
 * appends, one change at a time, so no entry is lost.
 */
import { hex } from '../bytes';
import * as z from '../zod';
import { deferred } from '../zod';
import type { TrustRecord } from '../policy/schema';
import { keys, readJson, writeJson } from './kv';

/** Versions kept per record. */
export const HISTORY_LENGTH = 20;

const HistoryEntrySchema = deferred(() =>
  z.strictObject({
    version: z.number().check(z.int(), z.gte(1)),
    action: z.enum(['create', 'replace', 'delete']),
    /** Seconds since the epoch. */
    at: z.number().check(z.int()),
    /** The principal (routes/admin-auth.ts): "token:admin", "access:<email>", ... */
    by: z.string().check(z.maxLength(512)),
    /** The record's ETag after the change; absent for a delete. */
    etag: z.optional(z.string()),
    /**
     * The record as it was stored then: an object, not parsed with today's TrustRecordSchema,
     * so a schema tightened later neither hides old versions nor stops new ones being
     * appended. A rollback PUTs it again, and the PUT validates it as it is now.
     */
    record: z.optional(z.recordOf(z.string(), z.unknown())),
  }),
);
const HistorySchema = deferred(() => z.strictObject({ items: z.array(HistoryEntrySchema).check(z.maxLength(HISTORY_LENGTH)) }));
export type HistoryEntry = z.infer<typeof HistoryEntrySchema>;

export async function readHistory(kv: KVNamespace, name: string): Promise<HistoryEntry[]> {
  return (await readJson(kv, keys.history(name), HistorySchema))?.items ?? [];
}

/** Appends a change; returns the new entry (its version is one more than the newest kept). */
export async function appendHistory(
  kv: KVNamespace,
  name: string,
  change: { action: HistoryEntry['action']; at: number; by: string; etag?: string; record?: TrustRecord },
): Promise<HistoryEntry> {
  const items = await readHistory(kv, name);
  const entry: HistoryEntry = { version: (items[0]?.version ?? 0) + 1, ...change };
  await writeJson(kv, keys.history(name), HistorySchema, { items: [entry, ...items].slice(0, HISTORY_LENGTH) });
  return entry;
}

/** A record's ETag: the first 128 bits of SHA-256 over its stored JSON, hex. Same content, same tag. */
export async function recordEtag(record: TrustRecord): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(JSON.stringify(record)));
  return hex(new Uint8Array(digest).subarray(0, 16));
}
