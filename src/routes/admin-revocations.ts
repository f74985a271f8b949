/**
 * Revocations of one cluster's credentials and accounts (policy/revocation.ts), under the
 * admin API (auth in admin-auth.ts; scope on the record, policy/admin-scope.ts):
 *
 *   GET    /admin/v1/issuers/:name/revocations        live revocations of that cluster (read)
 *   POST   /admin/v1/issuers/:name/revocations        revoke (revoke)
 *   DELETE /admin/v1/issuers/:name/revocations/:id    (revoke)
 */
import * as z from '../zod';
import { deferred } from '../zod';
import { BadRequest } from '../errors';
import { logEvent } from '../log';
import { RevocationSchema, revocationReason, revocationRequestTargets, type Revocation } from '../policy/revocation-schema';
import { describeIssues, MAX_CREDENTIAL_TTL, type TrustRecord } from '../policy/schema';
import { listRevocations } from '../store/revocations';
import { forgetTrust, getRecordByName } from '../store/trust';
import { scopedName, seconds } from './admin-records';
import { viaWriter } from './admin-writer';
import { readJsonBody } from './body';
import { Hono } from './hono';
import type { AppEnv } from './types';

/** Longest a revocation may be kept, seconds (30 days). */
const MAX_REVOCATION_TTL = 30 * 24 * 60 * 60;
/** Options every kind of revocation takes (built with the schema that spreads them). */
const revocationOptions = () => ({
  /**
   * Seconds to keep the entry: at least the longest credential lifetime (12 h), and for an
   * account revocation at least the record's maxTokenLifetime + 12 h (checked in newRevocation).
   * Default: that least value, long enough to outlive every token and credential that exists now.
   */
  ttl: z.optional(z.number().check(z.int(), z.gte(MAX_CREDENTIAL_TTL), z.lte(MAX_REVOCATION_TTL))),
  reason: revocationReason(),
});
/** The entry's target as stored (policy/revocation.ts), with the options above. */
const RevokeSchema = deferred(() => {
  const t = revocationRequestTargets();
  return z.discriminatedUnion('kind', [
    z.strictObject({ ...t.serviceAccountUid, ...revocationOptions() }),
    z.strictObject({ ...t.serviceAccount, ...revocationOptions() }),
    z.strictObject({ ...t.credential, ...revocationOptions() }),
    /** `before`, seconds since the epoch, at most now. Default: the next second, so every credential minted so far is void. */
    z.strictObject({ ...t.issuedBefore, before: z.optional(t.issuedBefore.before), ...revocationOptions() }),
  ]);
});

function newRevocation(input: z.infer<typeof RevokeSchema>, record: TrustRecord, now: number): Revocation {
  const { ttl, reason, ...target } = input;
  const accountLike = target.kind === 'serviceAccountUid' || target.kind === 'serviceAccount';
  // An account's tokens live up to maxTokenLifetime and mint credentials of up to 12 h: an
  // entry that expired sooner would let a token it was meant to void mint again.
  const least = accountLike ? record.maxTokenLifetime + MAX_CREDENTIAL_TTL : MAX_CREDENTIAL_TTL;
  if (ttl !== undefined && ttl < least) {
    throw new BadRequest({
      detail: `ttl ${ttl} under ${least}`,
      message: `ttl must be at least ${least} s for this revocation (the record's maxTokenLifetime + 43200), or left out`,
    });
  }
  const keep = ttl ?? least;
  const id = `rv-${crypto.randomUUID().replaceAll('-', '').slice(0, 12)}`;
  const base = { id, createdAt: now, expiresAt: now + keep, ...(reason ? { reason } : {}) };
  if (target.kind === 'issuedBefore') {
    const before = target.before ?? now + 1;
    if (before > now + 1) throw new BadRequest({ detail: 'issuedBefore in the future', message: '"before" must not be in the future' });
    return RevocationSchema.parse({ ...target, before, ...base });
  }
  return RevocationSchema.parse({ ...target, ...base });
}

export const revocations = () =>
  new Hono<AppEnv>()
    .get('/admin/v1/issuers/:name/revocations', async (c) => {
      const record = await getRecordByName(c.env.TRUST, scopedName(c, 'read'));
      return c.json({ items: await listRevocations(c.env.TRUST, record, seconds()) });
    })
    .post('/admin/v1/issuers/:name/revocations', async (c) => {
      const record = await getRecordByName(c.env.TRUST, scopedName(c, 'revoke'));
      const parsed = RevokeSchema.safeParse(await readJsonBody(c.req.raw));
      if (!parsed.success) {
        throw new BadRequest({ detail: 'revocation schema', message: 'the revocation is invalid', issues: describeIssues(parsed.error) });
      }
      const now = seconds();
      const wanted = newRevocation(parsed.data, record, now);
      const entry = await viaWriter<Revocation>(c.env, (w) => w.revoke(record.name, wanted, now));
      forgetTrust(record.issuer); // in this isolate at once; the writer may run in another
      logEvent('admin', { action: 'revoke', by: c.get('admin').id, record: record.name, revocation: entry.id, kind: entry.kind, expiresAt: entry.expiresAt });
      return c.json(entry, 201);
    })
    .delete('/admin/v1/issuers/:name/revocations/:id', async (c) => {
      const name = scopedName(c, 'revoke');
      const id = c.req.param('id');
      forgetTrust(await viaWriter<string>(c.env, (w) => w.unrevoke(name, id, seconds()))); // 404 for an unknown record or id
      logEvent('admin', { action: 'unrevoke', by: c.get('admin').id, record: name, revocation: id.slice(0, 40) });
      return c.body(null, 204);
    });
