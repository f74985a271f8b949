/**
 * The isolate's copy of a trust record (store/trust.ts): a KV read that started before an admin
 * change and settled after it must not be cached, or this isolate would serve the old record
 * (a disabled record enabled again, a revocation undone) for RECORD_CACHE_SECONDS.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import type { TrustRecord } from '../../../src/policy/schema';
import { TrustRecordSchema } from '../../../src/policy/schema';
import { forgetTrust, loadTrust, putRecord } from '../../../src/store/trust';

const NOW = Math.floor(Date.now() / 1000);
const record = (name: string, disabled: boolean): TrustRecord =>
  TrustRecordSchema.parse({
    name,
    issuer: `https://${name}.k8s.test`,
    audiences: ['edge-credential-provider'],
    keys: { type: 'jwks_uri', uri: `https://${name}.k8s.test/jwks` },
    disabled,
    rules: [],
  });

/** The real KV, with reads held until `release()`. */
function heldKv(): { kv: KVNamespace; release: () => void } {
  let release!: () => void;
  const gate = new Promise<void>((r) => {
    release = r;
  });
  const kv = new Proxy(env.TRUST, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as (...a: unknown[]) => Promise<unknown>;
      if (prop !== 'get' && prop !== 'getWithMetadata') return typeof value === 'function' ? value.bind(target) : value;
      return async (...args: unknown[]) => {
        const result = await value.apply(target, args); // read now: the value before the change
        await gate;
        return result;
      };
    },
  });
  return { kv, release };
}

describe('loadTrust', () => {
  it('does not cache a read that an admin change overtook', async () => {
    const before = record('race-a', false);
    await putRecord(env.TRUST, before, undefined);
    forgetTrust();
    const { kv, release } = heldKv();
    const reading = loadTrust(kv, before.issuer, NOW);
    await new Promise((r) => setTimeout(r, 10)); // the read has its (old) value and waits
    await putRecord(env.TRUST, record('race-a', true), before); // the admin change, in this isolate
    release();
    expect((await reading)?.compiled.record.disabled).toBe(false); // that request saw the old record
    expect((await loadTrust(env.TRUST, before.issuer, NOW))?.compiled.record.disabled).toBe(true); // nobody after it
  });

  it('caches a read nothing overtook', async () => {
    const r = record('race-b', false);
    await putRecord(env.TRUST, r, undefined);
    forgetTrust();
    expect((await loadTrust(env.TRUST, r.issuer, NOW))?.compiled.record.disabled).toBe(false);
    await env.TRUST.put(`trust/v1/issuer/${encodeURIComponent(r.issuer)}`, JSON.stringify(record('race-b', true)));
    expect((await loadTrust(env.TRUST, r.issuer, NOW))?.compiled.record.disabled).toBe(false); // the isolate's copy
  });
});
