/**
 * Every KV key the edge uses is built here; every value is checked with its schema when written
 * and stored sealed (store/seal.ts), and read either as sealed or parsed with its schema.
 * The layout, with example records and TTLs, is in docs/storage-schema.md.
 *
 *   trust/v1/issuer/<issuer>   TrustRecord (JSON)          no TTL    looked up on every exchange
 *   trust/v1/name/<name>       { issuer }                  no TTL    admin API index by name
 *   jwks/v1/<url>              { uat, jwks }               TTL       issuer keys (jose jwksCache)
 *   oidc/v2/<issuer>           { jwks_uri, uat }           TTL       discovery result
 *   revoke/v2/<name>           { items: Revocation[] }     TTL       a record's revocations, read with it
 *   revoke/v1/<issuer>         { items: Revocation[] }     TTL       version 1 (by issuer): read as a fallback, folded into v2 on write
 *   history/v1/<name>          { items: HistoryEntry[] }   no TTL    the last 20 versions of a record
 *   confirmed/v1/<name>        { at, by }                  no TTL    when a record's inline keys were last confirmed (store/key-sync.ts)
 *
 * Issuer key caches are read and written through store/issuer-keys.ts.
 *
 * Issuers and URLs are percent-encoded so that no value can forge another key's prefix.
 */
import type * as z from '../zod';
import { StoreUnavailable } from '../errors';
import { logEvent } from '../log';
import { sealOf } from './seal';

/** KV rejects expirationTtl under 60 s; every TTL goes through here. */
export const MIN_KV_TTL = 60;
export function kvTtl(seconds: number): number {
  return Math.max(MIN_KV_TTL, Math.ceil(seconds));
}

/** Workers KV refuses keys longer than 512 bytes (ours are ASCII: percent-encoded). */
export const MAX_KV_KEY_BYTES = 512;

/** Callers pass only issuers that passed `issuerStorable` (policy/schema.ts): well-formed, short. */
const enc = encodeURIComponent;

export const keys = {
  trustByIssuer: (issuer: string) => `trust/v1/issuer/${enc(issuer)}`,
  trustName: (name: string) => `trust/v1/name/${enc(name)}`,
  trustNamePrefix: 'trust/v1/name/',
  jwks: (url: string) => `jwks/v1/${enc(url)}`,
  // v2: the value gained `uat` (discovery results now age out); v1 values expire unread.
  discovery: (issuer: string) => `oidc/v2/${enc(issuer)}`,
  // v2: by record name. v1 was by issuer, so changing a record's issuer lifted its revocations;
  // v1 lists are still read (under the record's issuer) and folded into v2 by the next write.
  revocations: (name: string) => `revoke/v2/${enc(name)}`,
  legacyRevocations: (issuer: string) => `revoke/v1/${enc(issuer)}`,
  history: (name: string) => `history/v1/${enc(name)}`,
  /** Never written: GET /readyz reads it, and an answer (null) is KV up. */
  ready: 'ready/v1',
  keysConfirmed: (name: string) => `confirmed/v1/${enc(name)}`,
} as const;

type Schemas = typeof import('./schemas');
/** A schema, or the name of one in store/schemas.ts (loaded only when a value must be checked). */
export type SchemaRef = z.ZodMiniType | keyof Schemas;
/** What a value checked by `S` is. */
export type Checked<S extends SchemaRef> = S extends keyof Schemas ? z.infer<Schemas[S]> : S extends z.ZodMiniType ? z.infer<S> : never;
/** Its input (what a writer may pass: defaults not yet filled in). */
export type Unchecked<S extends SchemaRef> = S extends keyof Schemas ? z.input<Schemas[S]> : S extends z.ZodMiniType ? z.input<S> : never;

async function schemaOf(ref: SchemaRef): Promise<z.ZodMiniType> {
  return typeof ref === 'string' ? (await import('./schemas'))[ref] : ref;
}

/** KV metadata of a value the edge wrote: its seal (store/seal.ts). */
interface Stored {
  seal?: unknown;
}

/** The log's name for a key: its first two segments, never an issuer or a URL. */
const kind = (key: string) => key.split('/').slice(0, 2).join('/');

/**
 * Reads a JSON value. Missing: undefined. Sealed by this edge: as stored. Otherwise parsed with
 * `schema`. A KV failure is StoreUnavailable (the caller fails closed), and so is a value that
 * does not parse with its schema (logged).
 */
export async function readJson<S extends SchemaRef>(kv: KVNamespace, key: string, schema: S, cacheTtl?: number): Promise<Checked<S> | undefined> {
  const seal = sealOf(kv);
  let raw: string | null;
  let stored: Stored | null = null;
  try {
    const options = { type: 'text' as const, ...(cacheTtl ? { cacheTtl: kvTtl(cacheTtl) } : {}) };
    if (seal) ({ value: raw, metadata: stored } = await kv.getWithMetadata<Stored>(key, options));
    else raw = await kv.get(key, options);
  } catch {
    throw new StoreUnavailable({ detail: `KV get failed for ${kind(key)}` });
  }
  if (raw === null) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    parsed = undefined;
  }
  if (stored?.seal && (await seal?.holds(key, raw, stored.seal))) return parsed as Checked<S>;
  const result = (await schemaOf(schema)).safeParse(parsed);
  if (!result.success) {
    logEvent('kv_corrupt', { key: kind(key) });
    throw new StoreUnavailable({ detail: 'stored value does not match its schema' });
  }
  return result.data as Checked<S>;
}

/**
 * Writes `value` as `schema` parses it, sealed when a secret is known for `kv` (a value the
 * schema refuses is a bug of the caller: StoreUnavailable, logged, nothing written).
 */
export async function writeJson<S extends SchemaRef>(kv: KVNamespace, key: string, schema: S, value: Unchecked<S>, ttlSeconds?: number): Promise<void> {
  const result = (await schemaOf(schema)).safeParse(value);
  if (!result.success) {
    logEvent('kv_invalid_write', { key: kind(key) });
    throw new StoreUnavailable({ detail: 'value to store does not match its schema' });
  }
  const text = JSON.stringify(result.data);
  try {
    const seal = await sealOf(kv)?.of(key, text);
    await kv.put(key, text, { ...(ttlSeconds ? { expirationTtl: kvTtl(ttlSeconds) } : {}), ...(seal ? { metadata: { seal } satisfies Stored } : {}) });
  } catch {
    throw new StoreUnavailable({ detail: 'KV put failed' });
  }
}

export async function remove(kv: KVNamespace, key: string): Promise<void> {
  try {
    await kv.delete(key);
  } catch {
    throw new StoreUnavailable({ detail: 'KV delete failed' });
  }
}
