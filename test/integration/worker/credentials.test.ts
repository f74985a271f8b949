import { env } from 'cloudflare:workers';
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair, jwtVerify, SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  credentialRequest,
  defaultRecord,
  edgeFetch,
  makeIssuer,
  now,
  postCredentials,
  putRecord,
  saToken,
  type TestIssuer,
} from '../../support/worker/issuer';

let iss: TestIssuer;

beforeAll(async () => {
  iss = await makeIssuer();
  const res = await putRecord('creds', defaultRecord(iss));
  expect(res.status).toBe(201);
});

/** The fields a v1 kubelet decodes; anything else makes it drop the response. */
function strictKubeletDecode(body: Record<string, unknown>, apiVersion: string) {
  const allowed = new Set(['apiVersion', 'kind', 'cacheKeyType', 'cacheDuration', 'auth']);
  for (const k of Object.keys(body)) if (!allowed.has(k)) throw new Error(`unknown field ${k}`);
  expect(body.apiVersion).toBe(apiVersion);
  expect(body.kind).toBe('CredentialProviderResponse');
  expect(['Image', 'Registry', 'Global']).toContain(body.cacheKeyType);
  expect(body.cacheDuration).toMatch(/^(\d+h)?(\d+m)?\d+s$/);
  for (const [key, cred] of Object.entries(body.auth as Record<string, Record<string, unknown>>)) {
    expect(key).not.toBe('');
    expect(Object.keys(cred).sort()).toEqual(['password', 'username']);
  }
}

describe('POST /v1/credentials', () => {
  it.each(['v1', 'v1beta1', 'v1alpha1'])('grants a matching workload credentials in the request apiVersion (%s)', async (v) => {
    const apiVersion = `credentialprovider.kubelet.k8s.io/${v}`;
    const res = await postCredentials({ ...credentialRequest(await saToken(iss)), apiVersion });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, any>;
    strictKubeletDecode(body, apiVersion);
    expect(Object.keys(body.auth)).toEqual(['registry.test:5000']);
    const { username, password } = body.auth['registry.test:5000'];
    expect(username).toBe('team-a/builder');
    expect(username).not.toContain(':');
    const header = decodeProtectedHeader(password);
    expect(header.alg).toBe('ES256');
    expect(header.kid).toBe(JSON.parse(env.EDGE_SIGNING_KEYS!).active);
    const claims = decodeJwt(password) as Record<string, any>;
    expect(claims.aud).toBe('urn:edge-credential-provider:token-endpoint'); // never a registry's service
    expect(claims.ecp.service).toBe('registry.test:5000');
    expect(claims.iss).toBe('https://edge.test');
    expect(claims.ecp).toMatchObject({
      cluster: iss.issuer,
      namespace: 'team-a',
      serviceaccount: { name: 'builder', uid: '11111111-2222-3333-4444-555555555555' },
      registry: 'registry.test:5000',
      rule: 'team-a-pull',
      grants: [{ repositories: ['team-a/*'], actions: ['pull'] }],
    });
    expect(claims.exp! - claims.iat!).toBe(3600);
    expect(body.cacheDuration).toBe('55m0s');
  });

  it('accepts ES256 service-account tokens', async () => {
    const res = await postCredentials(credentialRequest(await saToken(iss, { alg: 'ES256' })));
    expect(res.status).toBe(200);
  });

  it('ends a credential with the token when the token has under a minute left', async () => {
    const t = now();
    const res = await postCredentials(credentialRequest(await saToken(iss, { now: t - 3580, lifetime: 3600 })));
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, any>;
    const claims = decodeJwt(body.auth['registry.test:5000'].password);
    expect(claims.exp).toBe(t + 20);
    expect(body.cacheDuration).toBe('0s'); // the kubelet must not cache it
  });

  it('never lets a credential outlive the token it was minted from', async () => {
    const res = await postCredentials(credentialRequest(await saToken(iss, { now: now() - 3000, lifetime: 3600 })));
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, any>;
    const claims = decodeJwt(body.auth['registry.test:5000'].password);
    expect(claims.exp! - claims.iat!).toBeLessThanOrEqual(600);
    expect(claims.exp! - claims.iat!).toBeGreaterThanOrEqual(590);
  });
});

describe('POST /v1/credentials denies', () => {
  const cases: Array<[string, () => Promise<unknown>, number, string]> = [
    ['a token with the wrong audience', async () => credentialRequest(await saToken(iss, { claims: { aud: ['someone-else'] } })), 401, 'ERR_AUDIENCE_MISMATCH'],
    [
      'a token from an unknown issuer',
      async () => credentialRequest(await saToken(iss, { claims: { iss: 'https://stranger.test' } })),
      401,
      'ERR_UNKNOWN_ISSUER',
    ],
    ['an expired token', async () => credentialRequest(await saToken(iss, { now: now() - 7200, lifetime: 3600 })), 401, 'ERR_TOKEN_EXPIRED'],
    [
      'a token past exp but within the 60 s skew (no credential may outlive it)',
      async () => credentialRequest(await saToken(iss, { now: now() - 3630, lifetime: 3600 })),
      401,
      'ERR_TOKEN_EXPIRED',
    ],
    [
      'a token whose iss holds a lone surrogate (not storable, not a URL)',
      async () => credentialRequest(await saToken(iss, { claims: { iss: 'https://cluster.test/\ud800' } })),
      401,
      'ERR_TOKEN_MALFORMED',
    ],
    [
      'a token with an issuer too long to have a record',
      async () => credentialRequest(await saToken(iss, { claims: { iss: `https://x.test/${'a'.repeat(600)}` } })),
      401,
      'ERR_UNKNOWN_ISSUER',
    ],
    [
      'a token expired by just over the 60 s skew',
      async () => credentialRequest(await saToken(iss, { now: now() - 3662, lifetime: 3600 })),
      401,
      'ERR_TOKEN_EXPIRED',
    ],
    ['a token that is not yet valid', async () => credentialRequest(await saToken(iss, { now: now() + 600 })), 401, 'ERR_TOKEN_NOT_YET_VALID'],
    [
      'a token issued in the future (no nbf)',
      async () => credentialRequest(await saToken(iss, { now: now() + 600, claims: { nbf: undefined } })),
      401,
      'ERR_TOKEN_NOT_YET_VALID',
    ],
    ['a token whose lifetime exceeds the maximum', async () => credentialRequest(await saToken(iss, { lifetime: 25 * 3600 })), 401, 'ERR_TOKEN_LIFETIME'],
    [
      'a token with a bad signature',
      async () => {
        const t = await saToken(iss);
        const [h, p, s] = t.split('.');
        return credentialRequest(`${h}.${p}.${s!.slice(0, -6)}${s!.slice(-6) === 'AAAAAA' ? 'BBBBBB' : 'AAAAAA'}`);
      },
      401,
      'ERR_BAD_SIGNATURE',
    ],
    [
      'a token signed by another key under a known kid',
      async () => {
        const other = await generateKeyPair('RS256');
        return credentialRequest(await saToken(iss, { signingKey: other.privateKey }));
      },
      401,
      'ERR_BAD_SIGNATURE',
    ],
    [
      'an unsigned token (alg none)',
      async () => {
        const enc = (o: unknown) => btoa(JSON.stringify(o)).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
        const claims = decodeJwt(await saToken(iss));
        return credentialRequest(`${enc({ alg: 'none', typ: 'JWT' })}.${enc(claims)}.`);
      },
      401,
      'ERR_ALGORITHM_NOT_ALLOWED',
    ],
    [
      'an HS256 token keyed with the public key',
      async () => {
        const claims = decodeJwt(await saToken(iss));
        const secret = new TextEncoder().encode(JSON.stringify(iss.rsa.jwk));
        const t = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', kid: iss.rsa.jwk.kid }).sign(secret);
        return credentialRequest(t);
      },
      401,
      'ERR_ALGORITHM_NOT_ALLOWED',
    ],
    ['a token with an unknown kid', async () => credentialRequest(await saToken(iss, { kid: 'nobody' })), 401, 'ERR_UNKNOWN_KEY'],
    [
      'a token that embeds its own key (jwk header)',
      async () => {
        const attacker = await generateKeyPair('RS256', { extractable: true });
        const claims = decodeJwt(await saToken(iss));
        const t = await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', jwk: await exportJWK(attacker.publicKey) }).sign(attacker.privateKey);
        return credentialRequest(t);
      },
      401,
      'ERR_BAD_SIGNATURE',
    ],
    [
      'a token without the kubernetes.io claim',
      async () => credentialRequest(await saToken(iss, { claims: { 'kubernetes.io': undefined } })),
      401,
      'ERR_CLAIMS_INVALID',
    ],
    [
      'a token whose sub disagrees with kubernetes.io',
      async () => credentialRequest(await saToken(iss, { claims: { sub: 'system:serviceaccount:team-a:admin' } })),
      401,
      'ERR_CLAIMS_INVALID',
    ],
    ['a token whose sub is not a service account', async () => credentialRequest(await saToken(iss, { claims: { sub: 'alice' } })), 401, 'ERR_CLAIMS_INVALID'],
    [
      'a token with a pod claim missing its uid',
      async () =>
        credentialRequest(
          await saToken(iss, { claims: { 'kubernetes.io': { namespace: 'team-a', serviceaccount: { name: 'builder', uid: 'u' }, pod: { name: 'p' } } } }),
        ),
      401,
      'ERR_CLAIMS_INVALID',
    ],
    ['a token without exp', async () => credentialRequest(await saToken(iss, { claims: { exp: undefined } })), 401, 'ERR_TOKEN_MALFORMED'],
    ['a request without a token', async () => credentialRequest(undefined), 401, 'ERR_TOKEN_MISSING'],
    ['a token that is not a JWT', async () => credentialRequest('not.a.jwt'), 401, 'ERR_TOKEN_MALFORMED'],
    ['a namespace no rule names', async () => credentialRequest(await saToken(iss, { namespace: 'team-b' })), 403, 'ERR_POLICY_DENIED'],
    [
      'a repository outside the granted patterns',
      async () => credentialRequest(await saToken(iss), 'registry.test:5000/team-b/app:v1'),
      403,
      'ERR_POLICY_DENIED',
    ],
    [
      'a nested repository that "*" does not cover',
      async () => credentialRequest(await saToken(iss), 'registry.test:5000/team-a/x/app'),
      403,
      'ERR_POLICY_DENIED',
    ],
    ['an image on another registry', async () => credentialRequest(await saToken(iss), 'docker.io/team-a/app'), 403, 'ERR_POLICY_DENIED'],
    ['a malformed image reference', async () => credentialRequest(await saToken(iss), 'registry.test:5000/Team-A/app'), 400, 'ERR_BAD_IMAGE'],
    [
      'an unsupported apiVersion',
      async () => ({ ...credentialRequest(await saToken(iss)), apiVersion: 'credentialprovider.kubelet.k8s.io/v2' }),
      400,
      'ERR_UNSUPPORTED_API_VERSION',
    ],
    ['the wrong kind', async () => ({ ...credentialRequest(await saToken(iss)), kind: 'CredentialProviderResponse' }), 400, 'ERR_UNSUPPORTED_API_VERSION'],
    ['malformed JSON', async () => '{"apiVersion": ', 400, 'ERR_BAD_REQUEST'],
    ['a body that is not a request object', async () => '[1,2,3]', 400, 'ERR_BAD_REQUEST'],
    ['an oversized body', async () => JSON.stringify({ ...credentialRequest('x'), pad: 'x'.repeat(70 * 1024) }), 413, 'ERR_BODY_TOO_LARGE'],
  ];

  it.each(cases)('%s', async (_title, body, status, code) => {
    const res = await postCredentials(await body());
    expect(res.status).toBe(status);
    const json = (await res.json()) as { error: string; message: string };
    expect(json.error).toBe(code);
    expect(typeof json.message).toBe('string');
    expect(JSON.stringify(json)).not.toMatch(/eyJ/); // no JWT echoed back
  });
});

describe('rules that pin identity', () => {
  let pinned: TestIssuer;
  beforeAll(async () => {
    pinned = await makeIssuer();
    await putRecord(
      'pinned',
      defaultRecord(pinned, {
        rules: [
          {
            name: 'pinned',
            namespaces: ['team-a'],
            serviceAccounts: ['builder'],
            serviceAccountUids: ['uid-1'],
            annotations: { 'example.com/tier': 'prod' },
            registry: 'registry.test:5000',
            repositories: ['team-a/*'],
          },
        ],
      }),
    );
  });
  const req = async (uid: string, annotations: Record<string, string>) =>
    postCredentials({ ...credentialRequest(await saToken(pinned, { uid })), serviceAccountAnnotations: annotations });

  it('grants the pinned uid with the required annotation', async () => {
    expect((await req('uid-1', { 'example.com/tier': 'prod' })).status).toBe(200);
  });
  it.each([
    ['a recreated service account (new uid)', 'uid-2', { 'example.com/tier': 'prod' }],
    ['a missing annotation', 'uid-1', {}],
    ['a different annotation value', 'uid-1', { 'example.com/tier': 'dev' }],
  ])('denies %s', async (_t, uid, annotations) => {
    const res = await req(uid, annotations);
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: string }).error).toBe('ERR_POLICY_DENIED');
  });
});

describe('GET /.well-known/registry-jwks.json', () => {
  it('publishes the public key that verifies issued credentials, and nothing private', async () => {
    const res = await edgeFetch('/.well-known/registry-jwks.json');
    expect(res.status).toBe(200);
    const jwks = (await res.json()) as { keys: Array<Record<string, unknown>> };
    for (const k of jwks.keys) expect(k).not.toHaveProperty('d');
    const cred = (await (await postCredentials(credentialRequest(await saToken(iss)))).json()) as Record<string, any>;
    const { payload } = await jwtVerify(cred.auth['registry.test:5000'].password, createLocalJWKSet(jwks as never), { issuer: 'https://edge.test' });
    expect(payload.sub).toBe('system:serviceaccount:team-a:builder');
  });
});
