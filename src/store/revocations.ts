/**
 * Revocation lists in KV, one per trust record (`revoke/v2/<name>`), read with the record on
 * every exchange and registry token request (store/trust.ts). Entries expire on their own; the
 * key expires with its last entry. Keyed by record, not issuer: a record whose issuer changes
 * keeps its revocations (version 1, `revoke/v1/<issuer>`, lost them).
 *
 * Migration from version 1: a v1 list under the record's issuer is still read beside the v2
 * list, and every write of the record's revocations (and every record PUT, before it may move
 * the record to another issuer: `adoptLegacyRevocations`) folds it into v2 and deletes it. v1
 * is never written; its lists expire within 30 days (the longest revocation ttl).
 *
 * Changes are computed here (`withRevocation`, `withoutRevocation`) and written by the admin
 * writer (store/writer.ts), one at a time, from the list it holds.
 */
import { BadRequest } from '../errors';
import { MAX_REVOCATIONS, type Revocation } from '../policy/revocation';
import type { TrustRecord } from '../policy/schema';
import { keys, readJson, remove, writeJson } from './kv';
import { forgetTrust } from './trust';

/** Whose revocations: the record's name keys them, its issuer the version-1 list. */
type Owner = Pick<TrustRecord, 'name' | 'issuer'>;

/**
 * Live entries (not yet expired) of a record, a version-1 list folded in. `now` in seconds.
 * `own`: the record's list as the caller holds it (the writer), instead of reading it from KV.
 */
export async function listRevocations(kv: KVNamespace, owner: Owner, now: number, own?: Revocation[]): Promise<Revocation[]> {
  const [mine, legacy] = await Promise.all([
    own ?? readJson(kv, keys.revocations(owner.name), 'RevocationListSchema').then((l) => l?.items ?? []),
    readJson(kv, keys.legacyRevocations(owner.issuer), 'RevocationListSchema'),
  ]);
  return combined([...mine, ...(legacy?.items ?? [])], now);
}

/** Writes the record's list (v2) and deletes the version-1 list it folded in. */
export async function writeRevocations(kv: KVNamespace, owner: Owner, items: Revocation[], now: number): Promise<void> {
  if (items.length > MAX_REVOCATIONS) throw tooMany(items.length);
  if (items.length === 0) await remove(kv, keys.revocations(owner.name));
  else await writeJson(kv, keys.revocations(owner.name), 'RevocationListSchema', { items }, Math.max(...items.map((r) => r.expiresAt)) - now);
  await remove(kv, keys.legacyRevocations(owner.issuer));
  forgetTrust(owner.issuer);
}

const tooMany = (n: number) =>
  new BadRequest({ detail: `${n} revocations`, message: `at most ${MAX_REVOCATIONS} live revocations per record; tighten the rules instead` });

/** The same thing revoked twice is one entry (see `merged`). */
function sameTarget(a: Revocation, b: Revocation): boolean {
  switch (a.kind) {
    case 'serviceAccountUid':
      return b.kind === a.kind && b.uid === a.uid;
    case 'serviceAccount':
      return b.kind === a.kind && b.namespace === a.namespace && b.name === a.name;
    case 'credential':
      return b.kind === a.kind && b.jti === a.jti;
    case 'issuedBefore':
      return b.kind === a.kind;
  }
}

/**
 * A repeated revocation never weakens the one it repeats: the entry kept is the newer one, with
 * the later expiry of the two and, for `issuedBefore`, the later cut-off. (Replacing outright let
 * a second `issuedBefore` with an earlier `before` make void credentials valid again.) Lifting a
 * revocation is a DELETE of its id.
 */
function merged(entry: Revocation, earlier: Revocation | undefined): Revocation {
  if (!earlier) return entry;
  const expiresAt = Math.max(entry.expiresAt, earlier.expiresAt);
  if (entry.kind === 'issuedBefore' && earlier.kind === 'issuedBefore') return { ...entry, expiresAt, before: Math.max(entry.before, earlier.before) };
  return { ...entry, expiresAt };
}

/** Live entries, one per target (the same target in two lists is merged as a repeat is). */
function combined(items: Revocation[], now: number): Revocation[] {
  const out: Revocation[] = [];
  for (const r of items) {
    if (r.expiresAt <= now) continue;
    const i = out.findIndex((o) => sameTarget(o, r));
    if (i < 0) out.push(r);
    else out[i] = merged(out[i]!, r);
  }
  return out;
}

/** `live` with `entry` added (merged with an earlier one of the same target), and the entry as stored. */
export function withRevocation(live: Revocation[], entry: Revocation): { items: Revocation[]; stored: Revocation } {
  const stored = merged(
    entry,
    live.find((r) => sameTarget(r, entry)),
  );
  const items = live.filter((r) => !sameTarget(r, entry));
  if (items.length >= MAX_REVOCATIONS) throw tooMany(items.length);
  items.push(stored);
  return { items, stored };
}

/** `live` without the entry `id`, or undefined when it holds none. */
export function withoutRevocation(live: Revocation[], id: string): Revocation[] | undefined {
  const kept = live.filter((r) => r.id !== id);
  return kept.length === live.length ? undefined : kept;
}

/**
 * Migration on write, before a PUT replaces `previous` (which may move it to another issuer):
 * folds a version-1 list under its issuer into its own list, so the revocations stay with it.
 * Answers the list written, or undefined (one KV read) when there was nothing to fold.
 */
export async function adoptLegacyRevocations(kv: KVNamespace, previous: Owner, now: number, own?: Revocation[]): Promise<Revocation[] | undefined> {
  if (!(await readJson(kv, keys.legacyRevocations(previous.issuer), 'RevocationListSchema'))) return undefined;
  const items = await listRevocations(kv, previous, now, own);
  await writeRevocations(kv, previous, items, now);
  return items;
}
