/**
 * Cloudflare Access identities with scopes (ADMIN_SCOPES.access), against the real edge and a
 * loopback Access team: a listed email or service token gets its scope, `*` covers every other
 * identity, ACCESS_WRITERS stay global writers; naming one identity in both is refused (503).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAccessTeam } from '../../support/access.mjs';
import { startEdge } from '../../support/edge.mjs';
import { edgeAdmin, makeCluster, trustRecord } from '../../support/kit.mjs';

let team: Awaited<ReturnType<typeof startAccessTeam>>;
let edge: Awaited<ReturnType<typeof startEdge>>;

const SCOPES = {
  access: {
    'Oncall-A@example.com': { records: ['team-a-*'], actions: ['read', 'revoke'] },
    'ci-a.access': { records: ['team-a-*'], actions: ['read', 'write', 'keys'] },
    '*': { records: ['shared-*'], actions: ['read'] },
  },
};

beforeAll(async () => {
  team = await startAccessTeam();
  edge = await startEdge({
    vars: { ACCESS_TEAM_DOMAIN: team.url, ACCESS_AUD: team.aud, ACCESS_WRITERS: 'admin@example.com', ADMIN_SCOPES: JSON.stringify(SCOPES) },
  });
  const admin = edgeAdmin(edge);
  await admin.register('team-a-eu', trustRecord(await makeCluster()));
  await admin.register('team-b-eu', trustRecord(await makeCluster()));
  await admin.register('shared-eu', trustRecord(await makeCluster()));
}, 90_000);
afterAll(async () => {
  await edge?.stop();
  await team?.stop();
});

const call = (path: string, token: string, init: RequestInit = {}) =>
  fetch(`${edge.url}/admin/v1${path}`, { ...init, headers: { 'cf-access-jwt-assertion': token, 'content-type': 'application/json', ...init.headers } });
const list = async (token: string) => ((await (await call('/issuers', token)).json()) as { items: string[] }).items.sort();
async function refusal(res: Response) {
  const body = (await res.json()) as { error: string; message: string };
  return `${res.status} ${body.error} ${body.message}`;
}

describe('Access identities with scopes', () => {
  it('gives a listed email its scope, matched case-insensitively', async () => {
    const oncall = await team.token({ email: 'oncall-a@Example.com' });
    expect(await list(oncall)).toEqual(['team-a-eu']);
    const revoked = await call('/issuers/team-a-eu/revocations', oncall, { method: 'POST', body: JSON.stringify({ kind: 'issuedBefore' }) });
    expect(revoked.status).toBe(201);
    expect(await refusal(await call('/issuers/team-a-eu', oncall, { method: 'DELETE' }))).toBe(
      '403 ERR_FORBIDDEN missing scope: "write" on record "team-a-eu"',
    );
    expect(await refusal(await call('/issuers/team-b-eu/revocations', oncall, { method: 'POST', body: '{"kind":"issuedBefore"}' }))).toBe(
      '403 ERR_FORBIDDEN missing scope: "revoke" on record "team-b-eu"',
    );
  });

  it('gives a listed service token (common name) its scope', async () => {
    const ci = await team.token({ commonName: 'ci-a.access' });
    const created = await call('/issuers/team-a-new', ci, { method: 'PUT', body: JSON.stringify(trustRecord(await makeCluster())) });
    expect(created.status).toBe(201);
    expect(await refusal(await call('/issuers/team-b-new', ci, { method: 'PUT', body: JSON.stringify(trustRecord(await makeCluster())) }))).toBe(
      '403 ERR_FORBIDDEN missing scope: "write" on record "team-b-new"',
    );
  });

  it('gives every other identity the scope of "*", not read-everything', async () => {
    const bob = await team.token({ email: 'bob@example.com' });
    expect(await list(bob)).toEqual(['shared-eu']);
    expect((await call('/issuers/team-a-eu', bob)).status).toBe(403);
  });

  it('keeps ACCESS_WRITERS global writers', async () => {
    const writer = await team.token({ email: 'admin@example.com' });
    expect(await list(writer)).toEqual(expect.arrayContaining(['shared-eu', 'team-a-eu', 'team-b-eu']));
    const res = await call('/issuers/team-b-eu2', writer, { method: 'PUT', body: JSON.stringify(trustRecord(await makeCluster())) });
    expect(res.status).toBe(201);
  });
});

describe('Access scopes that contradict ACCESS_WRITERS', () => {
  let conflicted: Awaited<ReturnType<typeof startEdge>> | undefined;
  afterAll(async () => {
    await conflicted?.stop();
  });

  it('make every admin request 503 ERR_NOT_CONFIGURED (fail closed), whoever asks', async () => {
    conflicted = await startEdge({
      vars: { ACCESS_TEAM_DOMAIN: team.url, ACCESS_AUD: team.aud, ACCESS_WRITERS: 'oncall-a@example.com', ADMIN_SCOPES: JSON.stringify(SCOPES) },
    });
    const viaAccess = await fetch(`${conflicted.url}/admin/v1/issuers`, {
      headers: { 'cf-access-jwt-assertion': await team.token({ email: 'bob@example.com' }) },
    });
    const viaBearer = await fetch(`${conflicted.url}/admin/v1/issuers`, { headers: { authorization: `Bearer ${conflicted.adminToken}` } });
    for (const res of [viaAccess, viaBearer]) {
      expect(res.status).toBe(503);
      expect(((await res.json()) as { error: string }).error).toBe('ERR_NOT_CONFIGURED');
    }
  }, 90_000);
});
