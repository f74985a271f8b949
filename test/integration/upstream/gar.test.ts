/**
 * Google Artifact Registry federation end to end: the real edge trades workload tokens at a
 * loopback Google STS (verified as a workload identity pool provider does: discovery and JWKS
 * fetched from the edge, allowed audiences, google.subject's 127 bytes) and, for a rule that
 * impersonates a service account, at a loopback IAM Credentials API that checks the
 * federated principal's roles/iam.workloadIdentityUser binding (test/support/vendors/google.mjs).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEdge } from '../../support/edge.mjs';
import { DEFAULT_UID, edgeAdmin, type TestCluster } from '../../support/kit.mjs';
import { garPrincipal, startGoogle, type GoogleFake, type GoogleMode, type GoogleState } from '../../support/vendors/google.mjs';
import { exchange, federatedRecord, goSeconds, type Edge, type Exchanged } from './support/edge';

const REGISTRY = 'europe-west1-docker.pkg.dev';
const IMAGE = `${REGISTRY}/acme-prod/images/app:v1`;
const PROVIDER = 'projects/123456789/locations/global/workloadIdentityPools/edge-pool/providers/edge-oidc';
const SA = 'puller@acme-prod.iam.gserviceaccount.com';

let edge: Edge;
let google: GoogleFake;
let direct: TestCluster;
let impersonating: TestCluster;
const answers: Exchanged[] = [];

function garUpstream(extra: Record<string, unknown> = {}) {
  return { type: 'gar', workloadIdentityProvider: PROVIDER, stsEndpoint: google.stsUrl, iamEndpoint: google.iamUrl, ...extra };
}

async function pull(cluster: TestCluster, serviceAccount: string): Promise<Exchanged> {
  const answer = await exchange(edge, IMAGE, await cluster.token({ serviceAccount }));
  answers.push(answer);
  return answer;
}

beforeAll(async () => {
  edge = await startEdge();
  google = await startGoogle({ providers: [{ name: PROVIDER, issuer: edge.url }], serviceAccounts: { [SA]: { members: [] } } });
  direct = await federatedRecord(edge, 'gar', REGISTRY, garUpstream());
  impersonating = await federatedRecord(edge, 'gar-sa', REGISTRY, garUpstream({ serviceAccount: SA }));
}, 90_000);

afterAll(async () => {
  await google?.stop();
  await edge?.stop();
});

describe('Artifact Registry federation through Google STS', () => {
  it('answers the kubelet with the federated token for user oauth2accesstoken, cached below its life', async () => {
    const { status, body, text } = await pull(direct, 'builder');
    expect(status, text).toBe(200);
    const password = body.auth![REGISTRY]!.password;
    expect(body.auth).toEqual({ [REGISTRY]: { username: 'oauth2accesstoken', password } });
    expect(body.cacheKeyType).toBe('Image'); // the record's default: the rule's repositories decide per image
    // The token is the federated principal of exactly this workload.
    expect(google.principalOf(password)).toBe(garPrincipal(PROVIDER, 'gar:team-a:builder'));
    expect(goSeconds(body.cacheDuration!)).toBeGreaterThan(0);
    expect(goSeconds(body.cacheDuration!)).toBeLessThan(3600);
  });

  it("sends STS a workload token whose aud is the provider's resource name", async () => {
    const { header, payload } = google.state.sts.accepted[0]!;
    expect(header).toEqual({ alg: 'RS256', kid: edge.keyRing.rsa!.active, typ: 'JWT' });
    expect(payload).toMatchObject({
      iss: edge.url,
      sub: 'gar:team-a:builder',
      aud: `//iam.googleapis.com/${PROVIDER}`,
      namespace: 'team-a',
      service_account: 'builder',
      service_account_uid: DEFAULT_UID,
    });
    expect(google.rp.counts).toEqual({ discovery: 1, jwks: 1 });
  });

  it('reuses the credential for the same identity', async () => {
    const calls = google.state.sts.calls;
    const again = await pull(direct, 'builder');
    expect(again.status).toBe(200);
    expect(google.state.sts.calls).toBe(calls);
  });

  it("impersonates the service account once explain's binding exists, and not before", async () => {
    const before = await pull(impersonating, 'builder');
    expect([before.status, before.body.error]).toEqual([403, 'ERR_UPSTREAM_DENIED']);
    expect(before.body.message).toContain('Google IAM Credentials');
    expect(google.state.iam.refused.at(-1)?.error).toBe('PERMISSION_DENIED');

    // Create exactly the binding explain prints, as the operator would.
    const res = await edgeAdmin(edge).explain({ token: await impersonating.token({ serviceAccount: 'builder' }), image: IMAGE });
    const explained = (await res.json()) as { grant: { upstream: { trust: { steps: { op: string; serviceAccount?: string; member?: string }[] } } } };
    const binding = explained.grant.upstream.trust.steps.find((s) => s.op === 'gcloud.bind-service-account' && s.serviceAccount === SA)!;
    google.state.serviceAccounts[SA]!.members.push(binding.member!);

    await new Promise((r) => setTimeout(r, 1_200)); // past the second a refusal is shared
    const { status, body, text } = await pull(impersonating, 'builder');
    expect(status, text).toBe(200);
    const issued = google.state.iam.issued.at(-1)!;
    expect(body.auth).toEqual({ [REGISTRY]: { username: 'oauth2accesstoken', password: issued.accessToken } });
    expect(issued).toMatchObject({ serviceAccount: SA, lifetime: 3600, principal: garPrincipal(PROVIDER, 'gar-sa:team-a:builder') });
    expect(google.principalOf(issued.accessToken)).toBe(`serviceAccount:${SA}`);
    // The lifetime is read from expireTime (RFC 3339 with nanoseconds).
    expect(goSeconds(body.cacheDuration!)).toBeGreaterThan(3000);
    expect(goSeconds(body.cacheDuration!)).toBeLessThan(3600);
  }, 20_000);

  it('signs ES256 when the rule asks (Google takes it)', async () => {
    const es = await federatedRecord(edge, 'gar-es', REGISTRY, garUpstream({ algorithm: 'ES256' }));
    const { status, text } = await pull(es, 'builder');
    expect(status, text).toBe(200);
    expect(google.state.sts.accepted.at(-1)!.header.alg).toBe('ES256');
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['an audience the provider does not allow', { audience: 'https://not-google.test' }, 'aud:'],
    [
      'a provider Google does not have',
      { workloadIdentityProvider: 'projects/123456789/locations/global/workloadIdentityPools/edge-pool/providers/nobody' },
      'The target service',
    ],
  ])('answers 403 ERR_UPSTREAM_DENIED naming Google STS for %s', async (_what, extra, reason) => {
    const wrong = await federatedRecord(edge, `gar-wrong-${answers.length}`, REGISTRY, garUpstream(extra));
    const { status, body } = await pull(wrong, 'builder');
    expect([status, body.error]).toEqual([403, 'ERR_UPSTREAM_DENIED']);
    expect(body.message).toContain('Google STS');
    expect(google.state.sts.refused.at(-1)?.reason).toContain(reason);
  });

  it("is refused when sub is longer than google.subject's 127 bytes, as explain warns", async () => {
    const long = 'x'.repeat(120);
    const { status, body } = await pull(direct, long);
    expect([status, body.error]).toEqual([403, 'ERR_UPSTREAM_DENIED']);
    expect(google.state.sts.refused.at(-1)?.reason).toContain('127 bytes');
    const res = await edgeAdmin(edge).explain({ token: await direct.token({ serviceAccount: long }), image: IMAGE });
    expect(JSON.stringify(await res.json())).toContain('at most 127');
  });

  it.each<[string, 'sts' | 'iam', GoogleMode, Partial<GoogleState>, string]>([
    ['STS answers 500', 'sts', 'down', {}, '5'],
    ['STS throttles with 429 and Retry-After', 'sts', 'throttle', { retryAfter: 9 }, '9'],
    ["STS answers after the edge's 4 s timeout", 'sts', 'slow', {}, '5'],
    ['STS answers HTML', 'sts', 'garbage', { garbage: 'html' }, '5'],
    ['STS answers without a token', 'sts', 'garbage', { garbage: 'no-token' }, '5'],
    ['STS answers without expires_in', 'sts', 'garbage', { garbage: 'no-expiry' }, '5'],
    ['IAM Credentials answers 500', 'iam', 'down', {}, '5'],
    ['IAM Credentials throttles', 'iam', 'throttle', { retryAfter: 3 }, '3'],
    ['IAM Credentials answers without expireTime', 'iam', 'garbage', { garbage: 'no-expiry' }, '5'],
  ])(
    'answers 503 ERR_UPSTREAM_UNAVAILABLE with Retry-After when %s',
    async (_what, api, mode, settings, retryAfter) => {
      // A fresh identity for each case, on the impersonating rule (whose binding covers it) for IAM cases.
      const serviceAccount = `outage-${api}-${mode}-${String(settings.garbage ?? '')}`.replace(/-$/, '');
      const cluster = api === 'iam' ? impersonating : direct;
      if (api === 'iam') google.state.serviceAccounts[SA]!.members.push(garPrincipal(PROVIDER, `gar-sa:team-a:${serviceAccount}`));
      Object.assign(google.state, settings);
      google.state[api].mode = mode;
      try {
        const answer = await pull(cluster, serviceAccount);
        expect(answer.status, answer.text).toBe(503);
        expect(answer.body.error).toBe('ERR_UPSTREAM_UNAVAILABLE');
        expect(answer.body.message).toContain(api === 'sts' ? 'Google STS' : 'Google IAM Credentials');
        expect(answer.retryAfter).toBe(retryAfter);
      } finally {
        google.state[api].mode = 'ok';
      }
      await new Promise((r) => setTimeout(r, 1_200));
      const again = await pull(cluster, serviceAccount);
      expect(again.status, again.text).toBe(200);
    },
    20_000,
  );

  it("never repeats Google's answers, the workload tokens or the access tokens in its logs", async () => {
    await new Promise((r) => setTimeout(r, 300));
    const logs = edge.logs();
    expect(logs).toContain('"upstream":"gar"');
    for (const a of answers) expect(a.text).not.toContain(google.state.canary);
    expect(logs).not.toContain(google.state.canary);
    for (const { token } of google.state.sts.accepted) expect(logs).not.toContain(token.split('.')[2]);
    for (const { accessToken } of google.state.iam.issued) expect(logs).not.toContain(accessToken);
  });
});

describe('the Google fakes themselves', () => {
  async function sts(body: Record<string, unknown>) {
    const res = await fetch(`${google.stsUrl}/v1/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as { error?: string } };
  }
  const valid = {
    grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
    audience: `//iam.googleapis.com/${PROVIDER}`,
    requested_token_type: 'urn:ietf:params:oauth:token-type:access_token',
    subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
    subject_token: 'x.y.z',
  };

  it.each<[string, Record<string, unknown>, string]>([
    ['another grant type', { grant_type: 'client_credentials' }, 'unsupported_grant_type'],
    ['another requested token type', { requested_token_type: 'urn:ietf:params:oauth:token-type:id_token' }, 'invalid_request'],
    ['an audience that is not a provider', { audience: 'https://example.com' }, 'invalid_target'],
    ['a subject token that is not a JWT', {}, 'invalid_grant'],
  ])('STS refuses %s', async (_what, change, error) => {
    const { status, body } = await sts({ ...valid, ...change });
    expect([status, body.error]).toEqual([400, error]);
  });

  it('IAM Credentials refuses a caller without a live federated token', async () => {
    const res = await fetch(`${google.iamUrl}/v1/projects/-/serviceAccounts/${SA}:generateAccessToken`, {
      method: 'POST',
      headers: { authorization: 'Bearer ya29.not-issued', 'content-type': 'application/json' },
      body: JSON.stringify({ scope: ['x'], lifetime: '3600s' }),
    });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { status: string } }).error.status).toBe('UNAUTHENTICATED');
  });
});
