import { describe, expect, it } from 'vitest';
import * as z from '../../../src/zod';
import { RevocationSchema, revocationRequestTargets } from '../../../src/policy/revocation-schema';

const targets = revocationRequestTargets();
const account = z.strictObject(targets.serviceAccount);
const byUid = z.strictObject(targets.serviceAccountUid);

describe('revocation targets held to Kubernetes grammar', () => {
  it.each([
    ['team-a', 'builder'],
    ['a', 'b'],
    ['kube-system', 'system.controller-1'],
    ['x'.repeat(63), `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`],
  ])('accepts namespace %j and name %j', (namespace, name) => {
    expect(account.safeParse({ kind: 'serviceAccount', namespace, name }).success).toBe(true);
  });

  it.each([
    ['an uppercase namespace', 'Team-A', 'builder', 'namespace'],
    ['a namespace with a trailing space', 'team-a ', 'builder', 'namespace'],
    ['a namespace with a zero-width space', 'team\u200ba', 'builder', 'namespace'],
    ['a namespace with a dot (a label has none)', 'team.a', 'builder', 'namespace'],
    ['a namespace of 64 characters', 'x'.repeat(64), 'builder', 'namespace'],
    ['a namespace ending in "-"', 'team-', 'builder', 'namespace'],
    ['an empty namespace', '', 'builder', 'namespace'],
    ['an uppercase name', 'team-a', 'Builder', 'name'],
    ['a padded name', 'team-a', ' builder', 'name'],
    ['a name with an empty label', 'team-a', 'a..b', 'name'],
    ['a name of 254 characters', 'team-a', `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(62)}`, 'name'],
    ['a name with a zero-width joiner', 'team-a', 'build\u200der', 'name'],
  ])('refuses %s', (_t, namespace, name, field) => {
    const r = account.safeParse({ kind: 'serviceAccount', namespace, name });
    expect(r.success).toBe(false);
    expect(r.error!.issues.map((i) => i.path.join('.'))).toEqual([field]);
  });

  it.each([
    ['11111111-2222-3333-4444-555555555555', true],
    ['0b6c2f3e-1a2b-4c5d-8e9f-a0b1c2d3e4f5', true],
    ['0B6C2F3E-1A2B-4C5D-8E9F-A0B1C2D3E4F5', false],
    [' 11111111-2222-3333-4444-555555555555', false],
    ['11111111-2222-3333-4444-555555555555\n', false],
    ['{11111111-2222-3333-4444-555555555555}', false],
    ['11111111222233334444555555555555', false],
    ['someone', false],
  ])('uid %j is accepted: %s', (uid, ok) => {
    expect(byUid.safeParse({ kind: 'serviceAccountUid', uid }).success).toBe(ok);
  });

  it('still reads a stored entry written before the check (the stored shape stays loose)', () => {
    const stored = { kind: 'serviceAccount', namespace: 'Team-A', name: 'x', id: 'rv-1', createdAt: 1, expiresAt: 2 };
    expect(RevocationSchema.safeParse(stored).success).toBe(true);
  });
});
