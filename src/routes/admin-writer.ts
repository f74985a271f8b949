/**
 * The admin routes' side of the writer (store/writer.ts): every change to a trust record or its
 * revocations goes to the one AdminWriter Durable Object, which compares versions and writes
 * KV; its refusals come back as EdgeErrors with their codes.
 */
import type { Env } from '../env';
import { EdgeError, NotConfigured, StoreUnavailable } from '../errors';
import { forgetIssuerKeys } from '../identity/jwks';
import type { TrustRecord } from '../policy/schema';
import { forgetTrust } from '../store/trust';
import type { AdminWriter, Outcome } from '../store/writer';

/** One writer for the edge: admin changes are rare, and one queue orders them all (and "one record per issuer"). */
export const WRITER_NAME = 'admin';

export async function viaWriter<T>(env: Env, change: (writer: DurableObjectStub<AdminWriter>) => Promise<Outcome<T>>): Promise<T> {
  const ns = env.ADMIN_WRITER;
  if (!ns) throw new NotConfigured({ detail: 'no ADMIN_WRITER Durable Object binding (wrangler.toml)' });
  let out: Outcome<T>;
  try {
    out = await change(ns.get(ns.idFromName(WRITER_NAME)));
  } catch (err) {
    if (err instanceof EdgeError) throw err;
    // Unreachable, overloaded or reset: no answer, so the change may or may not have been
    // made. A GET tells; a retry with the same If-Match is refused if it was.
    throw new StoreUnavailable({ detail: `admin writer: ${err instanceof Error ? err.name : 'unknown'}` });
  }
  if ('value' in out) return out.value;
  const { code, status, message, ...options } = out.error;
  throw new EdgeError(code, status, message, options);
}

/** After a change: this isolate drops its copies at once (the writer may run in another). */
export function forgetHere(records: Array<TrustRecord | undefined>): Promise<void> {
  for (const r of records) if (r) forgetTrust(r.issuer);
  return forgetIssuerKeys(undefined, records);
}
