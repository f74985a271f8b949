/**
 * Scoped admin principals, wired (routes/admin-auth.ts, policy/admin-scope.ts): named tokens
 * ADMIN_TOKEN_<NAME> with their scopes in ADMIN_SCOPES, applied by every admin route; the global
 * tokens as before; malformed scope settings fail closed.
 */
import { env } from 'cloudflare:workers';
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import { app } from '../../../src/app';
import { expectEdgeError } from '../../support/expect-edge';
import { defaultRecord, makeIssuer, REGISTRY, saToken, type TestIssuer } from '../../support/worker/issuer';

const secret = () => [...crypto.getRandomValues(new Uint8Array(24))].map((b) => b.toString(16).padStart(2, '0')).join('');
const TOKENS = { TEAM_A: secret(), TEAM_A_OWNER: secret(), TEAM_B_READ: secret() };
const SCOPES = {
  tokens: {
    // What a team's CI gets: its records, no trust-anchor changes, no revocations.
    TEAM_A: { records: ['team-a-*'], actions: ['read', 'write'] },
    TEAM_A_OWNER: { records: ['team-a-*'], actions: ['read', 'write', 'keys', 'revoke'] },
    TEAM_B_READ: { records: ['team-b-*', 'shared'], actions: ['read'] },
  },
};
/** One env object for the file: settings are compiled once per env object, as in an isolate. */
const scopedEnv = {
  ...env,
  ADMIN_SCOPES: JSON.stringify(SCOPES),
  ADMIN_TOKEN_TEAM_A: TOKENS.TEAM_A,
  ADMIN_TOKEN_TEAM_A_OWNER: TOKENS.TEAM_A_OWNER,
  ADMIN_TOKEN_TEAM_B_READ: TOKENS.TEAM_B_READ,
};

async function call(token: string, path: string, init: RequestInit = {}, bindings: object = scopedEnv): Promise<Response> {
  const ctx = createExecutionContext();
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...init.headers };
  const res = await app.fetch(new Request(`https://edge.test/admin/v1${path}`, { ...init, headers }), bindings, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}
const ADMIN = () => env.ADMIN_TOKEN!;
const put = (token: string, name: string, record: unknown, headers: Record<string, string> = {}) =>
  call(token, `/issuers/${name}`, { method: 'PUT', body: JSON.stringify(record), headers });

/** A 403 ERR_FORBIDDEN whose message names the action and the record, and no token. */
async function expectRefusal(res: Response, action: string, record: string) {
  const body = await expectEdgeError(res, 403, 'ERR_FORBIDDEN');
  expect(body.message).toBe(`missing scope: "${action}" on record "${record}"`);
  expect(JSON.stringify(body)).not.toContain(TOKENS.TEAM_A);
}

let a: TestIssuer;
let b: TestIssuer;
beforeAll(async () => {
  [a, b] = await Promise.all([makeIssuer(), makeIssuer()]);
  expect((await put(ADMIN(), 'team-a-eu', defaultRecord(a))).status).toBe(201);
  expect((await put(ADMIN(), 'team-b-eu', defaultRecord(b))).status).toBe(201);
});

describe('a scoped token reading', () => {
  it('lists only the records its scope may read', async () => {
    const items = ((await (await call(TOKENS.TEAM_A, '/issuers')).json()) as { items: string[] }).items;
    expect(items).toContain('team-a-eu');
    expect(items).not.toContain('team-b-eu');
    const all = ((await (await call(ADMIN(), '/issuers')).json()) as { items: string[] }).items;
    expect(all).toEqual(expect.arrayContaining(['team-a-eu', 'team-b-eu']));
  });

  it.each([
    ['the record', '/issuers/team-b-eu'],
    ['its history', '/issuers/team-b-eu/history'],
    ['its keys status', '/issuers/team-b-eu/keys'],
    ['its revocations', '/issuers/team-b-eu/revocations'],
  ])('may not read %s of a record outside its scope', async (_t, path) => {
    await expectRefusal(await call(TOKENS.TEAM_A, path), 'read', 'team-b-eu');
  });

  it('is refused alike for a record that does not exist (a refusal says nothing of the record)', async () => {
    await expectRefusal(await call(TOKENS.TEAM_A, '/issuers/team-b-nothing'), 'read', 'team-b-nothing');
  });

  it('reads a record in its scope, its history, keys and revocations', async () => {
    for (const path of ['/issuers/team-a-eu', '/issuers/team-a-eu/history', '/issuers/team-a-eu/keys', '/issuers/team-a-eu/revocations']) {
      expect((await call(TOKENS.TEAM_A, path)).status, path).toBe(200);
    }
  });

  it('explains a token of a cluster in its scope, and refuses one of another', async () => {
    const explain = async (token: string, cluster: TestIssuer) =>
      call(token, '/explain', { method: 'POST', body: JSON.stringify({ token: await saToken(cluster), image: `${REGISTRY}/team-a/app:v1` }) });
    const mine = await explain(TOKENS.TEAM_A, a);
    expect(mine.status).toBe(200);
    expect(((await mine.json()) as { decision: string }).decision).toBe('allow');
    await expectRefusal(await explain(TOKENS.TEAM_A, b), 'read', 'team-b-eu');
    expect((await explain(TOKENS.TEAM_B_READ, b)).status).toBe(200);
  });

  it('answers its own principal and scope (GET /admin/v1/scope), and the global ones', async () => {
    expect(await (await call(TOKENS.TEAM_A, '/scope')).json()).toEqual({ principal: 'token:team-a', records: ['team-a-*'], actions: ['read', 'write'] });
    expect(await (await call(ADMIN(), '/scope')).json()).toEqual({ principal: 'token:admin', records: ['*'], actions: ['read', 'write', 'keys', 'revoke'] });
    expect(await (await call(env.ADMIN_READ_TOKEN!, '/scope')).json()).toEqual({ principal: 'token:read', records: ['*'], actions: ['read'] });
  });
});

describe('a scoped token writing', () => {
  it('replaces a record in its scope when the trust anchor stays, and the history says who', async () => {
    const res = await put(TOKENS.TEAM_A, 'team-a-eu', defaultRecord(a, { audiences: ['team-a-edge'] }));
    expect(res.status).toBe(200);
    const history = (await (await call(ADMIN(), '/issuers/team-a-eu/history')).json()) as { items: Array<{ by: string }> };
    expect(history.items[0]!.by).toBe('token:team-a');
  });

  it('may not write a record outside its scope, and nothing is written', async () => {
    await expectRefusal(await put(TOKENS.TEAM_A, 'team-b-eu', defaultRecord(b, { audiences: ['mine-now'] })), 'write', 'team-b-eu');
    await expectRefusal(await call(TOKENS.TEAM_A, '/issuers/team-b-eu', { method: 'DELETE' }), 'write', 'team-b-eu');
    const held = (await (await call(ADMIN(), '/issuers/team-b-eu')).json()) as { audiences: string[] };
    expect(held.audiences).not.toContain('mine-now');
  });

  it('may not write with a read-only scope', async () => {
    await expectRefusal(await put(TOKENS.TEAM_B_READ, 'team-b-eu', defaultRecord(b)), 'write', 'team-b-eu');
  });

  it.each([
    ['create a record (it sets the issuer and keys)', 'team-a-new', async () => defaultRecord(await makeIssuer())],
    ['move a record to another issuer', 'team-a-eu', async () => defaultRecord(await makeIssuer())],
    ['replace its keys', 'team-a-eu', async () => defaultRecord(a, { keys: { type: 'inline', jwks: (await makeIssuer()).jwks } })],
    [
      'name a keySync account (which could then push keys)',
      'team-a-eu',
      async () => defaultRecord(a, { keySync: { audience: 'edge-keys', serviceAccount: { namespace: 'kube-system', name: 'keys' } } }),
    ],
  ])('needs keys to %s', async (_t, name, build) => {
    const before = await (await call(ADMIN(), `/issuers/${name}`)).text();
    const record = await build();
    await expectRefusal(await put(TOKENS.TEAM_A, name, record), 'keys', name);
    expect(await (await call(ADMIN(), `/issuers/${name}`)).text()).toBe(before); // unchanged (or still absent)
    // The owner's token holds keys: the same change goes through.
    expect([200, 201]).toContain((await put(TOKENS.TEAM_A_OWNER, name, record)).status);
    // Back as it was for the next case: the created record deleted, team-a-eu on cluster a's keys.
    const restored = name === 'team-a-eu' ? await put(ADMIN(), name, defaultRecord(a)) : await call(ADMIN(), `/issuers/${name}`, { method: 'DELETE' });
    expect(restored.status).toBeLessThan(300);
  });

  it('deletes a record in its scope', async () => {
    expect((await put(TOKENS.TEAM_A_OWNER, 'team-a-gone', defaultRecord(await makeIssuer()))).status).toBe(201);
    expect((await call(TOKENS.TEAM_A, '/issuers/team-a-gone', { method: 'DELETE' })).status).toBe(204);
  });
});

describe('a scoped token revoking', () => {
  const revoke = (token: string, name: string) =>
    call(token, `/issuers/${name}/revocations`, { method: 'POST', body: JSON.stringify({ kind: 'serviceAccount', namespace: 'team-a', name: 'app' }) });

  it('needs revoke on the record to add or remove a revocation', async () => {
    await expectRefusal(await revoke(TOKENS.TEAM_A, 'team-a-eu'), 'revoke', 'team-a-eu');
    await expectRefusal(await revoke(TOKENS.TEAM_A_OWNER, 'team-b-eu'), 'revoke', 'team-b-eu');
    const res = await revoke(TOKENS.TEAM_A_OWNER, 'team-a-eu');
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as { id: string };
    await expectRefusal(await call(TOKENS.TEAM_A, `/issuers/team-a-eu/revocations/${id}`, { method: 'DELETE' }), 'revoke', 'team-a-eu');
    expect((await call(TOKENS.TEAM_A_OWNER, `/issuers/team-a-eu/revocations/${id}`, { method: 'DELETE' })).status).toBe(204);
  });
});

describe('the global principals, with scopes configured', () => {
  it('ADMIN_READ_TOKEN reads every record and writes none', async () => {
    const items = ((await (await call(env.ADMIN_READ_TOKEN!, '/issuers')).json()) as { items: string[] }).items;
    expect(items).toEqual(expect.arrayContaining(['team-a-eu', 'team-b-eu']));
    await expectRefusal(await put(env.ADMIN_READ_TOKEN!, 'team-a-eu', defaultRecord(a)), 'write', 'team-a-eu');
  });

  it('a wrong token is still 401', async () => {
    await expectEdgeError(await call(`${TOKENS.TEAM_A}x`, '/issuers'), 401, 'ERR_UNAUTHORIZED');
  });
});

describe('scope settings fail closed', () => {
  it.each([
    ['ADMIN_SCOPES is not JSON', { ADMIN_SCOPES: '{"tokens":' }],
    ['a scope names an unknown action', { ADMIN_SCOPES: JSON.stringify({ tokens: { TEAM_A: { records: ['*'], actions: ['all'] } } }) }],
    ['a secret ADMIN_TOKEN_<NAME> has no scope', { ADMIN_SCOPES: '{}', ADMIN_TOKEN_TEAM_A: TOKENS.TEAM_A }],
  ])('answers 503 ERR_NOT_CONFIGURED to every principal when %s', async (_t, bindings) => {
    const broken = { ...env, ...bindings };
    for (const token of [ADMIN(), TOKENS.TEAM_A]) {
      await expectEdgeError(await call(token, '/issuers', {}, broken), 503, 'ERR_NOT_CONFIGURED');
    }
  });

  it('answers 503, not 401, when scopes name tokens but no credential is set at all', async () => {
    const none = { ...env, ADMIN_TOKEN: undefined, ADMIN_READ_TOKEN: undefined, ADMIN_SCOPES: JSON.stringify(SCOPES) };
    await expectEdgeError(await call(TOKENS.TEAM_A, '/issuers', {}, none), 503, 'ERR_NOT_CONFIGURED');
  });

  it('lets a named token alone make the admin API configured', async () => {
    const only = { ...env, ADMIN_TOKEN: undefined, ADMIN_READ_TOKEN: undefined, ADMIN_SCOPES: JSON.stringify(SCOPES), ADMIN_TOKEN_TEAM_A: TOKENS.TEAM_A };
    expect((await call(TOKENS.TEAM_A, '/issuers', {}, only)).status).toBe(200);
  });
});
