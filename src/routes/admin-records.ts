/**
 * Trust records under the admin API (auth in admin-auth.ts; changes need a writer):
 *
 *   GET    /admin/v1/issuers                  record names
 *   GET    /admin/v1/issuers/:name            one record, with its ETag
 *   PUT    /admin/v1/issuers/:name            create or replace: validated, compiled; If-Match / If-None-Match: *
 *   DELETE /admin/v1/issuers/:name            If-Match
 *   GET    /admin/v1/issuers/:name/history    the last 20 versions (store/history.ts)
 *
 * Optimistic concurrency: the ETag is a hash of the record; a write with an If-Match that no
 * longer holds (someone changed the record since) is 412 ERR_PRECONDITION_FAILED, never a
 * silent overwrite. Without the headers a write is unconditional, as before. Every change
 * logs one audit line: who, what record, which fields, from which version to which.
 */
import type { Context } from 'hono';
import { BadRequest, EdgeError, InvalidRecord, NotFound, PreconditionFailed } from '../errors';
import { forgetIssuerKeys } from '../identity/jwks';
import { logEvent } from '../log';
import { changedFields } from '../policy/diff';
import { describeIssues, dnsLabel, TrustRecordSchema, type TrustRecord } from '../policy/schema';
import { appendHistory, readHistory, recordEtag, type HistoryEntry } from '../store/history';
import { issuerKeyStore } from '../store/issuer-keys';
import { adoptLegacyRevocations } from '../store/revocations';
import { assertIssuerFree, deleteRecord, getRecordByName, listRecordNames, putRecord } from '../store/trust';
import { loadConfig } from '../config';
import { recordEndpointIssues } from '../upstream/endpoints';
import { requireWrite } from './admin-auth';
import { readJsonBody } from './body';
import { Hono } from './hono';
import type { AppEnv } from './types';

export function recordName(raw: string): string {
  const parsed = dnsLabel.safeParse(raw);
  if (!parsed.success) throw new BadRequest({ detail: 'record name must be a DNS label' });
  return parsed.data;
}

export const seconds = () => Math.floor(Date.now() / 1000);

async function currentRecord(kv: KVNamespace, name: string): Promise<TrustRecord | undefined> {
  try {
    return await getRecordByName(kv, name);
  } catch (err) {
    if (err instanceof NotFound) return undefined;
    throw err;
  }
}

/**
 * Appends the change to the record's history once it is in effect. A failure here cannot undo
 * the change, so it does not fail the request (a 503 would invite a retry whose If-Match no
 * longer holds): it is logged as an error, and the admin line says the history missed it.
 */
async function recordHistory(kv: KVNamespace, name: string, change: Parameters<typeof appendHistory>[2]): Promise<HistoryEntry | undefined> {
  try {
    return await appendHistory(kv, name, change);
  } catch (err) {
    if (!(err instanceof EdgeError)) throw err; // a bug, not a store failure: the app's 500
    logEvent('error', { code: 'ERR_HISTORY_NOT_RECORDED', record: name, action: change.action, detail: err.detail });
    return undefined;
  }
}

/** The admin line's version numbers (appendHistory numbers from the newest kept). */
function versions(entry: HistoryEntry | undefined) {
  if (!entry) return { history: 'not recorded' };
  return { from: entry.version > 1 ? entry.version - 1 : undefined, to: entry.version };
}

/** RFC 9110 §13.1.1-2, as far as a single record needs: `If-Match: "<etag>"` or `*`, `If-None-Match: *`. */
async function checkPreconditions(c: Context<AppEnv>, current: TrustRecord | undefined): Promise<void> {
  const ifMatch = c.req.header('if-match');
  const ifNoneMatch = c.req.header('if-none-match');
  if (ifNoneMatch !== undefined && ifNoneMatch.trim() === '*' && current) {
    throw new PreconditionFailed({ detail: 'If-None-Match: * but the record exists', message: 'the record already exists' });
  }
  if (ifMatch === undefined) return;
  if (!current) throw new PreconditionFailed({ detail: 'If-Match on a missing record', message: 'the record does not exist (any more)' });
  if (ifMatch.trim() === '*') return;
  const etag = `"${await recordEtag(current)}"`;
  const given = ifMatch.split(',').map((t) => t.trim().replace(/^W\//, ''));
  if (!given.includes(etag)) throw new PreconditionFailed({ detail: 'If-Match does not hold' });
}

export const records = () =>
  new Hono<AppEnv>()
    .get('/admin/v1/issuers', async (c) => c.json({ items: await listRecordNames(c.env.TRUST) }))
    .get('/admin/v1/issuers/:name', async (c) => {
      const record = await getRecordByName(c.env.TRUST, recordName(c.req.param('name')));
      c.header('ETag', `"${await recordEtag(record)}"`);
      return c.json(record);
    })
    .get('/admin/v1/issuers/:name/history', async (c) => {
      const items = await readHistory(c.env.TRUST, recordName(c.req.param('name')));
      if (items.length === 0) throw new NotFound({ detail: 'no history' });
      return c.json({ items });
    })
    .put('/admin/v1/issuers/:name', requireWrite, async (c) => {
      const name = recordName(c.req.param('name'));
      const body = await readJsonBody(c.req.raw);
      if (typeof body !== 'object' || body === null || Array.isArray(body))
        throw new InvalidRecord({ detail: 'not an object', message: 'the trust record must be a JSON object' });
      const parsed = TrustRecordSchema.safeParse({ name, ...body });
      if (!parsed.success) throw new InvalidRecord({ detail: 'schema', issues: describeIssues(parsed.error) });
      if (parsed.data.name !== name) throw new InvalidRecord({ detail: 'name mismatch', message: 'the record name in the body differs from the URL' });
      const endpointIssues = recordEndpointIssues(parsed.data.rules, loadConfig(c.env).allowEndpointOverrides);
      if (endpointIssues.length) throw new InvalidRecord({ detail: 'endpoint override', issues: endpointIssues });
      const record = parsed.data;
      const previous = await currentRecord(c.env.TRUST, name);
      await checkPreconditions(c, previous);
      // Keys cached for either record may be stale once it is written. Dropped first: a failure
      // leaves the record as it was (503, and a retry with the same If-Match holds), and keys
      // cached again meanwhile come from the issuer as it is now.
      await assertIssuerFree(c.env.TRUST, record, previous); // a 409 drops nobody's keys
      await forgetIssuerKeys(issuerKeyStore(c.env.TRUST), [previous, record]);
      if (previous) await adoptLegacyRevocations(c.env.TRUST, previous, seconds()); // they stay with the record
      await putRecord(c.env.TRUST, record, previous);
      const etag = await recordEtag(record);
      const by = c.get('admin').id;
      const action = previous ? 'replace' : 'create';
      const entry = await recordHistory(c.env.TRUST, name, { action, at: seconds(), by, etag, record });
      logEvent('admin', {
        action,
        by,
        record: name,
        issuer: record.issuer,
        fields: previous ? changedFields(previous, record).slice(0, 50) : undefined,
        ...versions(entry),
      });
      c.header('ETag', `"${etag}"`);
      return c.json(record, previous ? 200 : 201);
    })
    .delete('/admin/v1/issuers/:name', requireWrite, async (c) => {
      const name = recordName(c.req.param('name'));
      const record = await currentRecord(c.env.TRUST, name);
      await checkPreconditions(c, record);
      if (!record) throw new NotFound({ detail: `no trust record named ${name}` });
      await forgetIssuerKeys(issuerKeyStore(c.env.TRUST), [record]); // first, as for a PUT
      await deleteRecord(c.env.TRUST, record);
      const by = c.get('admin').id;
      const entry = await recordHistory(c.env.TRUST, name, { action: 'delete', at: seconds(), by });
      logEvent('admin', { action: 'delete', by, record: name, ...versions(entry) });
      return c.body(null, 204);
    });
