/**
 * Trust records in KV: by issuer for the exchange (one read), by name for the admin API.
 * Compiled records are kept in the isolate for RECORD_CACHE_SECONDS so a warm exchange
 * does no KV read and no recompilation; together with KV's own propagation (about 60 s)
 * a change reaches every location within about 70 s.
 */
import { z } from 'zod';
import { IssuerConflict, NotFound } from '../errors';
import { compileRecord, type CompiledRecord } from '../policy/evaluate';
import { TrustRecordSchema, type TrustRecord } from '../policy/schema';
import { issuerFitsKey, keys, readJson, remove, writeJson } from './kv';

/** Isolate cache lifetime for compiled trust records, seconds. */
export const RECORD_CACHE_SECONDS = 10;
/** KV edge-cache hint for trust-record reads, seconds (KV's minimum is 60). */
const KV_CACHE_TTL = 60;

const NameIndexSchema = z.object({ issuer: z.string() });

/** Issuers come from unverified tokens: bound what a flood of made-up ones can hold. */
const MAX_CACHED_ISSUERS = 1024;
const isolateCache = new Map<string, { at: number; value: CompiledRecord | undefined }>();

/** The compiled record for an issuer, or undefined if none is stored. `now` in seconds. */
export async function getCompiledRecord(kv: KVNamespace, issuer: string, now: number): Promise<CompiledRecord | undefined> {
  const hit = isolateCache.get(issuer);
  if (hit && now - hit.at < RECORD_CACHE_SECONDS) return hit.value;
  if (!issuerFitsKey(issuer)) return undefined; // no record can exist for it: unknown, not a store failure
  // Only settled values are shared. A promise of KV I/O started by one request must not be
  // awaited by another: workerd fails the waiters with "Cannot perform I/O on behalf of a
  // different request" (seen under load when the entry is refreshed). Until one read has stored the
  // record, each request reads for itself; failures are not cached.
  const r = await readJson(kv, keys.trustByIssuer(issuer), TrustRecordSchema, KV_CACHE_TTL);
  const value = r ? compileRecord(r) : undefined;
  if (isolateCache.size >= MAX_CACHED_ISSUERS) isolateCache.clear();
  isolateCache.set(issuer, { at: now, value });
  return value;
}

/** For tests and the admin API: forget what this isolate cached. */
export function forgetCachedRecords(): void {
  isolateCache.clear();
}

export async function getRecordByName(kv: KVNamespace, name: string): Promise<TrustRecord> {
  const index = await readJson(kv, keys.trustName(name), NameIndexSchema);
  const record = index && (await readJson(kv, keys.trustByIssuer(index.issuer), TrustRecordSchema));
  if (!record || record.name !== name) throw new NotFound({ detail: `no trust record named ${name}` });
  return record;
}

export async function listRecordNames(kv: KVNamespace): Promise<string[]> {
  const names: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await kv.list({ prefix: keys.trustNamePrefix, ...(cursor ? { cursor } : {}) });
    for (const k of page.keys) names.push(decodeURIComponent(k.name.slice(keys.trustNamePrefix.length)));
    cursor = page.list_complete ? undefined : page.cursor;
  } while (cursor);
  return names;
}

/** Creates or replaces the record named `record.name`. Returns whether it was created. */
export async function putRecord(kv: KVNamespace, record: TrustRecord): Promise<boolean> {
  const holder = await readJson(kv, keys.trustByIssuer(record.issuer), TrustRecordSchema);
  if (holder && holder.name !== record.name) throw new IssuerConflict({ detail: `issuer held by ${holder.name}` });
  const previous = await readJson(kv, keys.trustName(record.name), NameIndexSchema);
  await writeJson(kv, keys.trustByIssuer(record.issuer), record);
  await writeJson(kv, keys.trustName(record.name), { issuer: record.issuer });
  if (previous && previous.issuer !== record.issuer) await remove(kv, keys.trustByIssuer(previous.issuer));
  isolateCache.delete(record.issuer);
  if (previous) isolateCache.delete(previous.issuer);
  return !previous;
}

/** Deletes the record named `name` and returns it (its cached keys are the caller's to drop). */
export async function deleteRecord(kv: KVNamespace, name: string): Promise<TrustRecord> {
  const record = await getRecordByName(kv, name);
  await remove(kv, keys.trustByIssuer(record.issuer));
  await remove(kv, keys.trustName(name));
  isolateCache.delete(record.issuer);
  return record;
}
