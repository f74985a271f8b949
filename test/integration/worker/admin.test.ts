import { env } from 'cloudflare:workers';
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import { app } from '../../../src/app';
import { forgetTrust } from '../../../src/store/trust';
import {
  ADMIN,
  credentialRequest,
  defaultRecord,
  edgeFetch,
  makeIssuer,
  postCredentials,
  putRecord,
  saToken,
  type TestIssuer,
} from '../../support/worker/issuer';

let iss: TestIssuer;
beforeAll(async () => {
  iss = await makeIssuer();
});

describe('admin API authentication', () => {
  it.each([
    ['no Authorization header', {}],
    ['a wrong token', { authorization: 'Bearer wrong' }],
    ['the right token with the wrong scheme', { authorization: `Basic ${env.ADMIN_TOKEN}` }],
    ['a prefix of the right token', { authorization: `Bearer ${env.ADMIN_TOKEN!.slice(0, -1)}` }],
  ])('rejects %s with 401', async (_t, headers) => {
    const res = await edgeFetch('/admin/v1/issuers', { headers });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer /);
    expect(((await res.json()) as { error: string }).error).toBe('ERR_UNAUTHORIZED');
  });
});

describe('trust records', () => {
  it('creates, reads, lists, replaces and deletes a record by name', async () => {
    const record = defaultRecord(iss);
    let res = await putRecord('crud', record);
    expect(res.status).toBe(201);
    const created = (await res.json()) as Record<string, unknown>;
    expect(created).toMatchObject({ name: 'crud', issuer: iss.issuer, disabled: false, algorithms: ['RS256', 'ES256'] });

    res = await edgeFetch('/admin/v1/issuers/crud', { headers: ADMIN() });
    expect(await res.json()).toEqual(created);

    res = await edgeFetch('/admin/v1/issuers', { headers: ADMIN() });
    expect(((await res.json()) as { items: string[] }).items).toContain('crud');

    res = await putRecord('crud', { ...record, audiences: ['other'] });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { audiences: string[] }).audiences).toEqual(['other']);

    res = await edgeFetch('/admin/v1/issuers/crud', { method: 'DELETE', headers: ADMIN() });
    expect(res.status).toBe(204);
    res = await edgeFetch('/admin/v1/issuers/crud', { headers: ADMIN() });
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: string }).error).toBe('ERR_NOT_FOUND');
  });

  it('rejects an invalid record with errors that name the bad fields', async () => {
    const res = await putRecord('bad', {
      ...defaultRecord(iss),
      audiences: [],
      rules: [{ name: 'r', namespaces: ['a'], registry: 'x y', repositories: ['a'] }],
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: string; issues: string[] };
    expect(body.error).toBe('ERR_INVALID_RECORD');
    expect(body.issues.some((i) => i.startsWith('audiences:'))).toBe(true);
    expect(body.issues.some((i) => i.startsWith('rules.0.registry:'))).toBe(true);
  });

  it('rejects a body whose name differs from the URL', async () => {
    const res = await putRecord('one', { ...defaultRecord(iss), name: 'two' });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toBe('ERR_INVALID_RECORD');
  });

  it('rejects a second record for an issuer that already has one', async () => {
    const other = await makeIssuer();
    expect((await putRecord('first', defaultRecord(other))).status).toBe(201);
    const res = await putRecord('second', defaultRecord(other));
    expect(res.status).toBe(409);
    expect(((await res.json()) as { error: string }).error).toBe('ERR_ISSUER_CONFLICT');
  });

  it('moves the issuer index when a record changes issuer', async () => {
    const a = await makeIssuer();
    const b = await makeIssuer();
    expect((await putRecord('moving', defaultRecord(a))).status).toBe(201);
    expect((await putRecord('moving', defaultRecord(b))).status).toBe(200);
    forgetTrust();
    const oldIssuer = await postCredentials(credentialRequest(await saToken(a)));
    expect(oldIssuer.status).toBe(401);
    expect(((await oldIssuer.json()) as { error: string }).error).toBe('ERR_UNKNOWN_ISSUER');
    expect((await postCredentials(credentialRequest(await saToken(b)))).status).toBe(200);
  });

  it('denies every token of a disabled issuer', async () => {
    const d = await makeIssuer();
    await putRecord('disabled', defaultRecord(d, { disabled: true }));
    const res = await postCredentials(credentialRequest(await saToken(d)));
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: string }).error).toBe('ERR_ISSUER_DISABLED');
  });
});

describe('explain', () => {
  async function explain(body: unknown) {
    const res = await edgeFetch('/admin/v1/explain', {
      method: 'POST',
      headers: { ...ADMIN(), 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  }

  beforeAll(async () => {
    await putRecord(
      'explain',
      defaultRecord(iss, {
        rules: [
          {
            name: 'annotated',
            namespaces: ['team-a'],
            annotations: { 'registry.example/team': 'a' },
            registry: 'registry.test:5000',
            repositories: ['team-a/**'],
            actions: ['pull', 'push'],
          },
          { name: 'team-a-pull', namespaces: ['team-a'], registry: 'registry.test:5000', repositories: ['team-a/*'] },
        ],
      }),
    );
  });

  it('says which rule grants what, and why earlier rules did not match', async () => {
    const { status, body } = await explain({ token: await saToken(iss), image: 'registry.test:5000/team-a/app:v1' });
    expect(status).toBe(200);
    expect(body.decision).toBe('allow');
    expect(body.identity).toMatchObject({ namespace: 'team-a', serviceAccount: { name: 'builder' } });
    expect(body.rules).toEqual([
      { rule: 'annotated', matched: false, reason: 'annotation "registry.example/team" is missing' },
      { rule: 'team-a-pull', matched: true },
    ]);
    expect(body.grant).toEqual({
      rule: 'team-a-pull',
      registry: 'registry.test:5000',
      service: 'registry.test:5000',
      grants: [{ repositories: ['team-a/*'], actions: ['pull'] }],
      ttl: 3600,
    });
    expect(JSON.stringify(body)).not.toMatch(/eyJ/);
  });

  it('uses annotations when given', async () => {
    const { body } = await explain({ token: await saToken(iss), image: 'registry.test:5000/team-a/x/app', annotations: { 'registry.example/team': 'a' } });
    expect(body.decision).toBe('allow');
    expect(body.grant.rule).toBe('annotated');
  });

  it('reports a denial with the trace', async () => {
    const { body } = await explain({ token: await saToken(iss, { namespace: 'team-b' }), image: 'registry.test:5000/team-a/app' });
    expect(body.decision).toBe('deny');
    expect(body.code).toBe('ERR_POLICY_DENIED');
    expect(body.rules.every((r: { matched: boolean }) => !r.matched)).toBe(true);
  });

  it('reports which token check failed', async () => {
    const { status, body } = await explain({ token: await saToken(iss, { claims: { aud: ['nope'] } }), image: 'registry.test:5000/team-a/app' });
    expect(status).toBe(200);
    expect(body).toMatchObject({ decision: 'deny', code: 'ERR_AUDIENCE_MISMATCH' });
  });

  it('rejects a malformed explain request', async () => {
    const { status, body } = await explain({ image: 'x' });
    expect(status).toBe(400);
    expect(body.error).toBe('ERR_BAD_REQUEST');
  });
});

describe('failing dependencies', () => {
  const brokenKv = {
    get: async () => {
      throw new Error('KV down');
    },
    put: async () => {
      throw new Error('KV down');
    },
    delete: async () => {
      throw new Error('KV down');
    },
    list: async () => {
      throw new Error('KV down');
    },
    getWithMetadata: async () => {
      throw new Error('KV down');
    },
  } as unknown as KVNamespace;

  async function call(path: string, init: RequestInit, overrides: Partial<typeof env>) {
    const ctx = createExecutionContext();
    const res = await app.fetch(new Request(`https://edge.test${path}`, init), { ...env, ...overrides }, ctx);
    await waitOnExecutionContext(ctx);
    return res;
  }

  it('denies with 503 when the trust store is unavailable', async () => {
    forgetTrust();
    const res = await call('/v1/credentials', { method: 'POST', body: JSON.stringify(credentialRequest(await saToken(iss))) }, { TRUST: brokenKv });
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: string }).error).toBe('ERR_STORE_UNAVAILABLE');
  });

  it('denies with 503 when the signing keys are not configured', async () => {
    const i2 = await makeIssuer();
    await putRecord('nokeys2', defaultRecord(i2));
    const res = await call(
      '/v1/credentials',
      { method: 'POST', body: JSON.stringify(credentialRequest(await saToken(i2))) },
      { EDGE_SIGNING_KEYS: '{"active":"x","keys":[]}' },
    );
    expect(res.status).toBe(503);
    const body = await res.text();
    expect(JSON.parse(body).error).toBe('ERR_NOT_CONFIGURED');
  });

  it('answers 503, not 401 or 200, when no admin credential is set (ADMIN_TOKEN, ADMIN_READ_TOKEN, Access)', async () => {
    const res = await call('/admin/v1/issuers', { headers: { authorization: 'Bearer ' } }, { ADMIN_TOKEN: undefined, ADMIN_READ_TOKEN: undefined });
    expect(res.status).toBe(503);
  });

  it('answers 503 for every admin request while Access is half-configured (fail closed)', async () => {
    const res = await call(
      '/admin/v1/issuers',
      { headers: { authorization: `Bearer ${env.ADMIN_TOKEN}` } },
      { ACCESS_TEAM_DOMAIN: 'https://team.cloudflareaccess.com' },
    );
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: string }).error).toBe('ERR_NOT_CONFIGURED');
  });

  it('stores a record that fails its schema as an error, never a cast', async () => {
    const i3 = await makeIssuer();
    await env.TRUST.put(`trust/v1/issuer/${encodeURIComponent(i3.issuer)}`, JSON.stringify({ issuer: i3.issuer, rules: 'all' }));
    forgetTrust();
    const res = await postCredentials(credentialRequest(await saToken(i3)));
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: string }).error).toBe('ERR_STORE_UNAVAILABLE');
  });
});
