/**
 * GET /admin/v1/issuers/:name/keys (read): where a record's keys stand. For inline keys: their kids,
 * when they were last confirmed (a push through PUT /v1/keys, or a PUT that changed them) and
 * by whom, the record's threshold, and a `warning` once it has passed (policy/key-sync.ts).
 * The records CLI prints these warnings; explain adds the same one to its answer.
 */
import type { KeyConfirmation } from '../policy/key-sync';
import { DEFAULT_KEYS_STALE_AFTER, staleKeysWarning } from '../policy/key-sync';
import type { TrustRecord } from '../policy/schema';
import { readKeyConfirmation } from '../store/key-sync';
import { getRecordByName } from '../store/trust';
import { scopedName, seconds } from './admin-records';
import { Hono } from './hono';
import type { AppEnv } from './types';

/** The stale-keys warning for `record`, if any; none when the confirmation cannot be read (no guess). */
export async function keysWarning(kv: KVNamespace, record: TrustRecord | undefined, now: number): Promise<string | undefined> {
  if (record?.keys.type !== 'inline') return undefined;
  let confirmation: KeyConfirmation | undefined;
  try {
    confirmation = await readKeyConfirmation(kv, record.name);
  } catch {
    return undefined;
  }
  return staleKeysWarning(record, confirmation, now);
}

export const keyStatus = () =>
  new Hono<AppEnv>().get('/admin/v1/issuers/:name/keys', async (c) => {
    const record = await getRecordByName(c.env.TRUST, scopedName(c, 'read'));
    const { keys } = record;
    const base = { record: record.name, type: keys.type, ...(record.keySync ? { keySync: record.keySync } : {}) };
    if (keys.type !== 'inline') return c.json(base);
    const confirmed = (await readKeyConfirmation(c.env.TRUST, record.name)) ?? null;
    const warning = staleKeysWarning(record, confirmed ?? undefined, seconds());
    return c.json({
      ...base,
      keys: keys.jwks.keys.map((k) => k.kid ?? null),
      staleAfter: keys.staleAfter ?? DEFAULT_KEYS_STALE_AFTER,
      confirmed,
      ...(warning ? { warning } : {}),
    });
  });
