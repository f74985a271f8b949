/** The readiness check's KV probe (GET /readyz): one read of a fixed key that is never written. */
import { StoreUnavailable } from '../errors';
import { keys } from './kv';

/** Resolves when KV answers (a missing key is an answer); StoreUnavailable when the read fails. */
export async function probeKv(kv: KVNamespace): Promise<void> {
  try {
    await kv.get(keys.ready);
  } catch {
    throw new StoreUnavailable({ detail: `KV get failed for ${keys.ready}` });
  }
}
