/**
 * Trust records under the admin API (auth in admin-auth.ts; each route checks the principal's
 * scope on the record, policy/admin-scope.ts, before it reads anything):
 *
 *   GET    /admin/v1/scope                    the caller's principal and scope (the records CLI asks)
 *   GET    /admin/v1/issuers                  record names (those the caller may read)
 *   GET    /admin/v1/issuers/:name            one record, with its ETag
 *   PUT    /admin/v1/issuers/:name            create or replace: validated, compiled; If-Match / If-None-Match: *
 *                                             (write; keys too if it changes the issuer, keys or keySync)
 *   DELETE /admin/v1/issuers/:name            If-Match (write)
 *   GET    /admin/v1/issuers/:name/history    the last 20 versions (store/history.ts)
 *
 * Optimistic concurrency: the ETag is a hash of the record; a write with an If-Match that no
 * longer holds (someone changed the record since) is 412 ERR_PRECONDITION_FAILED, never a
 * silent overwrite. The admin writer (store/writer.ts, a Durable Object) compares it with the
 * version it holds, one change at a time, so it holds across locations too; a weak tag never
 * matches. Without the headers a write is unconditional, as before. Every change logs one
 * audit line: who, what record, which fields, from which version to which.
 */
import type { Context } from 'hono';
import { type Action, permits } from '../policy/admin-scope';
import { BadRequest, InvalidRecord, NotFound } from '../errors';
import { logEvent } from '../log';
import { changedFields } from '../policy/diff';
import { describeIssues, dnsLabel, TrustRecordSchema } from '../policy/schema';
import { readHistory, recordEtag, type HistoryEntry } from '../store/history';
import { getRecordByName, listRecordNames } from '../store/trust';
import type { Written } from '../store/writer';
import { loadConfig } from '../config';
import { upstreamWriteIssues } from '../upstream/record-checks';
import { requireScope } from './admin-auth';
import { forgetHere, viaWriter } from './admin-writer';
import { readJsonBody } from './body';
import { Hono } from './hono';
import type { AppEnv } from './types';

export function recordName(raw: string): string {
  const parsed = dnsLabel.safeParse(raw);
  if (!parsed.success) throw new BadRequest({ detail: 'record name must be a DNS label' });
  return parsed.data;
}

/** The route's record name, once the caller may do `action` to it (checked first: a refusal says nothing of the record). */
export function scopedName(c: Context<AppEnv>, action: Action): string {
  const name = recordName(c.req.param('name') ?? '');
  requireScope(c.get('admin'), action, name);
  return name;
}

export const seconds = () => Math.floor(Date.now() / 1000);

/** The admin line's version numbers (appendHistory numbers from the newest kept). */
function versions(entry: HistoryEntry | undefined) {
  if (!entry) return { history: 'not recorded' };
  return { from: entry.version > 1 ? entry.version - 1 : undefined, to: entry.version };
}

/** The request's preconditions, for the writer to check (RFC 9110 §13.1.1-2). */
const conditions = (c: Context<AppEnv>) => ({ ifMatch: c.req.header('if-match'), ifNoneMatch: c.req.header('if-none-match') });

export const records = () =>
  new Hono<AppEnv>()
    .get('/admin/v1/scope', (c) => {
      const { id, scope } = c.get('admin');
      return c.json({ principal: id, records: scope.records, actions: scope.actions });
    })
    .get('/admin/v1/issuers', async (c) => {
      const { scope } = c.get('admin');
      return c.json({ items: (await listRecordNames(c.env.TRUST)).filter((name) => permits(scope, 'read', name)) });
    })
    .get('/admin/v1/issuers/:name', async (c) => {
      const record = await getRecordByName(c.env.TRUST, scopedName(c, 'read'));
      c.header('ETag', `"${await recordEtag(record)}"`);
      return c.json(record);
    })
    .get('/admin/v1/issuers/:name/history', async (c) => {
      const items = await readHistory(c.env.TRUST, scopedName(c, 'read'));
      if (items.length === 0) throw new NotFound({ detail: 'no history' });
      return c.json({ items });
    })
    .put('/admin/v1/issuers/:name', async (c) => {
      const name = scopedName(c, 'write');
      const body = await readJsonBody(c.req.raw);
      if (typeof body !== 'object' || body === null || Array.isArray(body))
        throw new InvalidRecord({ detail: 'not an object', message: 'the trust record must be a JSON object' });
      const parsed = TrustRecordSchema.safeParse({ name, ...body });
      if (!parsed.success) throw new InvalidRecord({ detail: 'schema', issues: describeIssues(parsed.error) });
      if (parsed.data.name !== name) throw new InvalidRecord({ detail: 'name mismatch', message: 'the record name in the body differs from the URL' });
      const upstreamIssues = upstreamWriteIssues(parsed.data.rules, loadConfig(c.env).allowEndpointOverrides);
      if (upstreamIssues.length) throw new InvalidRecord({ detail: 'upstream checks', issues: upstreamIssues });
      const record = parsed.data;
      const { id: by, scope } = c.get('admin');
      const keys = permits(scope, 'keys', name); // the writer decides whether the change needs it
      const { previous, etag, entry } = await viaWriter<Written>(c.env, (w) => w.put({ record, ...conditions(c), by, at: seconds(), keys }));
      await forgetHere([previous, record]);
      const action = previous ? 'replace' : 'create';
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
    .delete('/admin/v1/issuers/:name', async (c) => {
      const name = scopedName(c, 'write');
      const by = c.get('admin').id;
      const { previous, entry } = await viaWriter<Written>(c.env, (w) => w.delete({ name, ...conditions(c), by, at: seconds() }));
      await forgetHere([previous]);
      logEvent('admin', { action: 'delete', by, record: name, ...versions(entry) });
      return c.body(null, 204);
    });
