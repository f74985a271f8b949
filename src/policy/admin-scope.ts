/**
 * What an admin principal may do: actions on records (docs/security.md, "Admin principals").
 * Pure: the routes find the principal (routes/admin-auth.ts) and ask here.
 *
 *   read     list, read, history, keys status, revocations, explain
 *   write    create, replace, delete a record
 *   keys     change a record's trust anchor: its issuer, keys or keySync (with write; a create sets them)
 *   revoke   add and remove revocations
 *
 * Scoped principals come from ADMIN_SCOPES, a JSON var compiled once per isolate:
 *
 *   { "tokens": { "TEAM_A": { "records": ["team-a-*"], "actions": ["read", "write", "revoke"] } },
 *     "access": { "alice@example.com": { "records": ["team-a-*"], "actions": ["read", "write", "keys"] },
 *                 "*": { "records": ["shared-*"], "actions": ["read"] } } }
 *
 * `tokens.TEAM_A` scopes the secret ADMIN_TOKEN_TEAM_A (principal "token:team-a"); `access`
 * keys are Access emails or service-token common names, `*` every Access identity not listed.
 * Record patterns are record names with `*` globs (policy/pattern.ts). Anything malformed is
 * a configuration error (503), never a scope guessed at.
 */
import { Forbidden, NotConfigured } from '../errors';
import * as z from '../zod';
import { deferred } from '../zod';
import { sameKeys } from './key-sync';
import { anyOf, compileNameGlob, type Matcher } from './pattern';
import { describeIssues, type TrustRecord } from './schema';

export const ACTIONS = ['read', 'write', 'keys', 'revoke'] as const;
export type Action = (typeof ACTIONS)[number];

/** A scope as configured (and as GET /admin/v1/scope answers it). */
export interface Scope {
  records: string[];
  actions: Action[];
}
export interface CompiledScope extends Scope {
  covers: Matcher;
}
export interface AdminScopes {
  /** By the name after ADMIN_TOKEN_ (`TEAM_A`). */
  tokens: Map<string, CompiledScope>;
  /** By lowercase email or common name; `*` for every other Access identity. */
  access: Map<string, CompiledScope>;
}

/** The secret binding of a named token: ADMIN_TOKEN_<NAME>. */
export const SCOPED_TOKEN_PREFIX = 'ADMIN_TOKEN_';
/** Upper case, digits and `_`, as a binding name; not ADMIN or READ, whose ids the global tokens hold. */
const TOKEN_NAME = /^(?!(?:ADMIN|READ)$)[A-Z0-9_]{1,64}$/;
/** A record name with `*` globs: at most a DNS label's 63 characters. */
const RECORD_PATTERN = /^[a-z0-9*-]{1,63}$/;

const ScopesSchema = deferred(() => {
  const scope = z.strictObject({
    records: z.array(z.string().check(z.regex(RECORD_PATTERN, 'must be a record name or a "*" glob'))).check(z.maxLength(100)),
    actions: z.array(z.enum([...ACTIONS])),
  });
  return z.strictObject({
    tokens: z.optional(z.recordOf(z.string().check(z.regex(TOKEN_NAME, 'must be A-Z, 0-9 or "_", not ADMIN or READ')), scope)),
    access: z.optional(z.recordOf(z.string().check(z.minLength(1), z.maxLength(320)), scope)),
  });
});

export function compileScope(scope: Scope): CompiledScope {
  return { ...scope, covers: anyOf(scope.records.map(compileNameGlob)) };
}

/** ADMIN_TOKEN and writers in ACCESS_WRITERS. */
export const EVERYTHING = compileScope({ records: ['*'], actions: [...ACTIONS] });
/** ADMIN_READ_TOKEN, and Access identities neither listed nor covered by `*`. */
export const READ_EVERYTHING = compileScope({ records: ['*'], actions: ['read'] });

/**
 * ADMIN_SCOPES compiled. `bindings`: the names of the Worker's bindings, so that a secret
 * ADMIN_TOKEN_<NAME> without a scope fails closed instead of being ignored. `writers`: the
 * global Access writers, who may not also be scoped (which would win is a guess).
 */
export function compileScopes(json: string | undefined, bindings: readonly string[], writers: readonly string[]): AdminScopes {
  let raw: unknown = {};
  if (json !== undefined && json !== '') {
    try {
      raw = JSON.parse(json);
    } catch {
      throw new NotConfigured({ detail: 'ADMIN_SCOPES is not JSON' });
    }
  }
  const parsed = ScopesSchema.safeParse(raw);
  if (!parsed.success) throw new NotConfigured({ detail: `ADMIN_SCOPES: ${describeIssues(parsed.error).join('; ')}` });
  const tokens = new Map(Object.entries(parsed.data.tokens ?? {}).map(([name, s]) => [name, compileScope(s)]));
  const access = new Map(Object.entries(parsed.data.access ?? {}).map(([who, s]) => [who.toLowerCase(), compileScope(s)]));
  const unscoped = bindings.filter((b) => b.startsWith(SCOPED_TOKEN_PREFIX) && !tokens.has(b.slice(SCOPED_TOKEN_PREFIX.length)));
  if (unscoped.length) throw new NotConfigured({ detail: `${unscoped.join(', ')} without a scope in ADMIN_SCOPES.tokens` });
  const both = writers.filter((w) => access.has(w));
  if (both.length) throw new NotConfigured({ detail: `in ACCESS_WRITERS and ADMIN_SCOPES.access: ${both.join(', ')}` });
  return { tokens, access };
}

/** The principal id of a named token: `TEAM_A` → "token:team-a" (never the secret). */
export const tokenPrincipal = (name: string) => `token:${name.toLowerCase().replaceAll('_', '-')}`;

export const permits = (scope: CompiledScope, action: Action, record: string): boolean => scope.actions.includes(action) && scope.covers(record);

/**
 * Whether `next` changes what `previous` trusts (needs `keys`): a create, another issuer,
 * other keys (or another source of them), another keySync account that may push keys.
 */
export function changesTrustAnchor(previous: TrustRecord | undefined, next: TrustRecord): boolean {
  if (!previous || previous.issuer !== next.issuer) return true;
  const material = (k: TrustRecord['keys']): object[] => (k.type === 'inline' ? k.jwks.keys : [k]);
  return (
    previous.keys.type !== next.keys.type ||
    !sameKeys(material(previous.keys), material(next.keys)) ||
    JSON.stringify(previous.keySync) !== JSON.stringify(next.keySync)
  );
}

/** The refusal: 403 ERR_FORBIDDEN naming the missing action and the record (a validated name, never a secret). */
export const outOfScope = (id: string, action: Action, record: string) =>
  new Forbidden({ message: `missing scope: "${action}" on record "${record}"`, detail: `${id} lacks ${action} on ${record}` });
