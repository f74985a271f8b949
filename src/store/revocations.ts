/**
 * Revocation lists in KV, one per cluster issuer (`revoke/v1/<issuer>`), read with the trust
 * record on every exchange and registry token request (store/trust.ts). Entries expire on
 * their own; the key expires with its last entry. Writes are read-modify-write: two
 * administrators revoking at the same instant may lose one entry (the admin API answers
 * with the entry as stored, and GET lists them, so a client sees it).
 */
import { BadRequest } from '../errors';
import { MAX_REVOCATIONS, RevocationListSchema, type Revocation } from '../policy/revocation';
import { keys, readJson, remove, writeJson } from './kv';
import { forgetTrust } from './trust';

/** Live entries (not yet expired) for an issuer. `now` in seconds. */
export async function listRevocations(kv: KVNamespace, issuer: string, now: number): Promise<Revocation[]> {
  const list = await readJson(kv, keys.revocations(issuer), RevocationListSchema);
  return (list?.items ?? []).filter((r) => r.expiresAt > now);
}

async function store(kv: KVNamespace, issuer: string, items: Revocation[], now: number): Promise<void> {
  if (items.length === 0) await remove(kv, keys.revocations(issuer));
  else await writeJson(kv, keys.revocations(issuer), { items }, Math.max(...items.map((r) => r.expiresAt)) - now);
  forgetTrust(issuer);
}

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

/** Adds `entry` (merged with an earlier one of the same target); returns the entry as stored. */
export async function addRevocation(kv: KVNamespace, issuer: string, entry: Revocation, now: number): Promise<Revocation> {
  const live = await listRevocations(kv, issuer, now);
  const stored = merged(
    entry,
    live.find((r) => sameTarget(r, entry)),
  );
  const items = live.filter((r) => !sameTarget(r, entry));
  if (items.length >= MAX_REVOCATIONS) {
    throw new BadRequest({
      detail: `${items.length} revocations`,
      message: `at most ${MAX_REVOCATIONS} live revocations per record; tighten the rules instead`,
    });
  }
  items.push(stored);
  await store(kv, issuer, items, now);
  return stored;
}

/** Removes one entry by id; returns whether it existed. */
export async function removeRevocation(kv: KVNamespace, issuer: string, id: string, now: number): Promise<boolean> {
  const items = await listRevocations(kv, issuer, now);
  const kept = items.filter((r) => r.id !== id);
  if (kept.length === items.length) return false;
  await store(kv, issuer, kept, now);
  return true;
}
