/**
 * Admin scopes (src/policy/admin-scope.ts): which action on which record a scope permits, how
 * ADMIN_SCOPES compiles (and fails closed), and which record changes need `keys`.
 */
import { describe, expect, it } from 'vitest';
import { EdgeError } from '../../../src/errors';
import {
  type Action,
  changesTrustAnchor,
  compileScope,
  compileScopes,
  EVERYTHING,
  outOfScope,
  permits,
  READ_EVERYTHING,
  tokenPrincipal,
} from '../../../src/policy/admin-scope';
import { type TrustRecord, TrustRecordSchema } from '../../../src/policy/schema';

const teamA = compileScope({ records: ['team-a-*', 'shared'], actions: ['read', 'write'] });

describe('permits', () => {
  it.each<[string, ReturnType<typeof compileScope>, Action, string, boolean]>([
    ['a glob covers a record it matches', teamA, 'read', 'team-a-prod', true],
    ['an exact name covers that record', teamA, 'write', 'shared', true],
    ['an exact name covers no longer name', teamA, 'read', 'shared-2', false],
    ['a glob does not cover another team', teamA, 'read', 'team-b-prod', false],
    ['a glob is anchored at the start', teamA, 'read', 'x-team-a-prod', false],
    ['an action not listed is refused on a covered record', teamA, 'revoke', 'team-a-prod', false],
    ['keys is not implied by write', teamA, 'keys', 'team-a-prod', false],
    ['no records covers nothing', compileScope({ records: [], actions: ['read'] }), 'read', 'team-a-prod', false],
    ['no actions permits nothing', compileScope({ records: ['*'], actions: [] }), 'read', 'team-a-prod', false],
    ['everything permits revoke anywhere', EVERYTHING, 'revoke', 'team-b-prod', true],
    ['everything permits keys anywhere', EVERYTHING, 'keys', 'x', true],
    ['read-everything reads anywhere', READ_EVERYTHING, 'read', 'team-b-prod', true],
    ['read-everything does not write', READ_EVERYTHING, 'write', 'team-b-prod', false],
  ])('%s', (_t, scope, action, record, expected) => {
    expect(permits(scope, action, record)).toBe(expected);
  });
});

const scopes = (json: unknown, bindings: string[] = [], writers: string[] = []) =>
  compileScopes(typeof json === 'string' ? json : JSON.stringify(json), bindings, writers);

describe('compileScopes', () => {
  it('compiles named tokens and Access identities (emails lowercased)', () => {
    const s = scopes(
      {
        tokens: { TEAM_A: { records: ['team-a-*'], actions: ['read', 'write'] } },
        access: { 'Alice@Example.com': { records: ['team-a-*'], actions: ['read'] }, '*': { records: [], actions: [] } },
      },
      ['ADMIN_TOKEN', 'ADMIN_TOKEN_TEAM_A'],
    );
    expect(permits(s.tokens.get('TEAM_A')!, 'write', 'team-a-eu')).toBe(true);
    expect(permits(s.access.get('alice@example.com')!, 'read', 'team-a-eu')).toBe(true);
    expect(permits(s.access.get('*')!, 'read', 'team-a-eu')).toBe(false);
  });

  it.each([
    ['unset', undefined],
    ['empty', ''],
    ['an empty object', '{}'],
  ])('is empty when ADMIN_SCOPES is %s', (_t, json) => {
    const s = compileScopes(json, ['ADMIN_TOKEN', 'ADMIN_READ_TOKEN'], []);
    expect(s.tokens.size + s.access.size).toBe(0);
  });

  it.each<[string, unknown, string[], string[]]>([
    ['not JSON', '{tokens:', [], []],
    ['an array', '[]', [], []],
    ['an unknown top-level member', { team: {} }, [], []],
    ['an unknown action', { tokens: { A: { records: ['*'], actions: ['delete'] } } }, [], []],
    ['a scope without actions', { tokens: { A: { records: ['*'] } } }, [], []],
    ['an unknown scope member', { tokens: { A: { records: ['*'], actions: [], extra: 1 } } }, [], []],
    ['a record pattern with a slash', { tokens: { A: { records: ['team/a'], actions: ['read'] } } }, [], []],
    ['a record pattern in upper case', { tokens: { A: { records: ['Team-A'], actions: ['read'] } } }, [], []],
    ['a token name in lower case', { tokens: { team_a: { records: ['*'], actions: ['read'] } } }, [], []],
    ['a token named ADMIN (its id would be the global token:admin)', { tokens: { ADMIN: { records: ['*'], actions: ['read'] } } }, [], []],
    ['a token named READ', { tokens: { READ: { records: ['*'], actions: ['read'] } } }, [], []],
    ['a secret ADMIN_TOKEN_<NAME> without a scope', {}, ['ADMIN_TOKEN_TEAM_B'], []],
    ['an Access writer that is also scoped', { access: { 'alice@example.com': { records: ['*'], actions: ['read'] } } }, [], ['alice@example.com']],
  ])('fails closed (503 ERR_NOT_CONFIGURED) on %s', (_t, json, bindings, writers) => {
    let thrown: unknown;
    try {
      scopes(json, bindings, writers);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(EdgeError);
    expect((thrown as EdgeError).code).toBe('ERR_NOT_CONFIGURED');
    expect((thrown as EdgeError).status).toBe(503);
  });

  it('names the binding without a scope in the log detail, never its value', () => {
    expect(() => scopes({}, ['ADMIN_TOKEN_TEAM_B'])).toThrow(expect.objectContaining({ detail: expect.stringContaining('ADMIN_TOKEN_TEAM_B') }));
  });
});

describe('tokenPrincipal and outOfScope', () => {
  it.each([
    ['TEAM_A', 'token:team-a'],
    ['CI', 'token:ci'],
    ['PLATFORM_2', 'token:platform-2'],
  ])('names ADMIN_TOKEN_%s as %s', (name, id) => {
    expect(tokenPrincipal(name)).toBe(id);
  });

  it('refuses with 403 ERR_FORBIDDEN naming the action and the record', () => {
    const err = outOfScope('token:team-a', 'write', 'team-b-prod');
    expect([err.status, err.code]).toEqual([403, 'ERR_FORBIDDEN']);
    expect(err.message).toBe('missing scope: "write" on record "team-b-prod"');
  });
});

const jwk = (kid: string) => ({
  kty: 'EC',
  crv: 'P-256',
  x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU',
  y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0',
  kid,
});
const record = (overrides: Record<string, unknown> = {}): TrustRecord =>
  TrustRecordSchema.parse({
    name: 'team-a-prod',
    issuer: 'https://cluster.team-a.example',
    audiences: ['edge'],
    keys: { type: 'inline', jwks: { keys: [jwk('k1')] } },
    rules: [{ name: 'pull', namespaces: ['team-a'], registry: 'registry.example', repositories: ['team-a/*'], actions: ['pull'] }],
    ...overrides,
  });

describe('changesTrustAnchor', () => {
  const base = record();
  it.each<[string, TrustRecord | undefined, TrustRecord, boolean]>([
    ['a create', undefined, base, true],
    ['the same record again', base, record(), false],
    ['another audience and rules', base, record({ audiences: ['other'], rules: [] }), false],
    ['another staleAfter of the same inline keys', base, record({ keys: { type: 'inline', jwks: { keys: [jwk('k1')] }, staleAfter: 7200 } }), false],
    ['disabling the record', base, record({ disabled: true }), false],
    ['another issuer', base, record({ issuer: 'https://elsewhere.example' }), true],
    ['another inline key', base, record({ keys: { type: 'inline', jwks: { keys: [jwk('k2')] } } }), true],
    ['an added inline key', base, record({ keys: { type: 'inline', jwks: { keys: [jwk('k1'), jwk('k2')] } } }), true],
    ['discovery instead of inline keys', base, record({ keys: { type: 'discovery' } }), true],
    [
      'another jwks_uri',
      record({ keys: { type: 'jwks_uri', uri: 'https://a.example/jwks' } }),
      record({ keys: { type: 'jwks_uri', uri: 'https://b.example/jwks' } }),
      true,
    ],
    [
      'the same jwks_uri',
      record({ keys: { type: 'jwks_uri', uri: 'https://a.example/jwks' } }),
      record({ keys: { type: 'jwks_uri', uri: 'https://a.example/jwks' } }),
      false,
    ],
    [
      'a keySync account added (it could push keys)',
      base,
      record({ keySync: { audience: 'edge-keys', serviceAccount: { namespace: 'kube-system', name: 'keys' } } }),
      true,
    ],
  ])('%s: %s', (_t, previous, next, expected) => {
    expect(changesTrustAnchor(previous, next)).toBe(expected);
  });
});
