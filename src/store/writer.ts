/**
 * The one writer of trust records and revocations: a Durable Object (binding ADMIN_WRITER, one
 * instance for the edge) that takes every admin change in turn, compares If-Match with the
 * version it holds, not with a KV read that may be a minute old in another location, and only
 * then writes KV, which stays the store the exchange reads. The exchange never touches it; the
 * admin routes call it over RPC (routes/admin-writer.ts). See docs/storage-schema.md, "Writer".
 *
 * Its storage holds what it last wrote: `record/<name>` (the record, null once deleted),
 * `issuer/<issuer>` (the name holding it, null once free), `revocations/<name>` (the live list).
 * What it never wrote (records and revocations older than the writer) it reads from KV.
 */
import { DurableObject } from 'cloudflare:workers';
import type { Env } from '../env';
import { EdgeError, type ErrorStatus, IssuerConflict, NotFound, PreconditionFailed, UnknownIssuer } from '../errors';
import { forgetIssuerKeys } from '../identity/jwks';
import { logEvent } from '../log';
import type { PushedJwks } from '../policy/key-sync';
import type { Revocation } from '../policy/revocation';
import type { TrustRecord } from '../policy/schema';
import type { appendHistory, HistoryEntry } from './history';
import { issuerKeyStore } from './issuer-keys';
import { sealWith } from './seal';
import { adoptLegacyRevocations, listRevocations, withoutRevocation, withRevocation, writeRevocations } from './revocations';
import { assertIssuerFree, deleteRecord, getRecordByName, putRecord, recordNotFound } from './trust';

/** Loaded on the first change, not at the isolate's start (store/writer-tools.ts). */
const tools = () => import('./writer-tools');

/** A change's preconditions, the request's headers as sent. */
export interface Conditions {
  ifMatch?: string | undefined;
  ifNoneMatch?: string | undefined;
}
/** Who made a change and when (seconds), for the history. */
interface Made {
  by: string;
  at: number;
}
/** What crosses RPC: the value, or the EdgeError's fields (its class does not cross). */
export type Outcome<T> = { value: T } | { error: { code: string; status: ErrorStatus; message: string; detail?: string; issues?: string[] } };
export interface Written {
  previous: TrustRecord | undefined;
  etag: string;
  entry: HistoryEntry | undefined;
}
/** A push of a cluster's keys (PUT /v1/keys), accepted. */
export interface KeysSynced {
  record: TrustRecord;
  /** False: the pushed set was the one held; only the confirmation was written. */
  changed: boolean;
  by: string;
  /** The history entry of the change; undefined when nothing changed (or the history write failed). */
  entry: HistoryEntry | undefined;
}

function wire(err: unknown): Outcome<never> {
  if (!(err instanceof EdgeError)) throw err; // a bug: the route answers 503 and logs it
  return { error: { code: err.code, status: err.status, message: err.message, detail: err.detail, issues: err.issues } };
}

export class AdminWriter extends DurableObject<Env> {
  /** Where changes are written: the TRUST binding (a test swaps in a failing one). */
  kv: KVNamespace = this.env.TRUST;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    sealWith(env.TRUST, env.EDGE_SIGNING_KEYS); // what it writes is sealed as the exchange expects (store/seal.ts)
  }

  /**
   * Runs `change` once every change before it has settled. A Durable Object lets requests
   * interleave while one awaits KV; this queue does not, so the version compared is the one
   * replaced. (Not blockConcurrencyWhile: a refusal thrown there would reset the object.)
   */
  #serial<T>(change: () => Promise<T>): Promise<Outcome<T>> {
    const run = this.#queue.then(change).then((value) => ({ value }), wire);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** `keys`: whether `by` may change the record's trust anchor (policy/admin-scope.ts), decided here against the version held. */
  put(change: Conditions & Made & { record: TrustRecord; keys: boolean }): Promise<Outcome<Written>> {
    return this.#serial(async () => {
      const { record, at, by } = change;
      const { changesTrustAnchor, outOfScope, recordEtag, sameKeys, writeKeyConfirmation } = await tools();
      const previous = await this.#record(record.name);
      await checkPreconditions(change, previous);
      if (!change.keys && changesTrustAnchor(previous, record)) throw outOfScope(by, 'keys', record.name);
      await this.#assertIssuerFree(record, previous); // before any cached keys are dropped
      // Dropped first: a failure leaves the record as it was (503; a retry's If-Match holds).
      await forgetIssuerKeys(issuerKeyStore(this.kv), [previous, record]);
      if (previous) {
        const adopted = await adoptLegacyRevocations(this.kv, previous, at, await this.#heldRevocations(previous.name));
        if (adopted) await this.ctx.storage.put(`revocations/${previous.name}`, adopted);
      }
      await putRecord(this.kv, record, previous);
      // KV first: had this failed, the writer would hold a version KV never got.
      await this.ctx.storage.put({
        [`record/${record.name}`]: record,
        [`issuer/${record.issuer}`]: record.name,
        ...(previous && previous.issuer !== record.issuer ? { [`issuer/${previous.issuer}`]: null } : {}),
      });
      const etag = await recordEtag(record);
      const entry = await recordHistory(this.kv, record.name, { action: previous ? 'replace' : 'create', at, by, etag, record });
      // Keys someone just put in confirm themselves; the same keys PUT again (a rules change from git) do not.
      if (record.keys.type === 'inline' && (previous?.keys.type !== 'inline' || !sameKeys(previous.keys.jwks.keys, record.keys.jwks.keys)))
        await recordConfirmation(record.name, () => writeKeyConfirmation(this.kv, record.name, { at, by }));
      return { previous, etag, entry };
    });
  }

  delete(change: Conditions & Made & { name: string }): Promise<Outcome<Written>> {
    return this.#serial(async () => {
      const { removeKeyConfirmation } = await tools();
      const record = await this.#record(change.name);
      await checkPreconditions(change, record);
      if (!record) throw recordNotFound(change.name);
      await forgetIssuerKeys(issuerKeyStore(this.kv), [record]); // first, as for a PUT
      await deleteRecord(this.kv, record);
      await this.ctx.storage.put({ [`record/${record.name}`]: null, [`issuer/${record.issuer}`]: null });
      const entry = await recordHistory(this.kv, change.name, { action: 'delete', at: change.at, by: change.by });
      await recordConfirmation(record.name, () => removeKeyConfirmation(this.kv, record.name));
      return { previous: record, etag: '', entry };
    });
  }

  /**
   * A cluster's push of its own keys (PUT /v1/keys): decided (policy/key-sync.ts) against the
   * record and revocations as this writer holds them, in turn with every other change, so two
   * pushes or a push and an admin PUT never interleave. The record is written (and its history
   * says `by` the key-sync account) only if the set changed; the confirmation either way.
   */
  syncKeys(push: { name: string; issuer: string; token: string; jwks: PushedJwks; at: number }): Promise<Outcome<KeysSynced>> {
    return this.#serial(async () => {
      const { acceptKeySync, recordEtag, writeKeyConfirmation } = await tools();
      const held = await this.#record(push.name);
      // The route found the record by the token's iss in KV; it has since moved or gone.
      if (!held || held.issuer !== push.issuer) throw new UnknownIssuer({ detail: 'the record changed issuer or was deleted' });
      const { record, changed, by } = await acceptKeySync(held, push.token, push.jwks, await this.#liveRevocations(held, push.at), push.at);
      let entry: HistoryEntry | undefined;
      if (changed) {
        await putRecord(this.kv, record, held);
        await this.ctx.storage.put(`record/${record.name}`, record);
        entry = await recordHistory(this.kv, record.name, { action: 'replace', at: push.at, by, etag: await recordEtag(record), record });
      }
      // A failure here is a 503 even after a change: the push is idempotent, and its retry confirms.
      await writeKeyConfirmation(this.kv, record.name, { at: push.at, by });
      return { record, changed, by, entry };
    });
  }

  /** Adds `entry` to the record's revocations (merged with one of the same target); answers it as stored. */
  revoke(name: string, entry: Revocation, now: number): Promise<Outcome<Revocation>> {
    return this.#serial(async () => {
      const owner = await this.#owner(name);
      const { items, stored } = withRevocation(await this.#liveRevocations(owner, now), entry);
      await this.#writeRevocations(owner, items, now);
      return stored;
    });
  }

  /** Removes the revocation `id`; answers the record's issuer. */
  unrevoke(name: string, id: string, now: number): Promise<Outcome<string>> {
    return this.#serial(async () => {
      const owner = await this.#owner(name);
      const kept = withoutRevocation(await this.#liveRevocations(owner, now), id);
      if (!kept) throw new NotFound({ detail: `no revocation ${id.slice(0, 40)}` });
      await this.#writeRevocations(owner, kept, now);
      return owner.issuer;
    });
  }

  /** The record as this writer last wrote it; one it never wrote, as KV has it. */
  async #record(name: string): Promise<TrustRecord | undefined> {
    const held = await this.ctx.storage.get<TrustRecord | null>(`record/${name}`);
    if (held !== undefined) return held ?? undefined;
    return getRecordByName(this.kv, name).catch((err) => {
      if (err instanceof NotFound) return undefined;
      throw err;
    });
  }

  async #owner(name: string): Promise<TrustRecord> {
    const record = await this.#record(name);
    if (!record) throw recordNotFound(name);
    return record;
  }

  /** "One record per issuer", from what this writer holds (KV for an issuer it never wrote). */
  async #assertIssuerFree(record: TrustRecord, previous: TrustRecord | undefined): Promise<void> {
    if (previous?.issuer === record.issuer) return;
    const holder = await this.ctx.storage.get<string | null>(`issuer/${record.issuer}`);
    if (holder === undefined) return assertIssuerFree(this.kv, record, previous);
    if (holder !== null && holder !== record.name) throw new IssuerConflict({ detail: `issuer held by ${holder}` });
  }

  #heldRevocations(name: string): Promise<Revocation[] | undefined> {
    return this.ctx.storage.get<Revocation[]>(`revocations/${name}`);
  }

  async #liveRevocations(owner: TrustRecord, now: number): Promise<Revocation[]> {
    return listRevocations(this.kv, owner, now, await this.#heldRevocations(owner.name));
  }

  async #writeRevocations(owner: TrustRecord, items: Revocation[], now: number): Promise<void> {
    await writeRevocations(this.kv, owner, items, now);
    await this.ctx.storage.put(`revocations/${owner.name}`, items);
  }
}

/**
 * RFC 9110 §13.1.1-2 as far as a single record needs: `If-Match: "<etag>"` (a list, or `*`) and
 * `If-None-Match: *`. If-Match compares strongly (§8.8.3.2): a weak tag, `W/"..."`, never matches.
 */
async function checkPreconditions(cond: Conditions, current: TrustRecord | undefined): Promise<void> {
  if (cond.ifNoneMatch?.trim() === '*' && current) {
    throw new PreconditionFailed({ detail: 'If-None-Match: * but the record exists', message: 'the record already exists' });
  }
  if (cond.ifMatch === undefined) return;
  if (!current) throw new PreconditionFailed({ detail: 'If-Match on a missing record', message: 'the record does not exist (any more)' });
  if (cond.ifMatch.trim() === '*') return;
  const etag = `"${await (await tools()).recordEtag(current)}"`;
  if (!cond.ifMatch.split(',').some((t) => t.trim() === etag)) throw new PreconditionFailed({ detail: 'If-Match does not hold (weak tags never do)' });
}

/** The confirmation of an admin change, once it is in effect: as for the history, a failure is logged, not answered. */
async function recordConfirmation(name: string, write: () => Promise<void>): Promise<void> {
  try {
    await write();
  } catch (err) {
    if (!(err instanceof EdgeError)) throw err;
    logEvent('error', { code: 'ERR_KEYS_CONFIRMATION_NOT_RECORDED', record: name, detail: err.detail });
  }
}

/**
 * Appends the change to the record's history once it is in effect. A failure here cannot undo
 * the change, so it does not fail the request (a 503 would invite a retry whose If-Match no
 * longer holds): it is logged as an error, and the admin line says the history missed it.
 */
async function recordHistory(kv: KVNamespace, name: string, change: Parameters<typeof appendHistory>[2]): Promise<HistoryEntry | undefined> {
  try {
    return await (await tools()).appendHistory(kv, name, change);
  } catch (err) {
    if (!(err instanceof EdgeError)) throw err; // a bug, not a store failure
    logEvent('error', { code: 'ERR_HISTORY_NOT_RECORDED', record: name, action: change.action, detail: err.detail });
    return undefined;
  }
}
