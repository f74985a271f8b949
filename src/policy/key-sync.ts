/**
 * Key sync: may a cluster replace its trust record's inline keys with the JWKS it pushes
 * (PUT /v1/keys, routes/keys.ts)? Pure: the record, the push's bearer token, the pushed body,
 * the record's revocations and `now` in; the record with its new keys, or an EdgeError, out.
 *
 *   (a) the token verifies with the record's CURRENT inline keys (its algorithms, lifetime,
 *       `iss`), with the keySync audience, never a pull audience;
 *   (b) it is the keySync service account's token (namespace and name), not revoked;
 *   (c) the pushed set still holds the key that signed that token: same `kid`, same key
 *       material (RFC 7638 thumbprint). This is continuity: a rotation done the Kubernetes way
 *       (add the new key, switch signing, drop the old one) passes step by step, and a key
 *       the record has dropped signs nothing it accepts, so a stolen old key cannot come back.
 *
 * Pushed sets hold RSA or EC public keys only, each with a `kid` (the API server's always
 * have one); members other than the public ones are dropped, private ones are refused.
 */
import { createLocalJWKSet, type JSONWebKeySet, type JWK } from 'jose';
import { decodeProtectedHeader, jwkThumbprint } from '../identity/decode';
import * as z from '../zod';
import { deferred } from '../zod';
import { EdgeError, InvalidJwks, IssuerDisabled, KeyContinuity, KeySyncDisabled, KeySyncForbidden, Revoked, TokenMalformed, UnknownKey } from '../errors';
import { readToken, verifyServiceAccountToken } from '../identity/verify';
import type { Workload } from '../identity/workload';
import { describeRevocation, findRevocation, type Revocation } from './revocation';
import { describeIssues, MAX_INLINE_KEYS, SA_TOKEN_ALGORITHMS, TrustRecordSchema, type TrustRecord } from './schema';

/** Members that make a JWK private or symmetric: a pushed set holding one is refused, not cleaned. */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;

const base64url = (max: number) => z.string().check(z.minLength(1), z.maxLength(max), z.regex(/^[A-Za-z0-9_-]+$/, 'must be base64url'));
const publicMembers = () => ({
  kid: z.string().check(z.minLength(1), z.maxLength(256)),
  use: z.optional(z.literal('sig')),
  alg: z.optional(z.enum(SA_TOKEN_ALGORITHMS)),
});
/** z.object drops unknown members: what is stored is exactly these. RSA up to 8192 bits. */
const PushedKeySchema = deferred(() =>
  z.discriminatedUnion('kty', [
    z.object({ kty: z.literal('RSA'), n: base64url(1366), e: base64url(12), ...publicMembers() }),
    z.object({ kty: z.literal('EC'), crv: z.enum(['P-256', 'P-384', 'P-521']), x: base64url(88), y: base64url(88), ...publicMembers() }),
  ]),
);
const PushSchema = deferred(() =>
  z.strictObject({ jwks: z.strictObject({ keys: z.array(PushedKeySchema).check(z.minLength(1), z.maxLength(MAX_INLINE_KEYS)) }) }),
);
export type PushedJwks = z.infer<typeof PushSchema>['jwks'];

/** The pushed body `{ jwks: { keys: [...] } }`, checked. Throws InvalidJwks naming each problem. */
export function parsePush(body: unknown): PushedJwks {
  const keys = (body as { jwks?: { keys?: unknown } } | null)?.jwks?.keys;
  const secret = Array.isArray(keys)
    ? keys.flatMap((k, i) => (k && typeof k === 'object' ? PRIVATE_MEMBERS.filter((m) => m in k).map((m) => `jwks.keys.${i}: private member "${m}"`) : []))
    : [];
  if (secret.length) throw new InvalidJwks({ detail: 'private key members', issues: secret.slice(0, 20), message: 'the key set must hold public keys only' });
  const parsed = PushSchema.safeParse(body);
  if (!parsed.success)
    throw new InvalidJwks({ detail: 'schema', issues: parsed.error.issues.slice(0, 20).map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`) });
  const kids = parsed.data.jwks.keys.map((k) => k.kid);
  const twice = kids.find((kid, i) => kids.indexOf(kid) !== i);
  if (twice !== undefined) throw new InvalidJwks({ detail: 'duplicate kid', issues: [`jwks.keys: kid "${twice.slice(0, 64)}" appears twice`] });
  return parsed.data.jwks;
}

export interface KeySyncOutcome {
  /** The record with the pushed keys (the same object when nothing changed). */
  record: TrustRecord;
  changed: boolean;
  /** Who pushed, for the history's `by`: `keysync:<namespace>/<name>`. */
  by: string;
  workload: Workload;
}

/** The token's `kid`, printable, for a refusal's detail. */
function kidOf(token: string): string | undefined {
  let kid: unknown;
  try {
    kid = decodeProtectedHeader(token).kid;
  } catch {
    throw new TokenMalformed({ detail: 'unreadable JWS header' });
  }
  return typeof kid === 'string' ? kid : undefined;
}

/** A key set as JSON with each key's members sorted: the same keys in another member order are the same set. */
const canonical = (set: readonly object[]) => JSON.stringify(set.map((k) => Object.entries(k).sort(([a], [b]) => (a < b ? -1 : 1))));
export const sameKeys = (a: readonly object[], b: readonly object[]) => canonical(a) === canonical(b);

const thumbprint = (k: object) => jwkThumbprint(k as JWK);

/**
 * Decides a push. `token`: the bearer token; `jwks`: parsePush's result; `revocations`: the
 * record's live list; `now`: seconds since the epoch. Throws the refusal's EdgeError.
 */
export async function acceptKeySync(
  record: TrustRecord,
  token: string,
  jwks: PushedJwks,
  revocations: readonly Revocation[],
  now: number,
): Promise<KeySyncOutcome> {
  const sync = record.keySync;
  if (!sync || record.keys.type !== 'inline') throw new KeySyncDisabled({ detail: `record ${record.name} names no keySync` });
  // A disabled record trusts no token of its issuer, this one neither.
  if (record.disabled) throw new IssuerDisabled({ detail: `record ${record.name}` });
  const current = record.keys.jwks.keys;
  const read = readToken(token);
  const kid = kidOf(token);
  // One key at a time, so that the key that verified is known (for continuity). At most MAX_INLINE_KEYS.
  const candidates = current.filter((k) => kid === undefined || k.kid === kid);
  if (candidates.length === 0) throw new UnknownKey({ detail: `kid ${JSON.stringify(kid?.slice(0, 64))} is not among the record's current keys` });
  const expect = { ...record, audiences: [sync.audience] };
  let workload: Workload | undefined;
  let signer: object | undefined;
  let refusal: unknown;
  for (const key of candidates) {
    try {
      workload = await verifyServiceAccountToken(read, expect, createLocalJWKSet({ keys: [key] } as JSONWebKeySet), now);
      signer = key;
      break;
    } catch (err) {
      refusal = err;
      // Another key of the same kid may still verify; any other refusal is the token's own.
      if (!(err instanceof EdgeError && (err.code === 'ERR_BAD_SIGNATURE' || err.code === 'ERR_UNKNOWN_KEY'))) throw err;
    }
  }
  if (!workload || !signer) throw refusal;

  const account = `${workload.namespace}/${workload.serviceAccount.name}`;
  if (workload.namespace !== sync.serviceAccount.namespace || workload.serviceAccount.name !== sync.serviceAccount.name)
    throw new KeySyncForbidden({ detail: `${account} is not the keySync account ${sync.serviceAccount.namespace}/${sync.serviceAccount.name}` });
  const revocation = findRevocation(revocations, { workload }, now);
  if (revocation) throw new Revoked({ detail: `revoked by ${describeRevocation(revocation)}` });

  const signerKid = (signer as { kid?: string }).kid;
  const signerPrint = await thumbprint(signer);
  let kept = false;
  for (const k of jwks.keys) if (k.kid === signerKid && signerPrint !== undefined && (await thumbprint(k)) === signerPrint) kept = true;
  if (!kept) throw new KeyContinuity({ detail: `the pushed set drops key ${JSON.stringify(signerKid?.slice(0, 64))}, which signed the token` });

  const changed = !sameKeys(record.keys.jwks.keys, jwks.keys);
  if (!changed) return { record, changed, by: `keysync:${account}`, workload };
  // Parsed as an admin PUT's record is, so that its members are in the schema's order: the ETag
  // (a hash of the stored JSON) is then the same whether the writer or a KV read computes it.
  const next = TrustRecordSchema.safeParse({ ...record, keys: { ...record.keys, jwks } });
  if (!next.success) throw new InvalidJwks({ detail: 'record schema', issues: describeIssues(next.error) });
  return { record: next.data, changed, by: `keysync:${account}`, workload };
}

/** How long inline keys may go unconfirmed before explain and the records CLI warn, seconds: 7 days. */
export const DEFAULT_KEYS_STALE_AFTER = 7 * 24 * 60 * 60;

/** The last confirmation of a record's inline keys (store/key-sync.ts): seconds, and who. */
export interface KeyConfirmation {
  at: number;
  by: string;
}

/** A warning when the record's inline keys have gone unconfirmed past their `staleAfter`, else undefined. */
export function staleKeysWarning(record: TrustRecord, confirmation: KeyConfirmation | undefined, now: number): string | undefined {
  if (record.keys.type !== 'inline') return undefined;
  const limit = record.keys.staleAfter ?? DEFAULT_KEYS_STALE_AFTER;
  const fix = record.keySync ? 'is the key-sync job running? (npm run keys-sync)' : 'PUT them again from the cluster, or set keySync';
  if (!confirmation) return `record ${record.name}: inline keys have no recorded confirmation; ${fix}`;
  const age = now - confirmation.at;
  if (age <= limit) return undefined;
  return `record ${record.name}: inline keys last confirmed ${Math.floor(age / 3600)} h ago by ${confirmation.by} (threshold ${Math.floor(limit / 3600)} h); ${fix}`;
}
