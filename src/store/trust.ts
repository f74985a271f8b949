/**
 * Trust records and their revocations in KV: by issuer for the exchange and the registry
 * token endpoint (the record and its revocations, by its name), by name for the admin API.
 *
 * What a request reads is kept in the isolate for RECORD_CACHE_SECONDS so a warm exchange
 * does no KV read and no recompilation. Usual propagation of an admin change to every
 * location: KV's edge cache (KV_CACHE_TTL, 60 s; KV does not bound it) plus this isolate cache (10 s) = 70 s; the
 * isolate that served the change drops its copy at once (and a read it overtook is not cached).
 */
import { IssuerConflict, NotFound } from '../errors';
import { compileRecord, type Trust } from '../policy/evaluate';
import { issuerStorable } from '../policy/record';
import type { TrustRecord } from '../policy/schema';
import { keys, readJson, remove, writeJson } from './kv';

/** Isolate cache lifetime for trust records and revocations, seconds. */
export const RECORD_CACHE_SECONDS = 10;
/** KV edge-cache hint for reads on the request path, seconds (KV's minimum is 60). */
export const KV_CACHE_TTL = 60;

/** Issuers come from unverified tokens: bound what a flood of made-up ones can hold. */
const MAX_CACHED_ISSUERS = 1024;
const isolateCache = new Map<string, { at: number; value: Trust | undefined }>();
/**
 * Bumped by every forgetTrust. A read that started before an admin change and settles after
 * it must not put what it read back into the cache: it would serve the old record (a disabled
 * record enabled again, a revocation undone) in this isolate for RECORD_CACHE_SECONDS.
 */
let generation = 0;

/** The compiled record and live revocations for an issuer, or undefined if no record is stored. `now` in seconds. */
export async function loadTrust(kv: KVNamespace, issuer: string, now: number): Promise<Trust | undefined> {
  const hit = isolateCache.get(issuer);
  if (hit && now - hit.at < RECORD_CACHE_SECONDS) return hit.value;
  if (!issuerStorable(issuer)) return undefined; // no record can exist for it: unknown, not a store failure
  // Only settled values are shared. A promise of KV I/O started by one request must not be
  // awaited by another: workerd fails the waiters with "Cannot perform I/O on behalf of a
  // different request" (seen under load when the entry is refreshed). Until one read has stored the
  // record, each request reads for itself; failures are not cached.
  const started = generation;
  // Revocations are keyed by record name (store/revocations.ts), which the record tells. The
  // name this isolate last saw for the issuer is read beside it: one round trip, unless the
  // issuer changed hands or is new here. The version-1 list (by issuer) is read as a fallback.
  const seen = hit?.value?.compiled.record.name;
  const revocationsOf = (name: string) => readJson(kv, keys.revocations(name), 'RevocationListSchema', KV_CACHE_TTL);
  const [record, legacy, guessed] = await Promise.all([
    readJson(kv, keys.trustByIssuer(issuer), 'TrustRecordSchema', KV_CACHE_TTL),
    readJson(kv, keys.legacyRevocations(issuer), 'RevocationListSchema', KV_CACHE_TTL),
    seen === undefined ? undefined : revocationsOf(seen),
  ]);
  const own = record && (record.name === seen ? guessed : await revocationsOf(record.name));
  const revocations = [...(own?.items ?? []), ...(legacy?.items ?? [])].filter((r) => r.expiresAt > now);
  const value = record ? { compiled: compileRecord(record), revocations } : undefined;
  if (started !== generation) return value; // this request's answer, but not the cache's
  if (isolateCache.size >= MAX_CACHED_ISSUERS) isolateCache.clear();
  isolateCache.set(issuer, { at: now, value });
  return value;
}

/** Drops this isolate's copy of one issuer's trust (after an admin change), or of all of them. */
export function forgetTrust(issuer?: string): void {
  generation++;
  if (issuer === undefined) isolateCache.clear();
  else isolateCache.delete(issuer);
}

/** The admin API's 404 for a record name nothing holds (the name in the log detail). */
export const recordNotFound = (name: string) => new NotFound({ detail: `no trust record named ${name}` });

export async function getRecordByName(kv: KVNamespace, name: string): Promise<TrustRecord> {
  const index = await readJson(kv, keys.trustName(name), 'NameIndexSchema');
  const record = index && (await readJson(kv, keys.trustByIssuer(index.issuer), 'TrustRecordSchema'));
  if (!record || record.name !== name) throw recordNotFound(name);
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

/** IssuerConflict (409) when another record holds `record.issuer`; nothing to read when `previous` (the one replaced) does. */
export async function assertIssuerFree(kv: KVNamespace, record: TrustRecord, previous: TrustRecord | undefined): Promise<void> {
  if (previous?.issuer === record.issuer) return;
  const holder = await readJson(kv, keys.trustByIssuer(record.issuer), 'TrustRecordSchema');
  if (holder && holder.name !== record.name) throw new IssuerConflict({ detail: `issuer held by ${holder.name}` });
}

/**
 * Creates or replaces the record named `record.name`. `previous`: that name's record as the
 * caller just read it (getRecordByName), or undefined; the caller read it for its
 * preconditions, so it is not read again here. The caller has also checked assertIssuerFree:
 * the admin API does so before it drops the issuers' cached keys, so a 409 drops none.
 */
export async function putRecord(kv: KVNamespace, record: TrustRecord, previous: TrustRecord | undefined): Promise<void> {
  await writeJson(kv, keys.trustByIssuer(record.issuer), 'TrustRecordSchema', record);
  await writeJson(kv, keys.trustName(record.name), 'NameIndexSchema', { issuer: record.issuer });
  if (previous && previous.issuer !== record.issuer) await remove(kv, keys.trustByIssuer(previous.issuer));
  forgetTrust(record.issuer);
  if (previous) forgetTrust(previous.issuer);
}

/** Deletes `record` (as getRecordByName returned it); its cached keys are the caller's to drop. */
export async function deleteRecord(kv: KVNamespace, record: TrustRecord): Promise<void> {
  await remove(kv, keys.trustByIssuer(record.issuer));
  await remove(kv, keys.trustName(record.name));
  forgetTrust(record.issuer);
}
