/**
 * Sealed KV values (store/seal.ts, store/kv.ts): what the edge wrote, checked by its schema, is
 * read back without the schema; anything else is parsed the slow way and refused if invalid.
 * Real KV (workerd), real HMAC.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { StoreUnavailable } from '../../../src/errors';
import * as z from '../../../src/zod';
import { readJson, writeJson } from '../../../src/store/kv';
import { sealOf, sealWith } from '../../../src/store/seal';

const SECRET = 'a Worker secret for the seal tests';
// A schema with a default, so a read shows whether it ran (the default is filled in) or not.
const Schema = z.object({ name: z.string().check(z.maxLength(8)), mode: z._default(z.enum(['a', 'b']), 'a') });
let n = 0;
const key = () => `seal-test/v1/${++n}`;

/** A KV namespace of its own (the real binding behind a proxy), so that the secret bound to it is this test's. */
function namespace(secret?: string): KVNamespace {
  const kv = new Proxy(env.TRUST, {
    get: (target, prop) => {
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  sealWith(kv, secret);
  return kv;
}

describe('seals', () => {
  const seal = () => sealOf(namespace(SECRET))!;

  it('is nothing without a secret', () => {
    expect(sealOf(namespace())).toBeUndefined();
    expect(sealOf(namespace(''))).toBeUndefined();
  });

  it.each([
    ['the sealed text under its key', 'k', '{"a":1}', true],
    ['other text', 'k', '{"a":2}', false],
    ['the same text under another key', 'k2', '{"a":1}', false],
    ['text with a byte appended', 'k', '{"a":1} ', false],
  ])('holds for %s: %s', async (_, k, text, holds) => {
    const s = seal();
    const mac = await s.of('k', '{"a":1}');
    expect(mac).toMatch(/^v1\.[\w-]{43}$/);
    expect(await s.holds(k, text, mac)).toBe(holds);
  });

  it.each([
    ['missing', undefined],
    ['a number', 42],
    ['another version', 'v2.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'],
    ['too short', 'v1.AAAA'],
    ['not base64url', `v1.${'+'.repeat(43)}`],
    ['all zeros', `v1.${'A'.repeat(43)}`],
  ])('does not hold for a seal that is %s', async (_, mac) => {
    expect(await seal().holds('k', '{"a":1}', mac)).toBe(false);
  });

  it("holds across a key rotation: the ring's seal seed keys it, not its keys", async () => {
    const ring = (keys: string, seal?: string) => JSON.stringify({ active: keys, keys: [{ kid: keys }], ...(seal ? { seal } : {}) });
    const seed = 'S'.repeat(43);
    const mac = await sealOf(namespace(ring('old', seed)))!.of('k', '{"a":1}');
    expect(await sealOf(namespace(ring('new', seed)))!.holds('k', '{"a":1}', mac)).toBe(true);
    expect(await sealOf(namespace(ring('old', 'T'.repeat(43))))!.holds('k', '{"a":1}', mac)).toBe(false);
    // A ring without a seed seals under the whole secret: any change of it unseals.
    const unseeded = await sealOf(namespace(ring('old')))!.of('k', '{"a":1}');
    expect(await sealOf(namespace(ring('new')))!.holds('k', '{"a":1}', unseeded)).toBe(false);
    expect(await sealOf(namespace(ring('old')))!.holds('k', '{"a":1}', unseeded)).toBe(true);
  });

  it("does not hold under another secret's key", async () => {
    const mac = await sealOf(namespace('another secret'))!.of('k', '{"a":1}');
    expect(await seal().holds('k', '{"a":1}', mac)).toBe(false);
  });
});

describe('readJson and writeJson', () => {
  it('writes what the schema gives, sealed, and reads it back without the schema', async () => {
    const kv = namespace(SECRET);
    const k = key();
    await writeJson(kv, k, Schema, { name: 'x' });
    const { value, metadata } = await env.TRUST.getWithMetadata<{ seal: string }>(k, 'text');
    expect(JSON.parse(value!)).toEqual({ name: 'x', mode: 'a' });
    expect(await sealOf(kv)!.holds(k, value!, metadata?.seal)).toBe(true);
    // Read with a schema that refuses it: the seal is trusted, the schema not run.
    expect(await readJson(kv, k, z.object({ name: z.number() }))).toEqual({ name: 'x', mode: 'a' });
  });

  it('refuses to write a value its schema refuses, and writes nothing', async () => {
    const kv = namespace(SECRET);
    const k = key();
    await expect(writeJson(kv, k, Schema, { name: 'far too long' })).rejects.toBeInstanceOf(StoreUnavailable);
    expect(await env.TRUST.get(k)).toBeNull();
  });

  it('parses an unsealed value with its schema (defaults filled in), and refuses an invalid one', async () => {
    const kv = namespace(SECRET);
    const k = key();
    await env.TRUST.put(k, JSON.stringify({ name: 'x' }));
    expect(await readJson(kv, k, Schema)).toEqual({ name: 'x', mode: 'a' });
    await env.TRUST.put(k, JSON.stringify({ name: 'far too long' }));
    await expect(readJson(kv, k, Schema)).rejects.toBeInstanceOf(StoreUnavailable);
  });

  it('parses the slow way a value whose seal does not hold: changed after sealing, moved to another key, or sealed under another secret', async () => {
    const kv = namespace(SECRET);
    const k = key();
    await writeJson(kv, k, Schema, { name: 'x' });
    const { metadata } = await env.TRUST.getWithMetadata(k);
    // Changed, with the old seal kept: the schema runs and refuses it.
    await env.TRUST.put(k, JSON.stringify({ name: 'far too long', mode: 'a' }), { metadata });
    await expect(readJson(kv, k, Schema)).rejects.toBeInstanceOf(StoreUnavailable);
    // The sealed text under another key: its seal names the first key.
    const moved = key();
    await env.TRUST.put(moved, JSON.stringify({ name: 'x', mode: 'a' }), { metadata });
    await expect(readJson(kv, moved, z.object({ name: z.number() }))).rejects.toBeInstanceOf(StoreUnavailable);
    // Sealed under another secret.
    const other = key();
    await writeJson(namespace('another secret'), other, Schema, { name: 'x' });
    await expect(readJson(kv, other, z.object({ name: z.number() }))).rejects.toBeInstanceOf(StoreUnavailable);
  });

  it('without a secret, writes unsealed and always parses', async () => {
    const kv = namespace();
    const k = key();
    await writeJson(kv, k, Schema, { name: 'x' });
    expect((await env.TRUST.getWithMetadata(k)).metadata).toBeNull();
    await expect(readJson(kv, k, z.object({ name: z.number() }))).rejects.toBeInstanceOf(StoreUnavailable);
  });
});
