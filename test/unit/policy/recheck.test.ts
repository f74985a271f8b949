import { describe, expect, it } from 'vitest';
import { EdgeError } from '../../../src/errors';
import { compileRecord, recheck, type HeldCredential, type Trust } from '../../../src/policy/evaluate';
import type { Revocation } from '../../../src/policy/revocation';
import { TrustRecordSchema } from '../../../src/policy/schema';

const NOW = 1_800_000_000;
const UID = '11111111-2222-3333-4444-555555555555';

const record = (over: Record<string, unknown> = {}, rule: Record<string, unknown> = {}) =>
  TrustRecordSchema.parse({
    name: 'prod',
    issuer: 'https://k8s.example',
    audiences: ['edge'],
    keys: { type: 'discovery' },
    rules: [{ name: 'team-a', namespaces: ['team-a'], registry: 'reg.example:5000', repositories: ['team-a/**'], actions: ['pull', 'push'], ...rule }],
    ...over,
  });

const trust = (over: Record<string, unknown> = {}, rule: Record<string, unknown> = {}, revocations: Revocation[] = []): Trust => ({
  compiled: compileRecord(record(over, rule)),
  revocations,
});

const held: HeldCredential = {
  cluster: 'https://k8s.example',
  namespace: 'team-a',
  serviceAccount: { name: 'builder', uid: UID },
  registry: 'reg.example:5000',
  service: 'reg.example:5000',
  rule: 'team-a',
  grants: [{ repositories: ['team-a/**'], actions: ['pull', 'push'] }],
  jti: 'cred-1',
  issuedAt: NOW - 600,
};

const entry = (e: Record<string, unknown>): Revocation => ({ id: 'rv-1', createdAt: NOW - 60, expiresAt: NOW + 3600, ...e }) as Revocation;

function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (err) {
    if (err instanceof EdgeError) return err.code;
    throw err;
  }
  return 'granted';
}

describe('recheck (a credential at the moment of use)', () => {
  it("returns the record name and the rule's current grant when nothing changed", () => {
    expect(recheck(trust(), held, NOW)).toEqual({ record: 'prod', grants: [{ repositories: ['team-a/**'], actions: ['pull', 'push'] }] });
  });

  it('returns the narrowed grant when the rule was narrowed', () => {
    expect(recheck(trust({}, { actions: ['pull'], repositories: ['team-a/app'] }), held, NOW).grants).toEqual([
      { repositories: ['team-a/app'], actions: ['pull'] },
    ]);
  });

  it.each<[string, Trust | undefined, string]>([
    ['the record was deleted', undefined, 'ERR_REVOKED'],
    ['the record is disabled', trust({ disabled: true }), 'ERR_ISSUER_DISABLED'],
    ['the rule was removed', trust({}, { name: 'renamed' }), 'ERR_REVOKED'],
    ['the rule no longer covers the namespace', trust({}, { namespaces: ['team-b'] }), 'ERR_REVOKED'],
    ['the rule no longer covers the service account', trust({}, { serviceAccounts: ['deployer'] }), 'ERR_REVOKED'],
    ['the rule now pins another uid', trust({}, { serviceAccountUids: ['other-uid'] }), 'ERR_REVOKED'],
    ['the rule now covers another registry', trust({}, { registry: 'other.example' }), 'ERR_REVOKED'],
    ['the rule now names another service', trust({}, { service: 'other-service' }), 'ERR_REVOKED'],
    ['the service account uid is revoked', trust({}, {}, [entry({ kind: 'serviceAccountUid', uid: UID })]), 'ERR_REVOKED'],
    ['the service account is revoked by name', trust({}, {}, [entry({ kind: 'serviceAccount', namespace: 'team-a', name: 'builder' })]), 'ERR_REVOKED'],
    ['the credential id is revoked', trust({}, {}, [entry({ kind: 'credential', jti: 'cred-1' })]), 'ERR_REVOKED'],
    ['credentials issued before now are void', trust({}, {}, [entry({ kind: 'issuedBefore', before: NOW - 599 })]), 'ERR_REVOKED'],
    ['a revocation of another uid', trust({}, {}, [entry({ kind: 'serviceAccountUid', uid: 'other' })]), 'granted'],
    ['a revocation of another credential', trust({}, {}, [entry({ kind: 'credential', jti: 'cred-2' })]), 'granted'],
    [
      'a revocation of another account of the same name elsewhere',
      trust({}, {}, [entry({ kind: 'serviceAccount', namespace: 'team-b', name: 'builder' })]),
      'granted',
    ],
    ['a cut-off before the credential was issued', trust({}, {}, [entry({ kind: 'issuedBefore', before: NOW - 600 })]), 'granted'],
    ['an expired revocation', trust({}, {}, [entry({ kind: 'serviceAccountUid', uid: UID, expiresAt: NOW })]), 'granted'],
  ])('when %s: %s', (_when, t, code) => {
    expect(codeOf(() => recheck(t, held, NOW))).toBe(code);
  });
});
