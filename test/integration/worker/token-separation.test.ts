/**
 * Token separation (#20): what registries trust and what vendors trust never overlap. Registry
 * tokens and credentials are signed by the credential key, which is not in the OpenID Connect
 * JWKS; workload tokens by workload keys, which are only there. Registry tokens carry an issuer
 * of their own and a `sub` no workload token has. So a registry token never verifies at a
 * vendor, whatever `aud` the vendor checks.
 */
import { env } from 'cloudflare:workers';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadKeyRing } from '../../../src/signing/keys';
import { signWorkloadToken } from '../../../src/upstream/workload-token';
import { credentialRequest, defaultRecord, edgeFetch, makeIssuer, postCredentials, putRecord, saToken, type TestIssuer } from '../../support/worker/issuer';

const REGISTRY = 'registry.test:5000';
let iss: TestIssuer;
let password: string;
let registryToken: string;

const jwks = async (path: string) => createLocalJWKSet((await (await edgeFetch(path)).json()) as JSONWebKeySet);

beforeAll(async () => {
  iss = await makeIssuer();
  const rule = { name: 'pull', namespaces: ['team-a'], registry: REGISTRY, repositories: ['team-a/*'] };
  expect((await putRecord('separation', defaultRecord(iss, { rules: [rule] }))).status).toBe(201);
  const cred = (await (await postCredentials(credentialRequest(await saToken(iss)))).json()) as { auth: Record<string, { password: string }> };
  password = cred.auth[REGISTRY]!.password;
  const res = await edgeFetch(`/token?service=${encodeURIComponent(REGISTRY)}&scope=repository:team-a/app:pull`, {
    headers: { authorization: `Basic ${btoa(`team-a/builder:${password}`)}` },
  });
  expect(res.status).toBe(200);
  registryToken = ((await res.json()) as { token: string }).token;
});

describe('token separation', () => {
  it('gives registry tokens an issuer of their own and a subject no workload token has', async () => {
    const { payload } = await jwtVerify(registryToken, await jwks('/.well-known/registry-jwks.json'));
    expect(payload.iss).toBe(`${env.EDGE_ISSUER}/registry-token`);
    expect(payload.sub).toBe('separation/team-a/builder');
  });

  it('publishes no key in the OIDC JWKS that verifies a registry token or a credential', async () => {
    const oidc = await jwks('/.well-known/jwks.json');
    for (const token of [registryToken, password]) {
      await expect(jwtVerify(token, oidc)).rejects.toMatchObject({ code: 'ERR_JWKS_NO_MATCHING_KEY' });
    }
  });

  it('verifies workload tokens, ES256 and RS256, with the OIDC JWKS only', async () => {
    const ring = await loadKeyRing(env.EDGE_SIGNING_KEYS);
    const workload = { cluster: iss.issuer, record: 'separation', namespace: 'team-a', serviceAccount: { name: 'builder', uid: 'u' }, expiresAt: 0 };
    const now = Math.floor(Date.now() / 1000);
    for (const alg of ['ES256', 'RS256'] as const) {
      const token = await signWorkloadToken(ring, alg, { edgeIssuer: env.EDGE_ISSUER!, audience: 'a', subject: 'serviceAccount', rule: 'pull', workload, now });
      expect((await jwtVerify(token, await jwks('/.well-known/jwks.json'))).payload.sub).toBe('separation:team-a:builder');
      await expect(jwtVerify(token, await jwks('/.well-known/registry-jwks.json'))).rejects.toMatchObject({ code: 'ERR_JWKS_NO_MATCHING_KEY' });
    }
  });

  it('names the workload algorithms it has keys for in its discovery document', async () => {
    const doc = (await (await edgeFetch('/.well-known/openid-configuration')).json()) as { id_token_signing_alg_values_supported: string[] };
    expect(doc.id_token_signing_alg_values_supported).toEqual(['ES256', 'RS256']);
  });
});
