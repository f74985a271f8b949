/**
 * Sealed KV values: every value the edge writes to KV has passed its schema, and is stored with
 * an HMAC-SHA-256 of its key and text (KV metadata `{ seal }`) under a key derived from the
 * key ring's `seal` seed (EDGE_SIGNING_KEYS; the whole secret for a ring made before seeds).
 * A read whose seal checks out is the edge's own validated value and is used as it is
 * (JSON.parse); any other value (written before seals, by hand, by another tool, or under
 * another seed) is parsed with its schema the slow way and refused if invalid. The schema still
 * guards every write and every unsealed read; the seal only spares a fresh isolate zod's first
 * run over the record, its revocations and the issuer's keys (bench/FINDINGS.md, 11). Key
 * rotations keep the seed (`npm run keys -- rotate`), so they unseal nothing.
 *
 * Which secret belongs to which namespace is told once per request (index.ts, the admin
 * writer): `sealWith(env.TRUST, env.EDGE_SIGNING_KEYS)`; store/kv.ts asks `sealOf(kv)`.
 */
import { fromBase64 } from '../bytes';
import { type Derived, derivedKey } from '../derive';
import { isObject } from '../shape';
import { base64url } from '../signing/jws';

const encoder = new TextEncoder();

const HMAC: Derived = { name: 'HMAC', hash: 'SHA-256' };
const secrets = new WeakMap<KVNamespace, string>();

/** Values written to `kv` from now on are sealed, and sealed reads trusted, under `secret` (none: nothing is). */
export function sealWith(kv: KVNamespace, secret: string | undefined): void {
  if (secret) secrets.set(kv, secret);
}

export interface Seal {
  /** The seal of `text` stored under `key`. */
  of(key: string, text: string): Promise<string>;
  /** Whether `seal` is this edge's seal of `text` under `key` (constant time). */
  holds(key: string, text: string, seal: unknown): Promise<boolean>;
}

const signed = (key: string, text: string) => encoder.encode(`${key}\n${text}`);
const hmacKey = (secret: string) => derivedKey(seedOf(secret), 'kv seal v1', HMAC, ['sign', 'verify']);

/** The ring's `seal` seed, or the whole secret for a ring without one; read once per secret. */
let seeded: { secret: string; seed: string } | undefined;
function seedOf(secret: string): string {
  if (seeded?.secret !== secret) {
    let seed = secret;
    try {
      const ring: unknown = JSON.parse(secret);
      const given = isObject(ring) ? ring.seal : undefined;
      if (typeof given === 'string' && given.length >= 43) seed = given;
    } catch {
      // Not JSON: the key ring's own check refuses it where it is used; the seal keys on the text.
    }
    seeded = { secret, seed };
  }
  return seeded.seed;
}

export function sealOf(kv: KVNamespace): Seal | undefined {
  const secret = secrets.get(kv);
  if (!secret) return undefined;
  return {
    of: async (key, text) => `v1.${base64url(new Uint8Array(await crypto.subtle.sign('HMAC', await hmacKey(secret), signed(key, text))))}`,
    async holds(key, text, seal) {
      if (typeof seal !== 'string' || !/^v1\.[\w-]{43}$/.test(seal)) return false;
      const mac = fromBase64(seal.slice(3).replace(/-/g, '+').replace(/_/g, '/'));
      return crypto.subtle.verify('HMAC', await hmacKey(secret), mac, signed(key, text));
    },
  };
}
