/**
 * Cloudflare Access in front of the admin API, against the real edge: application tokens
 * signed by a loopback "team" whose keys the edge fetches; writers by email; every bad token
 * refused; every change audited with who made it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAccessTeam } from '../../support/access.mjs';
import { startEdge } from '../../support/edge.mjs';
import { makeCluster, trustRecord } from '../../support/kit.mjs';

let team: Awaited<ReturnType<typeof startAccessTeam>>;
let edge: Awaited<ReturnType<typeof startEdge>>;

beforeAll(async () => {
  team = await startAccessTeam();
  edge = await startEdge({
    vars: { ACCESS_TEAM_DOMAIN: team.url, ACCESS_AUD: team.aud, ACCESS_WRITERS: 'alice@example.com, ci-client.access, Carol@Example.COM' },
  });
}, 90_000);
afterAll(async () => {
  await edge?.stop();
  await team?.stop();
});

const call = (path: string, token: string | undefined, init: RequestInit = {}) =>
  fetch(`${edge.url}/admin/v1${path}`, {
    ...init,
    headers: { ...(token ? { 'cf-access-jwt-assertion': token } : {}), 'content-type': 'application/json', ...init.headers },
  });

/** The edge's log line that `match` picks, once wrangler has passed it on (its output is buffered). */
async function logLine(match: (line: string) => boolean): Promise<string | undefined> {
  for (let i = 0; i < 50; i++) {
    const line = edge.logs().split('\n').find(match);
    if (line) return line;
    await new Promise((r) => setTimeout(r, 100));
  }
  return undefined;
}

async function status(res: Response) {
  const body = (await res.json().catch(() => ({}))) as { error?: string };
  return `${res.status} ${body.error ?? ''}`.trim();
}

describe('Cloudflare Access', () => {
  it('lets a listed writer change records, and audits the change with the writer', async () => {
    const cluster = await makeCluster();
    const res = await call('/issuers/access-a', await team.token({ email: 'alice@example.com' }), {
      method: 'PUT',
      body: JSON.stringify(trustRecord(cluster)),
    });
    expect(res.status).toBe(201);
    const audit = await logLine((l) => l.includes('"event":"admin"') && l.includes('"record":"access-a"'));
    expect(audit).toContain('"by":"access:alice@example.com"');
    expect(team.certsFetched()).toBeGreaterThanOrEqual(1);
  });

  it.each([
    ['an email written in another case than the list', 'ALICE@Example.com', 'access-case-1'],
    ['a listed email written in mixed case', 'carol@example.com', 'access-case-2'],
  ])('compares writers case-insensitively: %s may write', async (_t, email, name) => {
    const cluster = await makeCluster();
    const res = await call(`/issuers/${name}`, await team.token({ email }), { method: 'PUT', body: JSON.stringify(trustRecord(cluster)) });
    expect(res.status).toBe(201);
  });

  it('lets a service token listed by common name write', async () => {
    const cluster = await makeCluster();
    const res = await call('/issuers/access-ci', await team.token({ commonName: 'ci-client.access' }), {
      method: 'PUT',
      body: JSON.stringify(trustRecord(cluster)),
    });
    expect(res.status).toBe(201);
  });

  it('lets anyone else through Access read, but not write', async () => {
    const bob = await team.token({ email: 'bob@example.com' });
    expect((await call('/issuers', bob)).status).toBe(200);
    expect(await status(await call('/issuers/access-b', bob, { method: 'PUT', body: JSON.stringify(trustRecord(await makeCluster())) }))).toBe(
      '403 ERR_FORBIDDEN',
    );
  });

  it.each([
    ['an expired token', () => team.token({ exp: Math.floor(Date.now() / 1000) - 120 })],
    ['a token for another application (aud)', () => team.token({ aud: ['another-app'] })],
    ['a token from another team (iss)', () => team.token({ iss: 'https://other.cloudflareaccess.com' })],
    ['a token signed by a key the team does not publish', () => team.token({ foreignKey: true })],
    ['something that is not a JWT', async () => 'not-a-jwt'],
  ])('refuses %s with 401', async (_t, make) => {
    expect(await status(await call('/issuers', await make()))).toBe('401 ERR_UNAUTHORIZED');
  });

  it('refuses a request with neither an Access token nor a bearer', async () => {
    expect(await status(await call('/issuers', undefined))).toBe('401 ERR_UNAUTHORIZED');
  });

  it('judges a request by its Access token alone: a bad one is refused even beside a valid bearer', async () => {
    const res = await call('/issuers', await team.token({ foreignKey: true }), { headers: { authorization: `Bearer ${edge.adminToken}` } });
    expect(await status(res)).toBe('401 ERR_UNAUTHORIZED');
  });

  it('still takes the admin bearer token without Access', async () => {
    const res = await fetch(`${edge.url}/admin/v1/issuers`, { headers: { authorization: `Bearer ${edge.adminToken}` } });
    expect(res.status).toBe(200);
  });
});
