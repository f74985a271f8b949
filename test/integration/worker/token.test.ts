import { env, exports } from 'cloudflare:workers';
import { decodeProtectedHeader, exportJWK, generateKeyPair, jwtVerify, SignJWT, type JWTPayload } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Workload } from '../../../src/identity/workload';
import type { Grant } from '../../../src/policy/grant';
import { mintCredential } from '../../../src/registry/credential';
import { REGISTRY_TOKEN_TTL } from '../../../src/registry/registry-token';
import { loadKeyRing, type KeyRing } from '../../../src/signing/keys';
import { libtrustKeyId } from '../../../src/signing/libtrust';
import { putRecord } from '../../support/worker/issuer';

const SERVICE = 'registry.test:5000';
const workload: Workload = {
  cluster: 'https://cluster.k8s.test',
  record: 'token-tests',
  namespace: 'team-a',
  serviceAccount: { name: 'builder', uid: '11111111-2222-3333-4444-555555555555' },
  pod: { name: 'builder-pod', uid: '99999999-8888-7777-6666-555555555555' },
  expiresAt: 0,
};
const PUSH_PULL: Grant[] = [{ repositories: ['team-a/*'], actions: ['pull', 'push'] }];

let ring: KeyRing;
beforeAll(async () => {
  ring = await loadKeyRing(env.EDGE_SIGNING_KEYS);
  // /token re-checks every credential against its cluster's record: this one backs the
  // credentials minted below (its rule grants at least what any of them carries).
  const res = await putRecord('token-tests', {
    issuer: workload.cluster,
    audiences: ['edge-credential-provider'],
    keys: { type: 'jwks_uri', uri: 'https://cluster.k8s.test/openid/v1/jwks' },
    rules: [{ name: 'team-a-push', namespaces: ['team-a'], registry: SERVICE, repositories: ['**'], actions: ['pull', 'push'] }],
  });
  expect(res.status).toBeLessThan(300);
});

const now = () => Math.floor(Date.now() / 1000);

async function credential(opts: { grants?: Grant[]; ttl?: number; now?: number; service?: string; edgeIssuer?: string; ring?: KeyRing } = {}) {
  return mintCredential(opts.ring ?? ring, {
    edgeIssuer: opts.edgeIssuer ?? env.EDGE_ISSUER!,
    workload,
    registry: SERVICE,
    service: opts.service ?? SERVICE,
    rule: 'team-a-push',
    grants: opts.grants ?? PUSH_PULL,
    ttl: opts.ttl ?? 3600,
    now: opts.now ?? now(),
  });
}

const basic = (user: string, password: string) => `Basic ${btoa(`${user}:${password}`)}`;

function getToken(query: string, authorization?: string): Promise<Response> {
  return exports.default.fetch(new Request(`https://edge.test/token?${query}`, { headers: authorization ? { authorization } : {} }));
}

function postToken(form: Record<string, string>, contentType = 'application/x-www-form-urlencoded; charset=utf-8'): Promise<Response> {
  return exports.default.fetch(
    new Request('https://edge.test/token', {
      method: 'POST',
      headers: { 'content-type': contentType },
      body: new URLSearchParams(form).toString(),
    }),
  );
}

const q = (scopes: string[], service = SERVICE) => new URLSearchParams([['service', service], ...scopes.map((s) => ['scope', s])]).toString();

async function accessOf(token: string) {
  const { payload } = await jwtVerify(token, ring.active.publicKey, { audience: SERVICE });
  return payload.access;
}

interface ErrorBody {
  errors: { code: string; message: string; detail: { error: string } }[];
}

async function expectError(res: Response, status: number, wire: string, code: string, secret?: string) {
  const text = await res.text();
  expect(res.status).toBe(status);
  const body = JSON.parse(text) as ErrorBody;
  expect(body.errors).toHaveLength(1);
  expect(body.errors[0]).toMatchObject({ code: wire, detail: { error: code } });
  if (status === 401) expect(res.headers.get('www-authenticate')).toMatch(/^Basic realm="[^"]+"/);
  if (secret) expect(text).not.toContain(secret);
}

describe('GET /token (token.md, Basic auth)', () => {
  it('answers token, access_token, expires_in and issued_at with the granted access', async () => {
    const { username, password } = await credential();
    const res = await getToken(`${q(['repository:team-a/app:pull,push'])}&account=${encodeURIComponent(username)}`, basic(username, password));
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = (await res.json()) as { token: string; access_token: string; expires_in: number; issued_at: string };
    expect(Object.keys(body).sort()).toEqual(['access_token', 'expires_in', 'issued_at', 'token']);
    expect(body.access_token).toBe(body.token);
    expect(body.expires_in).toBe(REGISTRY_TOKEN_TTL);
    expect(Math.abs(Date.parse(body.issued_at) / 1000 - now())).toBeLessThan(5);
    expect(await accessOf(body.token)).toEqual([{ type: 'repository', name: 'team-a/app', actions: ['pull', 'push'] }]);
  });

  it('signs a token distribution accepts: libtrust kid, x5c, typ JWT, string aud, the registry-token issuer, a registry subject', async () => {
    const { username, password } = await credential();
    const body = (await (await getToken(q(['repository:team-a/app:pull']), basic(username, password))).json()) as { token: string };
    const header = decodeProtectedHeader(body.token);
    expect(header).toMatchObject({ alg: 'ES256', typ: 'JWT', kid: ring.active.kid, x5c: [ring.active.certificate] });
    const { payload } = await jwtVerify(body.token, ring.active.publicKey);
    expect(payload).toMatchObject({ iss: `${env.EDGE_ISSUER}/registry-token`, aud: SERVICE, sub: 'token-tests/team-a/builder' });
    expect(payload.nbf).toBe(payload.iat);
  });

  it('merges repeated scope parameters and leaves out what the credential does not grant', async () => {
    const { username, password } = await credential();
    const res = await getToken(
      q(['repository:team-a/app:pull', 'repository:team-a/app:push', 'repository:team-b/app:pull', 'registry:catalog:*', 'repository:team-a/x/y:pull']),
      basic(username, password),
    );
    expect(res.status).toBe(200);
    expect(await accessOf(((await res.json()) as { token: string }).token)).toEqual([{ type: 'repository', name: 'team-a/app', actions: ['pull', 'push'] }]);
  });

  it('grants pull but not push to a pull-only credential, without an error', async () => {
    const { username, password } = await credential({ grants: [{ repositories: ['team-a/*'], actions: ['pull'] }] });
    const res = await getToken(q(['repository:team-a/app:pull,push']), basic(username, password));
    expect(res.status).toBe(200);
    expect(await accessOf(((await res.json()) as { token: string }).token)).toEqual([{ type: 'repository', name: 'team-a/app', actions: ['pull'] }]);
  });

  it('answers an empty grant with 200 and a token without access', async () => {
    const { username, password } = await credential();
    const res = await getToken(q(['repository:team-b/app:pull']), basic(username, password));
    expect(res.status).toBe(200);
    expect(await accessOf(((await res.json()) as { token: string }).token)).toEqual([]);
  });

  it('issues a token without access when no scope is asked (the registry base check)', async () => {
    const { username, password } = await credential();
    const res = await getToken(q([]), basic(username, password));
    expect(res.status).toBe(200);
    expect(await accessOf(((await res.json()) as { token: string }).token)).toEqual([]);
  });

  it('does not let the token outlive the credential, even with under 60 s left', async () => {
    const t = now();
    const { username, password, expiresAt } = await credential({ now: t - 3570, ttl: 3600 }); // 30 s left
    const res = await getToken(q(['repository:team-a/app:pull']), basic(username, password));
    expect(res.status).toBe(200);
    const body = (await res.json()) as { token: string; expires_in: number };
    const { payload } = await jwtVerify(body.token, ring.active.publicKey);
    expect(payload.exp).toBe(expiresAt);
    expect(body.expires_in).toBeGreaterThan(0);
    expect(body.expires_in).toBeLessThanOrEqual(30);
  });

  it('accepts the credential whatever the Basic username is (containerd sends an empty one after a refresh_token 400)', async () => {
    const { password } = await credential();
    const res = await getToken(q(['repository:team-a/app:pull']), basic('', password));
    expect(res.status).toBe(200);
  });
});

describe('POST /token (oauth.md, grant_type=password)', () => {
  it('answers access_token, scope, expires_in and issued_at', async () => {
    const { username, password } = await credential();
    const res = await postToken({
      grant_type: 'password',
      username,
      password,
      service: SERVICE,
      client_id: 'containerd-client',
      scope: 'repository:team-a/app:pull,push repository:team-b/app:pull',
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = (await res.json()) as { access_token: string; scope: string; expires_in: number; issued_at: string };
    expect(Object.keys(body).sort()).toEqual(['access_token', 'expires_in', 'issued_at', 'scope']);
    expect(body.scope).toBe('repository:team-a/app:pull,push');
    expect(body.expires_in).toBe(REGISTRY_TOKEN_TTL);
    expect(await accessOf(body.access_token)).toEqual([{ type: 'repository', name: 'team-a/app', actions: ['pull', 'push'] }]);
  });

  it('answers an empty scope when nothing is granted', async () => {
    const { username, password } = await credential();
    const res = await postToken({ grant_type: 'password', username, password, service: SERVICE, client_id: 'c', scope: 'registry:catalog:*' });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { scope: string }).scope).toBe('');
  });

  it.each(['refresh_token', 'authorization_code', 'client_credentials'])(
    'answers grant_type=%s with 400 ERR_UNSUPPORTED_GRANT_TYPE, on which containerd retries as GET',
    async (grant) => {
      const res = await postToken({ grant_type: grant, refresh_token: 'opaque', service: SERVICE, client_id: 'containerd-client' });
      await expectError(res, 400, 'UNSUPPORTED_VALUE', 'ERR_UNSUPPORTED_GRANT_TYPE');
    },
  );

  it('rejects a POST without grant_type as a bad request', async () => {
    const { username, password } = await credential();
    await expectError(await postToken({ username, password, service: SERVICE }), 400, 'BAD_TOKEN_OPTION', 'ERR_BAD_REQUEST');
  });

  it('rejects a POST whose body is not a form as a bad request', async () => {
    const res = await postToken({ grant_type: 'password' }, 'application/json');
    await expectError(res, 400, 'BAD_TOKEN_OPTION', 'ERR_BAD_REQUEST');
  });
});

describe('401 at the token endpoint', () => {
  it('refuses a GET without any credentials: anonymous access is never granted', async () => {
    await expectError(await getToken(q(['repository:team-a/app:pull'])), 401, 'UNAUTHORIZED', 'ERR_CREDENTIAL_MISSING');
  });

  it('refuses a POST without a password', async () => {
    await expectError(
      await postToken({ grant_type: 'password', username: 'team-a/builder', service: SERVICE, client_id: 'c' }),
      401,
      'UNAUTHORIZED',
      'ERR_CREDENTIAL_MISSING',
    );
  });

  it('refuses a Basic header with an empty password', async () => {
    await expectError(await getToken(q([]), basic('team-a/builder', '')), 401, 'UNAUTHORIZED', 'ERR_CREDENTIAL_MISSING');
  });

  it.each([
    ['a Bearer header instead of Basic', 'Bearer abc.def.ghi'],
    ['Basic credentials that are not base64', 'Basic ***'],
    ['Basic credentials without a colon', `Basic ${btoa('no-colon-here')}`],
    ['Basic credentials that are not UTF-8', `Basic ${btoa('user:\xff\xfe')}`],
  ])('refuses %s as ERR_CREDENTIAL_INVALID', async (_t, authorization) => {
    await expectError(await getToken(q([]), authorization), 401, 'UNAUTHORIZED', 'ERR_CREDENTIAL_INVALID');
  });

  const bad: [string, () => Promise<string>, string][] = [
    ['a password that is not a JWS', async () => 'hunter2-not-a-credential', 'ERR_CREDENTIAL_INVALID'],
    ['a credential for another service (aud)', async () => (await credential({ service: 'other.registry.test' })).password, 'ERR_CREDENTIAL_INVALID'],
    ['a credential from another issuer', async () => (await credential({ edgeIssuer: 'https://other-edge.test' })).password, 'ERR_CREDENTIAL_INVALID'],
    [
      'a credential signed by a key that is not in the ring',
      async () => {
        const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
        const kid = await libtrustKeyId((await crypto.subtle.exportKey('spki', publicKey)) as ArrayBuffer);
        const { kty, crv, x, y, d } = await exportJWK(privateKey);
        const foreign = await loadKeyRing(JSON.stringify({ active: kid, keys: [{ kid, privateJwk: { kty, crv, x, y, d } }] }));
        const minted = await credential({ ring: foreign });
        await loadKeyRing(env.EDGE_SIGNING_KEYS); // the edge's own ring back in the isolate cache
        return minted.password;
      },
      'ERR_CREDENTIAL_INVALID',
    ],
    [
      'a credential whose kid is ours but whose signature is not',
      async () => {
        const { privateKey } = await generateKeyPair('ES256');
        return new SignJWT({ ecp: {} } as JWTPayload)
          .setProtectedHeader({ alg: 'ES256', kid: ring.active.kid, typ: 'ecp-credential+jwt' })
          .setIssuer(env.EDGE_ISSUER!)
          .setAudience(SERVICE)
          .setExpirationTime('1h')
          .sign(privateKey);
      },
      'ERR_CREDENTIAL_INVALID',
    ],
    [
      'a credential whose claims were altered',
      async () => {
        const [h, p, s] = (await credential({ grants: [{ repositories: ['team-a/*'], actions: ['pull'] }] })).password.split('.');
        const claims = JSON.parse(atob(p!.replace(/-/g, '+').replace(/_/g, '/')));
        claims.ecp.grants = [{ repositories: ['**'], actions: ['pull', 'push'] }];
        return `${h}.${btoa(JSON.stringify(claims)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')}.${s}`;
      },
      'ERR_CREDENTIAL_INVALID',
    ],
    [
      'a registry token replayed as a password',
      async () => {
        const { username, password } = await credential();
        return ((await (await getToken(q(['repository:team-a/app:pull']), basic(username, password))).json()) as { token: string }).token;
      },
      'ERR_CREDENTIAL_INVALID',
    ],
    ['an expired credential', async () => (await credential({ now: now() - 7200, ttl: 3600 })).password, 'ERR_CREDENTIAL_EXPIRED'],
    ['a credential that expires this very second', async () => (await credential({ now: now() - 60, ttl: 60 })).password, 'ERR_CREDENTIAL_EXPIRED'],
  ];

  it.each(bad)('refuses %s over GET, without echoing it', async (_t, make, code) => {
    const password = await make();
    await expectError(await getToken(q(['repository:team-a/app:pull']), basic('team-a/builder', password)), 401, 'UNAUTHORIZED', code, password);
  });

  it.each(bad)('refuses %s over POST, without echoing it', async (_t, make, code) => {
    const password = await make();
    const res = await postToken({
      grant_type: 'password',
      username: 'team-a/builder',
      password,
      service: SERVICE,
      client_id: 'c',
      scope: 'repository:team-a/app:pull',
    });
    await expectError(res, 401, 'UNAUTHORIZED', code, password);
  });
});

describe('400 at the token endpoint', () => {
  it('refuses a request without service', async () => {
    const { username, password } = await credential();
    await expectError(await getToken('scope=repository:team-a/app:pull', basic(username, password)), 400, 'BAD_TOKEN_OPTION', 'ERR_BAD_REQUEST');
  });

  it.each([
    ['GET', 'repository:team-a/App:pull'],
    ['GET', 'repository:team-a/app'],
    ['POST', 'repository:team-a/app:pull repository::pull'],
  ])('refuses a malformed scope over %s: %s', async (method, scope) => {
    const { username, password } = await credential();
    const res =
      method === 'GET'
        ? await getToken(q([scope]), basic(username, password))
        : await postToken({ grant_type: 'password', username, password, service: SERVICE, client_id: 'c', scope });
    await expectError(res, 400, 'BAD_TOKEN_OPTION', 'ERR_BAD_REQUEST', password);
  });
});

describe('other requests', () => {
  it('answers other methods with 405 and the allowed ones', async () => {
    const res = await exports.default.fetch(new Request('https://edge.test/token', { method: 'PUT' }));
    expect(res.headers.get('allow')).toBe('GET, HEAD, POST');
    await expectError(res, 405, 'UNSUPPORTED', 'ERR_METHOD_NOT_ALLOWED');
  });

  it('serves the certificate bundle for the registry at /.well-known/registry-certs.pem', async () => {
    const res = await exports.default.fetch(new Request('https://edge.test/.well-known/registry-certs.pem'));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/x-pem-file');
    const text = new TextDecoder().decode(await res.arrayBuffer());
    expect(text.replace(/-----(BEGIN|END) CERTIFICATE-----|\s/g, '')).toBe(ring.active.certificate);
  });
});
