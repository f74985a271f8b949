/**
 * Azure Container Registry federation end to end: the real edge presents its workload token as
 * a federated client assertion to a loopback Entra ID (RSA only; a federated credential
 * matched on issuer and subject exactly; discovery and JWKS fetched from the edge), then
 * trades Entra's token at a loopback ACR /oauth2/exchange (test/support/vendors/azure.mjs).
 */
import { importJWK, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEdge } from '../../support/edge.mjs';
import { edgeAdmin, makeCluster, trustRecord, type TestCluster } from '../../support/kit.mjs';
import { startAzure, type AzureFake, type AzureMode, type AzureState, type FederatedCredential } from '../../support/vendors/azure.mjs';
import { exchange, explainUpstream, federatedRecord, goSeconds, nowSeconds, pastSharedRefusal, type Edge, type Exchanged } from './support/edge';

const REGISTRY = 'acmeprod.azurecr.io';
const IMAGE = `${REGISTRY}/team-a/app:v1`;
const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const CLIENT = '0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0';
const NULL_USER = '00000000-0000-0000-0000-000000000000';

let edge: Edge;
let azure: AzureFake;
let cluster: TestCluster;
const answers: Exchanged[] = [];

function acrUpstream(extra: Record<string, unknown> = {}) {
  return { type: 'acr', tenantId: TENANT, clientId: CLIENT, entraEndpoint: azure.entraUrl, registryEndpoint: azure.acrUrl, ...extra };
}

/** A 12 h service-account token: the kubelet's cache is bounded by the token's life too, and these tests look at the vendor's. */
async function pull(c: TestCluster, serviceAccount: string): Promise<Exchanged> {
  const answer = await exchange(edge, IMAGE, await c.token({ serviceAccount, lifetime: 43200 }));
  answers.push(answer);
  return answer;
}

/** The federated credential for `record:team-a:<serviceAccount>`, as explain would print it. */
const credential = (sub: string): FederatedCredential => ({
  name: `ecp-${sub.replace(/:/g, '-')}`,
  issuer: edge.url,
  subject: sub,
  audiences: ['api://AzureADTokenExchange'],
});

beforeAll(async () => {
  edge = await startEdge();
  azure = await startAzure({ tenantId: TENANT, registry: REGISTRY, applications: { [CLIENT]: { acrPull: true } } });
  cluster = await federatedRecord(edge, 'acr', REGISTRY, acrUpstream(), { ttl: 43200 });
}, 90_000);

afterAll(async () => {
  await azure?.stop();
  await edge?.stop();
});

describe('ACR federation through Entra ID', () => {
  it("is refused until the federated credential explain prints exists, then answers with ACR's refresh token", async () => {
    const before = await pull(cluster, 'builder');
    expect([before.status, before.body.error]).toEqual([403, 'ERR_UPSTREAM_DENIED']);
    expect(before.body.message).toContain('Entra ID');
    expect(azure.state.entra.refused.at(-1)?.code).toBe('AADSTS700211');

    const explained = await explainUpstream(edge, cluster, 'builder', IMAGE);
    expect(explained).toMatchObject({ type: 'acr', tenantId: TENANT, clientId: CLIENT, registry: REGISTRY });
    azure.addCredential(CLIENT, explained.trust.document as FederatedCredential);
    await pastSharedRefusal();

    const { status, body, text } = await pull(cluster, 'builder');
    expect(status, text).toBe(200);
    const issued = azure.state.acr.issued.at(-1)!;
    expect(body.auth).toEqual({ [REGISTRY]: { username: NULL_USER, password: issued.refreshToken } });
    expect(body.cacheKeyType).toBe('Image'); // the record's default: the rule's repositories decide per image
    // The refresh token's own exp (3 h) less the margin, the rule's ttl being 12 h.
    expect(goSeconds(body.cacheDuration!)).toBeGreaterThan(10_000);
    expect(goSeconds(body.cacheDuration!)).toBeLessThanOrEqual(3 * 3600 - 300);
  });

  it('hands out a password docker can use: ACR grants a pull token for it', async () => {
    const password = azure.state.acr.issued.at(-1)!.refreshToken;
    const res = await fetch(`${azure.acrUrl}/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', service: REGISTRY, scope: 'repository:team-a/app:pull', refresh_token: password }).toString(),
    });
    expect(res.status).toBe(200);
    expect(azure.state.acr.pulls.at(-1)).toEqual({ clientId: CLIENT, scope: 'repository:team-a/app:pull' });
  });

  it('sends Entra an RS256 assertion for api://AzureADTokenExchange with the documented sub', async () => {
    const { header, payload, clientId } = azure.state.entra.accepted[0]!;
    expect(clientId).toBe(CLIENT);
    expect(header).toEqual({ alg: 'RS256', kid: edge.keyRing.rsa!.active, typ: 'JWT' });
    expect(payload).toMatchObject({
      iss: edge.url,
      sub: 'acr:team-a:builder',
      aud: 'api://AzureADTokenExchange',
      namespace: 'team-a',
      service_account: 'builder',
    });
    expect(azure.rp.counts).toEqual({ discovery: 1, jwks: 1 });
  });

  it('is refused for another service account: Entra matches the subject exactly', async () => {
    const { status, body } = await pull(cluster, 'deployer');
    expect([status, body.error]).toEqual([403, 'ERR_UPSTREAM_DENIED']);
    expect(azure.state.entra.refused.at(-1)?.code).toBe('AADSTS700213');
  });

  it('serves a whole namespace with one federated credential when the upstream says "subject": "namespace"', async () => {
    const ns = await federatedRecord(edge, 'acr-ns', REGISTRY, acrUpstream({ subject: 'namespace' }));
    const explained = await explainUpstream(edge, ns, 'anyone', IMAGE);
    expect(explained.workloadToken!.sub).toBe('acr-ns:team-a');
    azure.addCredential(CLIENT, explained.trust.document as FederatedCredential);
    const a = await pull(ns, 'builder');
    const b = await pull(ns, 'deployer');
    expect([a.status, b.status]).toEqual([200, 200]);
  });

  it("falls back to the Entra token's life, at most an hour, when ACR's refresh token is not a JWT", async () => {
    azure.addCredential(CLIENT, credential('acr:team-a:opaque'));
    azure.state.acr.refreshTokens = 'opaque';
    azure.state.tokenLifetime = 1800;
    try {
      const { status, body, text } = await pull(cluster, 'opaque');
      expect(status, text).toBe(200);
      expect(body.auth![REGISTRY]!.password).toMatch(/^acr-refresh-/);
      expect(goSeconds(body.cacheDuration!)).toBeLessThanOrEqual(1800 - 180);
      expect(goSeconds(body.cacheDuration!)).toBeGreaterThan(1500);
    } finally {
      azure.state.acr.refreshTokens = 'jwt';
      azure.state.tokenLifetime = 3599;
    }
  });

  it("answers 403 naming ACR when the registry refuses Entra's token", async () => {
    azure.addCredential(CLIENT, credential('acr:team-a:acr-denied'));
    azure.state.acr.mode = 'deny';
    try {
      const { status, body } = await pull(cluster, 'acr-denied');
      expect([status, body.error]).toEqual([403, 'ERR_UPSTREAM_DENIED']);
      expect(body.message).toContain('Azure Container Registry');
    } finally {
      azure.state.acr.mode = 'ok';
    }
  });

  it.each<[string, 'entra' | 'acr', AzureMode, Partial<AzureState>, string, string]>([
    ['Entra answers 500', 'entra', 'down', {}, '5', 'Entra ID'],
    ['Entra throttles with 429 and Retry-After', 'entra', 'throttle', { retryAfter: 11 }, '11', 'Entra ID'],
    ["Entra answers after the edge's 4 s timeout", 'entra', 'slow', {}, '5', 'Entra ID'],
    ['Entra answers HTML', 'entra', 'garbage', { garbage: 'html' }, '5', 'Entra ID'],
    ['Entra answers without a token', 'entra', 'garbage', { garbage: 'no-token' }, '5', 'Entra ID'],
    ['ACR answers 500', 'acr', 'down', {}, '5', 'Azure Container Registry'],
    ['ACR throttles', 'acr', 'throttle', { retryAfter: 2 }, '2', 'Azure Container Registry'],
    ['ACR answers without a refresh token', 'acr', 'garbage', { garbage: 'no-token' }, '5', 'Azure Container Registry'],
  ])(
    'answers 503 ERR_UPSTREAM_UNAVAILABLE with Retry-After when %s',
    async (_what, api, mode, settings, retryAfter, vendor) => {
      const serviceAccount = `outage-${api}-${mode}-${String(settings.garbage ?? '')}`.replace(/-$/, '');
      azure.addCredential(CLIENT, credential(`acr:team-a:${serviceAccount}`));
      Object.assign(azure.state, settings);
      azure.state[api].mode = mode;
      try {
        const answer = await pull(cluster, serviceAccount);
        expect(answer.status, answer.text).toBe(503);
        expect(answer.body.error).toBe('ERR_UPSTREAM_UNAVAILABLE');
        expect(answer.body.message).toContain(vendor);
        expect(answer.retryAfter).toBe(retryAfter);
      } finally {
        azure.state[api].mode = 'ok';
      }
      await pastSharedRefusal();
      const again = await pull(cluster, serviceAccount);
      expect(again.status, again.text).toBe(200);
    },
    20_000,
  );

  it('refuses, when the record is written, an ACR upstream that would sign ES256', async () => {
    const other = await makeCluster();
    const res = await edgeAdmin(edge).put(
      'acr-es256',
      trustRecord(other, {
        rules: [{ name: 'vendor', namespaces: ['team-a'], registry: REGISTRY, repositories: ['**'], upstream: acrUpstream({ algorithm: 'ES256' }) }],
      }),
    );
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: string; issues: string[] };
    expect(body.error).toBe('ERR_INVALID_RECORD');
    expect(body.issues.join('\n')).toContain('rules.0.upstream.algorithm');
  });

  it("never repeats Azure's answers, the assertions or the tokens in its responses or logs", async () => {
    await new Promise((r) => setTimeout(r, 300));
    const logs = edge.logs();
    expect(logs).toContain('"upstream":"acr"');
    for (const a of answers) expect(a.text).not.toContain(azure.state.canary);
    expect(logs).not.toContain(azure.state.canary);
    for (const { token } of azure.state.entra.accepted) expect(logs).not.toContain(token.split('.')[2]);
    for (const { refreshToken } of azure.state.acr.issued) expect(logs).not.toContain(refreshToken.split('.').at(-1));
  });
});

describe('the Entra fake itself', () => {
  /** A token the edge's own key (of `alg`) signed, as the edge would for sub acr:team-a:builder. */
  async function edgeSigned(alg: 'RS256' | 'ES256', claims: Record<string, unknown> = {}) {
    const ring = edge.keyRing;
    const entry = alg === 'RS256' ? ring.rsa!.keys.find((k) => k.kid === ring.rsa!.active)! : ring.workload!.keys.find((k) => k.kid === ring.workload!.active)!;
    const now = nowSeconds();
    return new SignJWT({ iss: edge.url, sub: 'acr:team-a:builder', aud: 'api://AzureADTokenExchange', iat: now, nbf: now, exp: now + 300, ...claims })
      .setProtectedHeader({ alg, kid: entry.kid, typ: 'JWT' })
      .sign(await importJWK(entry.privateJwk, alg));
  }

  async function token(assertion: string) {
    const res = await fetch(`${azure.entraUrl}/${TENANT}/oauth2/v2.0/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        client_id: CLIENT,
        scope: 'https://containerregistry.azure.net/.default',
        grant_type: 'client_credentials',
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: assertion,
      }).toString(),
    });
    return { status: res.status, body: (await res.json()) as { error?: string; error_codes?: number[]; access_token?: string } };
  }

  it('accepts an RS256 assertion matching a federated credential', async () => {
    const { status, body } = await token(await edgeSigned('RS256'));
    expect(status).toBe(200);
    expect(body.access_token).toBeTruthy();
  });

  it.each<[string, () => Promise<string>, number]>([
    ["signed ES256 with the edge's EC key", () => edgeSigned('ES256'), 5002738],
    ['for another audience', () => edgeSigned('RS256', { aud: 'api://SomethingElse' }), 700212],
    ['for a subject only differing in case', () => edgeSigned('RS256', { sub: 'acr:team-a:Builder' }), 700213],
    ['that has expired', () => edgeSigned('RS256', { iat: nowSeconds() - 900, nbf: nowSeconds() - 900, exp: nowSeconds() - 600 }), 700024],
  ])("refuses an assertion %s, with Entra's code", async (_what, make, code) => {
    const { status, body } = await token(await make());
    expect(status).toBeGreaterThanOrEqual(400);
    expect(body.error_codes).toEqual([code]);
  });

  it('holds at most 20 federated credentials per application and subjects of at most 600 characters', () => {
    expect(() => azure.addCredential(CLIENT, credential('x'.repeat(601)))).toThrow(/600/);
    const app = '11111111-2222-3333-4444-555555555555';
    for (let i = 0; i < 20; i++) azure.addCredential(app, credential(`r:ns:sa-${i}`));
    expect(() => azure.addCredential(app, credential('r:ns:sa-20'))).toThrow(/20/);
  });
});
