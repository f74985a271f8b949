/**
 * Cloudsmith federation end to end: the real edge (wrangler dev) trades workload tokens with a
 * loopback Cloudsmith that verifies them as Cloudsmith does, fetching the edge's discovery
 * document and JWKS over HTTP (test/support/vendors/cloudsmith.mjs).
 */
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEdge } from '../../support/edge.mjs';
import { DEFAULT_UID, type TestCluster } from '../../support/kit.mjs';
import { startCloudsmith, type CloudsmithFake, type CloudsmithMode, type CloudsmithState } from '../../support/vendors/cloudsmith.mjs';
import { exchange, federatedRecord, goSeconds, nowSeconds, type Edge, type Exchanged } from './support/edge';

const REGISTRY = 'docker.cloudsmith.io';
const IMAGE = `${REGISTRY}/acme/team-a/app:v1`;
const RECORD = 'cs';

let edge: Edge;
let cloudsmith: CloudsmithFake;
let cluster: TestCluster;
/** Every answer the edge gave in this file: none may repeat a Cloudsmith body. */
const answers: Exchanged[] = [];

/** Lets `serviceAccount` of team-a in RECORD log in as the Cloudsmith service account "puller". */
function trust(serviceAccount: string, record = RECORD) {
  cloudsmith.state.organizations.acme!.providers.push({
    providerUrl: edge.url,
    requiredClaims: { sub: `${record}:team-a:${serviceAccount}`, aud: cloudsmith.url },
    serviceAccounts: ['puller'],
  });
}

async function pull(serviceAccount: string, c: TestCluster = cluster): Promise<Exchanged> {
  const answer = await exchange(edge, IMAGE, await c.token({ serviceAccount }));
  answers.push(answer);
  return answer;
}

beforeAll(async () => {
  edge = await startEdge();
  cloudsmith = await startCloudsmith({ organizations: { acme: { serviceAccounts: ['puller'], providers: [] } } });
  cluster = await federatedRecord(edge, RECORD, REGISTRY, { type: 'cloudsmith', organization: 'acme', serviceAccount: 'puller', endpoint: cloudsmith.url });
}, 90_000);

afterAll(async () => {
  await cloudsmith?.stop();
  await edge?.stop();
});

describe('Cloudsmith federation', () => {
  it('answers the kubelet with the Cloudsmith API token, cached below its remaining life', async () => {
    trust('builder');
    const { status, body } = await pull('builder');
    expect(status, JSON.stringify(body)).toBe(200);
    expect(cloudsmith.state.issued).toHaveLength(1);
    const issued = cloudsmith.state.issued[0]!;
    expect(body.kind).toBe('CredentialProviderResponse');
    expect(body.cacheKeyType).toBe('Image'); // the record's default: the rule's repositories decide per image
    expect(body.auth).toEqual({ [REGISTRY]: { username: 'token', password: issued } });
    const remaining = decodeJwt(issued).exp! - nowSeconds();
    const cached = goSeconds(body.cacheDuration!);
    expect(cached).toBeGreaterThan(0);
    expect(cached).toBeLessThan(remaining);
  });

  it('sends a workload token with the documented iss, sub, aud and alg and the workload claims', async () => {
    expect(cloudsmith.state.accepted.length).toBeGreaterThan(0);
    const { header, payload, org, slug } = cloudsmith.state.accepted[0]!;
    expect({ org, slug }).toEqual({ org: 'acme', slug: 'puller' });
    expect(header).toEqual({ alg: 'RS256', kid: edge.keyRing.rsa!.active, typ: 'JWT' });
    expect(payload).toMatchObject({
      iss: edge.url,
      sub: `${RECORD}:team-a:builder`,
      aud: cloudsmith.url,
      record: RECORD,
      cluster: cluster.issuer,
      namespace: 'team-a',
      service_account: 'builder',
      service_account_uid: DEFAULT_UID,
    });
    expect(payload.exp! - payload.iat!).toBe(300);
    // Cloudsmith found the keys itself, over HTTP, from the edge's discovery document.
    expect(cloudsmith.rp.counts).toEqual({ discovery: 1, jwks: 1 });
  });

  it("reads the credential's lifetime from the token Cloudsmith returns", async () => {
    trust('short-lived');
    cloudsmith.state.tokenLifetime = 1200;
    try {
      const { status, body } = await pull('short-lived');
      expect(status).toBe(200);
      const remaining = decodeJwt(body.auth![REGISTRY]!.password).exp! - nowSeconds();
      expect(remaining).toBeLessThanOrEqual(1200);
      expect(goSeconds(body.cacheDuration!)).toBeLessThan(remaining);
    } finally {
      cloudsmith.state.tokenLifetime = 5400;
    }
  });

  it('reuses the credential for the same identity without calling Cloudsmith again', async () => {
    trust('reuser');
    const first = await pull('reuser');
    const calls = cloudsmith.state.calls;
    const second = await pull('reuser'); // a fresh service-account token, as the kubelet sends each time
    expect(second.status).toBe(200);
    expect(second.body.auth).toEqual(first.body.auth);
    expect(cloudsmith.state.calls).toBe(calls);
  });

  it('calls Cloudsmith again for another service account', async () => {
    trust('other-a');
    trust('other-b');
    const calls = cloudsmith.state.calls;
    const a = await pull('other-a');
    const b = await pull('other-b');
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(cloudsmith.state.calls).toBe(calls + 2);
    expect(a.body.auth![REGISTRY]!.password).not.toBe(b.body.auth![REGISTRY]!.password);
    expect(cloudsmith.state.accepted.slice(-2).map((t) => t.payload.sub)).toEqual([`${RECORD}:team-a:other-a`, `${RECORD}:team-a:other-b`]);
  });

  it('makes one Cloudsmith call for 200 concurrent identical exchanges of a fresh identity', async () => {
    trust('burst');
    const tokens = await Promise.all(Array.from({ length: 200 }, () => cluster.token({ serviceAccount: 'burst' })));
    const calls = cloudsmith.state.calls;
    const results = await Promise.all(tokens.map((t) => exchange(edge, IMAGE, t)));
    expect(results.filter((r) => r.status !== 200).map((r) => r.text)).toEqual([]);
    expect(cloudsmith.state.calls).toBe(calls + 1);
    const passwords = new Set(results.map((r) => r.body.auth![REGISTRY]!.password));
    expect([...passwords]).toEqual([cloudsmith.state.issued.at(-1)]);
  });

  it('answers 403 ERR_UPSTREAM_DENIED naming Cloudsmith when a required claim differs', async () => {
    // Cloudsmith trusts `cs:team-a:builder` only; this workload's sub is `cs:team-a:intruder`.
    const calls = cloudsmith.state.calls;
    const { status, body } = await pull('intruder');
    expect(status).toBe(403);
    expect(body.error).toBe('ERR_UPSTREAM_DENIED');
    expect(body.message).toContain('Cloudsmith');
    expect(cloudsmith.state.calls).toBe(calls + 1);
    expect(cloudsmith.state.refused.at(-1)?.reason).toBe('claim:sub');
  });

  it('is refused when the record sends the workload token to a wrong audience', async () => {
    const wrong = await federatedRecord(edge, 'cs-wrong-aud', REGISTRY, {
      type: 'cloudsmith',
      organization: 'acme',
      serviceAccount: 'puller',
      endpoint: cloudsmith.url,
      audience: 'https://not-cloudsmith.test',
    });
    trust('builder', 'cs-wrong-aud');
    const { status, body } = await pull('builder', wrong);
    expect(status).toBe(403);
    expect(body.error).toBe('ERR_UPSTREAM_DENIED');
    expect(cloudsmith.state.refused.at(-1)?.reason).toBe('aud');
  });

  it('is refused when the record signs ES256 and Cloudsmith takes RS256', async () => {
    const es = await federatedRecord(edge, 'cs-es256', REGISTRY, {
      type: 'cloudsmith',
      organization: 'acme',
      serviceAccount: 'puller',
      endpoint: cloudsmith.url,
      algorithm: 'ES256',
    });
    trust('builder', 'cs-es256');
    const { status, body } = await pull('builder', es);
    expect(status).toBe(403);
    expect(body.error).toBe('ERR_UPSTREAM_DENIED');
    expect(cloudsmith.state.refused.at(-1)?.reason).toBe('alg');
  });

  it('names the organization and service account when Cloudsmith knows neither (404)', async () => {
    const lost = await federatedRecord(edge, 'cs-lost', REGISTRY, {
      type: 'cloudsmith',
      organization: 'nobody',
      serviceAccount: 'puller',
      endpoint: cloudsmith.url,
    });
    const { status, body } = await pull('builder', lost);
    expect(status).toBe(403);
    expect(body.error).toBe('ERR_UPSTREAM_DENIED');
    // The organisation is the record's setting: the log line names it, the workload's answer does not.
    expect(body.message).toContain('Cloudsmith');
    expect(body.message).not.toContain('nobody');
    await new Promise((r) => setTimeout(r, 300));
    expect(edge.logs()).toContain('nobody');
  });

  it('answers 403 when Cloudsmith refuses outright (mode deny)', async () => {
    trust('denied');
    cloudsmith.state.mode = 'deny';
    try {
      const { status, body } = await pull('denied');
      expect([status, body.error]).toEqual([403, 'ERR_UPSTREAM_DENIED']);
    } finally {
      cloudsmith.state.mode = 'ok';
    }
  });

  it.each<[string, CloudsmithMode, Partial<CloudsmithState>, string]>([
    ['answers 500', 'down', {}, '5'],
    ["answers after the edge's 4 s timeout", 'slow', {}, '5'],
    ['answers HTML', 'garbage', { garbage: 'html' }, '5'],
    ['answers JSON without a token', 'garbage', { garbage: 'no-token' }, '5'],
    ['answers a token that is not a JWT', 'garbage', { garbage: 'not-jwt' }, '5'],
    ['throttles with 429 and Retry-After', 'throttle', { retryAfter: 7 }, '7'],
  ])(
    'answers 503 ERR_UPSTREAM_UNAVAILABLE with Retry-After when Cloudsmith %s',
    async (_what, mode, settings, retryAfter) => {
      const serviceAccount = `outage-${mode}-${String(settings.garbage ?? '')}`.replace(/-$/, '');
      trust(serviceAccount);
      Object.assign(cloudsmith.state, settings, { mode });
      const calls = cloudsmith.state.calls;
      try {
        const answer = await pull(serviceAccount);
        expect(answer.status, answer.text).toBe(503);
        expect(answer.body.error).toBe('ERR_UPSTREAM_UNAVAILABLE');
        expect(answer.body.message).toContain('Cloudsmith');
        expect(answer.retryAfter).toBe(retryAfter);
        expect(cloudsmith.state.calls).toBe(calls + 1);
      } finally {
        cloudsmith.state.mode = 'ok';
      }
      // Nothing was cached: once Cloudsmith is back, the same identity gets its token (after the
      // second in which the edge shares a refusal with concurrent requests; the client waits longer).
      await new Promise((r) => setTimeout(r, 1_200));
      const again = await pull(serviceAccount);
      expect(again.status, again.text).toBe(200);
    },
    20_000,
  );

  it("never repeats Cloudsmith's answers, the workload tokens or the API tokens in its responses or logs", async () => {
    await new Promise((r) => setTimeout(r, 300)); // let the last log lines arrive
    const logs = edge.logs();
    expect(logs).toContain('"upstream":"cloudsmith"');
    expect(answers.length).toBeGreaterThan(10);
    for (const a of answers) expect(a.text).not.toContain(cloudsmith.state.canary);
    expect(logs).not.toContain(cloudsmith.state.canary);
    for (const { token } of cloudsmith.state.accepted) expect(logs).not.toContain(token.split('.')[2]);
    for (const issued of cloudsmith.state.issued) expect(logs).not.toContain(issued.split('.')[2]);
  });
});

describe('the Cloudsmith fake itself', () => {
  async function post(path: string, body: unknown) {
    const res = await fetch(`${cloudsmith.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as { detail?: string; token?: string } };
  }

  it.each<[string, string, unknown, number]>([
    ['no oidc_token', '/openid/acme/', { service_slug: 'puller' }, 400],
    ['no service_slug', '/openid/acme/', { oidc_token: 'x.y.z' }, 400],
    ['an unknown organization', '/openid/nobody/', { oidc_token: 'x.y.z', service_slug: 'puller' }, 404],
    ['an unknown service account', '/openid/acme/', { oidc_token: 'x.y.z', service_slug: 'nobody' }, 404],
    ['a token that is not a JWT', '/openid/acme/', { oidc_token: 'x.y.z', service_slug: 'puller' }, 401],
  ])('answers %s with its documented status', async (_what, path, body, status) => {
    const answer = await post(path, body);
    expect(answer.status).toBe(status);
    expect(answer.body.detail).toBeTruthy();
  });
});
