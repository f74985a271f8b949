/**
 * What the edge writes to Workers Analytics Engine (src/metrics.ts, layout in
 * docs/observability.md). The Worker runs in workerd with real KV; the METRICS binding is a
 * recording dataset put in the env the app is called with, because miniflare's local Analytics
 * Engine binding (the one wrangler.toml declares, which the other tests get) drops every point.
 * Vendor answers and a jwks_uri come from a stub of the isolate's fetch: no network.
 */
import { env, exports } from 'cloudflare:workers';
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { UnsecuredJWT } from 'jose';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { app } from '../../../src/app';
import { forgetIssuerKeys } from '../../../src/identity/jwks';
import { issuerKeyStore } from '../../../src/store/issuer-keys';
import { forgetUpstreamCredentials } from '../../../src/upstream/cache';
import { DEFAULT_UID, REGISTRY } from '../../support/kit.mjs';
import { credentialRequest, defaultRecord, makeIssuer, putRecord, saToken, type TestIssuer } from '../../support/worker/issuer';

interface Point {
  indexes: string[];
  blobs: string[];
  doubles: number[];
}

/** An Analytics Engine dataset that keeps what is written. */
function recorder() {
  const points: Point[] = [];
  const dataset = { writeDataPoint: (p: Point) => points.push(structuredClone(p)) } as unknown as AnalyticsEngineDataset;
  return { points, dataset };
}

async function call(path: string, init: RequestInit, overrides: Record<string, unknown> = {}) {
  const ctx = createExecutionContext();
  const res = await app.fetch(new Request(`https://edge.test${path}`, init), { ...env, ...overrides }, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

async function exchange(body: unknown, overrides: Record<string, unknown> = {}) {
  const m = recorder();
  const res = await call('/v1/credentials', { method: 'POST', body: JSON.stringify(body) }, { METRICS: m.dataset, ...overrides });
  return { res, points: m.points, json: (await res.json()) as { error?: string; auth?: Record<string, { password: string }> } };
}

let iss: TestIssuer;
let vendorIss: TestIssuer;
let remoteIss: TestIssuer;
const CLOUDSMITH = 'docker.cloudsmith.io';
const JWKS_URI = 'https://metrics-cluster.test/openid/v1/jwks';

beforeAll(async () => {
  iss = await makeIssuer();
  expect((await putRecord('metrics', defaultRecord(iss))).status).toBe(201);
  vendorIss = await makeIssuer();
  const vendorRules = [
    {
      name: 'cs',
      namespaces: ['team-a'],
      registry: CLOUDSMITH,
      repositories: ['acme/**'],
      upstream: { type: 'cloudsmith', organization: 'acme', serviceAccount: 'puller' },
    },
    {
      name: 'ghcr',
      namespaces: ['team-a'],
      registry: 'ghcr.io',
      repositories: ['**'],
      upstream: { type: 'static', username: 'bot', secret: 'UPSTREAM_SECRET_GHCR' },
    },
  ];
  expect((await putRecord('metrics-vendor', defaultRecord(vendorIss, { rules: vendorRules }))).status).toBe(201);
  remoteIss = await makeIssuer('https://metrics-cluster.test');
  expect((await putRecord('metrics-remote', defaultRecord(remoteIss, { keys: { type: 'jwks_uri', uri: JWKS_URI } }))).status).toBe(201);
});

afterEach(() => {
  vi.restoreAllMocks();
  forgetUpstreamCredentials();
});

/** The isolate's fetch answering the stubbed URLs; anything else fails the test. */
function stubFetch(routes: Record<string, () => Response>) {
  const seen: string[] = [];
  vi.spyOn(globalThis, 'fetch').mockImplementation(async (input: RequestInfo | URL) => {
    const url = input instanceof Request ? input.url : String(input);
    seen.push(url);
    const route = Object.entries(routes).find(([prefix]) => url.startsWith(prefix));
    if (!route) throw new Error(`unexpected fetch ${url}`);
    return route[1]();
  });
  return seen;
}

const cloudsmithToken = () => new UnsecuredJWT({}).setIssuedAt().setExpirationTime('2h').encode();

describe('metrics of POST /v1/credentials', () => {
  it('writes one point for a grant: record as the index, rule, registry, OK, latency; no upstream, no cache', async () => {
    const { res, points } = await exchange(credentialRequest(await saToken(iss)));
    expect(res.status).toBe(200);
    expect(points).toEqual([
      { indexes: ['metrics'], blobs: ['exchange', 'ok', 'OK', 'metrics', 'team-a-pull', '', REGISTRY, ''], doubles: [expect.any(Number), 0] },
    ]);
    expect(points[0]!.doubles[0]).toBeGreaterThanOrEqual(0);
  });

  it.each([
    ['an image no rule allows', `${REGISTRY}/team-b/app:v1`, {}],
    ['a namespace no rule allows', `${REGISTRY}/team-a/app:v1`, { namespace: 'team-z' }],
  ])('writes a refusal with its code, the record and the registry, no rule (%s)', async (_, image, claims) => {
    const { res, points } = await exchange(credentialRequest(await saToken(iss, claims), image));
    expect(res.status).toBe(403);
    expect(points.map((p) => p.blobs)).toEqual([['exchange', 'denied', 'ERR_POLICY_DENIED', 'metrics', '', '', REGISTRY, '']]);
  });

  it('writes neither record nor registry for a token no record vouches for: nothing a caller makes up', async () => {
    const stranger = await makeIssuer('https://stranger.test');
    const { res, points } = await exchange(credentialRequest(await saToken(stranger), 'made-up-registry.test/x/y:z'));
    expect(res.status).toBe(401);
    expect(points).toEqual([{ indexes: [''], blobs: ['exchange', 'denied', 'ERR_UNKNOWN_ISSUER', '', '', '', '', ''], doubles: [expect.any(Number), 0] }]);
  });

  it('writes no token, pod name or uid', async () => {
    const token = await saToken(iss);
    const { points } = await exchange(credentialRequest(token));
    const written = JSON.stringify(points);
    for (const secret of [token, token.split('.')[2]!, 'builder-pod', DEFAULT_UID, 'builder']) expect(written).not.toContain(secret);
  });

  it('counts the JWKS fetches of an exchange (double2), and names the record of a 503', async () => {
    const seen = stubFetch({ [JWKS_URI]: () => Response.json(remoteIss.jwks) });
    const first = await exchange(credentialRequest(await saToken(remoteIss)));
    expect(first.res.status).toBe(200);
    expect(first.points[0]!.doubles[1]).toBe(1);
    const second = await exchange(credentialRequest(await saToken(remoteIss)));
    expect(second.points[0]!.doubles[1]).toBe(0);
    expect(seen).toEqual([JWKS_URI]);

    await forgetIssuerKeys(issuerKeyStore(env.TRUST), [{ issuer: remoteIss.issuer, keys: { type: 'jwks_uri', uri: JWKS_URI } }]);
    vi.restoreAllMocks();
    stubFetch({ [JWKS_URI]: () => new Response('down', { status: 500 }) });
    const down = await exchange(credentialRequest(await saToken(remoteIss)));
    expect(down.res.status).toBe(503);
    expect(down.points.map((p) => p.blobs)).toEqual([['exchange', 'error', 'ERR_JWKS_UNAVAILABLE', 'metrics-remote', '', '', '', '']]);
  });
});

describe('metrics of vendor calls', () => {
  const image = `${CLOUDSMITH}/acme/app:v1`;

  it('writes a vendor point beside the exchange: a miss that called the vendor, then a hit from the cache', async () => {
    const seen = stubFetch({ 'https://api.cloudsmith.io/openid/acme/': () => Response.json({ token: cloudsmithToken() }) });
    const first = await exchange(credentialRequest(await saToken(vendorIss), image));
    expect(first.res.status).toBe(200);
    expect(first.points.map((p) => p.blobs)).toEqual([
      ['exchange', 'ok', 'OK', 'metrics-vendor', 'cs', 'cloudsmith', CLOUDSMITH, 'miss'],
      ['vendor', 'ok', 'OK', 'metrics-vendor', 'cs', 'cloudsmith', CLOUDSMITH, 'miss'],
    ]);
    expect(first.points[1]!.indexes).toEqual(['metrics-vendor']);
    const second = await exchange(credentialRequest(await saToken(vendorIss), image));
    expect(second.points.map((p) => p.blobs[7])).toEqual(['hit', 'hit']);
    expect(seen).toHaveLength(1);
  });

  it.each([
    [403, 'denied', 'ERR_UPSTREAM_DENIED', 403],
    [502, 'error', 'ERR_UPSTREAM_UNAVAILABLE', 503],
  ])('writes a vendor answer %i as %s with its code', async (vendorStatus, outcome, code, status) => {
    stubFetch({ 'https://api.cloudsmith.io/': () => new Response('{}', { status: vendorStatus }) });
    // A service account of its own: no credential of another test in the location's cache.
    const { res, points } = await exchange(credentialRequest(await saToken(vendorIss, { serviceAccount: `refused-${vendorStatus}` }), image));
    expect(res.status).toBe(status);
    expect(points.map((p) => p.blobs)).toEqual([
      ['exchange', outcome, code, 'metrics-vendor', 'cs', 'cloudsmith', CLOUDSMITH, 'miss'],
      ['vendor', outcome, code, 'metrics-vendor', 'cs', 'cloudsmith', CLOUDSMITH, 'miss'],
    ]);
  });

  it('writes no vendor point for a static upstream (it calls no vendor), and never its secret', async () => {
    const secret = 'ghp_metrics-static-secret';
    const { res, points } = await exchange(credentialRequest(await saToken(vendorIss), 'ghcr.io/acme/app:v1'), { UPSTREAM_SECRET_GHCR: secret });
    expect(res.status).toBe(200);
    expect(points.map((p) => p.blobs)).toEqual([['exchange', 'ok', 'OK', 'metrics-vendor', 'ghcr', 'static', 'ghcr.io', '']]);
    expect(JSON.stringify(points)).not.toContain(secret);
  });
});

describe('metrics of /token', () => {
  const basic = (password: string) => `Basic ${btoa(`x:${password}`)}`;

  it('writes an issued token with the record, the rule and the registry', async () => {
    const { json } = await exchange(credentialRequest(await saToken(iss)));
    const password = json.auth![REGISTRY]!.password;
    const m = recorder();
    const res = await call(
      `/token?service=${REGISTRY}&scope=repository:team-a/app:pull`,
      { headers: { authorization: basic(password) } },
      { METRICS: m.dataset },
    );
    expect(res.status).toBe(200);
    expect(m.points).toEqual([
      { indexes: ['metrics'], blobs: ['token', 'ok', 'OK', 'metrics', 'team-a-pull', '', REGISTRY, ''], doubles: [expect.any(Number), 0] },
    ]);
    expect(JSON.stringify(m.points)).not.toContain(password.split('.')[2]);
  });

  it('writes a refused credential with its code and nothing the client sent', async () => {
    const m = recorder();
    const res = await call(
      '/token?service=made-up.test&scope=repository:x:pull',
      { headers: { authorization: basic('not-a-credential') } },
      { METRICS: m.dataset },
    );
    expect(res.status).toBe(401);
    expect(m.points.map((p) => p.blobs)).toEqual([['token', 'denied', 'ERR_CREDENTIAL_INVALID', '', '', '', '', '']]);
  });
});

describe('without the binding, or with the local one', () => {
  it('answers as usual when METRICS is absent', async () => {
    const res = await call('/v1/credentials', { method: 'POST', body: JSON.stringify(credentialRequest(await saToken(iss))) }, { METRICS: undefined });
    expect(res.status).toBe(200);
  });

  it("answers as usual with wrangler.toml's binding (miniflare's local dataset)", async () => {
    expect(env.METRICS).toBeDefined();
    const res = await exports.default.fetch(
      new Request('https://edge.test/v1/credentials', { method: 'POST', body: JSON.stringify(credentialRequest(await saToken(iss))) }),
    );
    expect(res.status).toBe(200);
  });

  it('answers as usual when the dataset throws', async () => {
    const throwing = {
      writeDataPoint: () => {
        throw new Error('over the limit');
      },
    };
    const res = await call('/v1/credentials', { method: 'POST', body: JSON.stringify(credentialRequest(await saToken(iss))) }, { METRICS: throwing });
    expect(res.status).toBe(200);
  });
});
