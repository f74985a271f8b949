/**
 * federate's refusals and cache key (upstream/federate.ts): what a workload's answer may say,
 * the record's vendorCacheEpoch as an admin's purge, and which workloads share a vendor
 * credential (only those whose own exchanges the vendor could not tell apart).
 */
import { describe, expect, it } from 'vitest';
import type { Workload } from '../../../src/identity/workload';
import { loadKeyRing } from '../../../src/signing/keys';
import { forgetUpstreamCredentials } from '../../../src/upstream/cache';
import { federate, type FederateDeps } from '../../../src/upstream/federate';
import { UpstreamSchema } from '../../../src/upstream/schema';
import { generateKeyRing } from '../../../scripts/lib/keys.mjs';

const NOW = 1_800_000_000;
const GHCR = { name: 'pull', registry: 'ghcr.io' };
const CLOUDSMITH = { name: 'pull', registry: 'docker.cloudsmith.io' };
const b64 = (o: unknown) => btoa(JSON.stringify(o)).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
/** A vendor token the edge can read a lifetime from (a JWT with exp), numbered. */
const vendorJwt = (n: number) => `${b64({ alg: 'none' })}.${b64({ exp: NOW + 3600, n })}.x`;
const workload: Workload = {
  cluster: 'https://c.example',
  record: 'prod',
  namespace: 'team-a',
  serviceAccount: { name: 'builder', uid: 'u' },
  expiresAt: NOW + 3600,
};

async function deps(over: Partial<FederateDeps> = {}): Promise<FederateDeps> {
  return {
    ring: await loadKeyRing(JSON.stringify(generateKeyRing())),
    edgeIssuer: 'https://edge.example',
    fetch: async () => Response.json({ token: 'vendor-token' }),
    now: NOW,
    clock: () => NOW * 1000,
    secret: 's',
    waitUntil: () => {},
    secrets: () => undefined,
    allowEndpointOverrides: false,
    ...over,
  };
}

describe('a static upstream', () => {
  it.each([
    ['a binding that is not set', 'UPSTREAM_SECRET_MISSING', () => undefined],
    ['a binding outside the UPSTREAM_SECRET_ convention (a record written before it), even if set', 'SENTRY_DSN', () => 'https://key@sentry'],
  ])('answers 503 ERR_NOT_CONFIGURED for %s, naming the binding in the log detail only', async (_t, secret, secrets) => {
    const upstream = UpstreamSchema.parse({ type: 'static', username: 'bot', secret });
    const err = (await federate(upstream, GHCR, workload, await deps({ secrets })).catch((e: unknown) => e)) as {
      code: string;
      status: number;
      message: string;
      detail: string;
    };
    expect([err.code, err.status]).toEqual(['ERR_NOT_CONFIGURED', 503]);
    expect(err.message).not.toContain(secret);
    expect(err.detail).toContain(secret);
  });

  it('hands out a binding that follows the convention', async () => {
    const upstream = UpstreamSchema.parse({ type: 'static', username: 'bot', secret: 'UPSTREAM_SECRET_GHCR' });
    const credential = await federate(upstream, GHCR, workload, await deps({ secrets: (n) => (n === 'UPSTREAM_SECRET_GHCR' ? 'pat' : undefined) }));
    expect(credential).toMatchObject({ username: 'bot', password: 'pat' });
  });
});

describe("the record's vendorCacheEpoch", () => {
  it('purges cached vendor credentials: a new epoch asks the vendor again, the same epoch does not', async () => {
    let calls = 0;
    const d = await deps({
      fetch: async () => {
        calls++;
        return Response.json({ token: vendorJwt(calls) });
      },
    });
    const upstream = UpstreamSchema.parse({ type: 'cloudsmith', organization: 'acme', serviceAccount: 'epoch-test' });
    const first = await federate(upstream, CLOUDSMITH, workload, d);
    expect((await federate(upstream, CLOUDSMITH, workload, d)).password).toBe(first.password);
    expect(calls).toBe(1);
    const purged = await federate(upstream, CLOUDSMITH, workload, { ...d, cacheEpoch: 1 });
    expect(calls).toBe(2);
    expect(purged.password).not.toBe(first.password);
    expect((await federate(upstream, CLOUDSMITH, workload, { ...d, cacheEpoch: 1 })).password).toBe(purged.password);
    expect(calls).toBe(2);
  });
});

/**
 * A vendor that mints a new credential for every exchange and remembers what it was shown: the
 * workload token's claims but its times and id, and every other parameter. Cloudsmith's one
 * call, or AWS's two (STS, whose view holds the RoleSessionName, then ECR, which mints).
 */
function recordingVendor() {
  const shown = new Map<string, string>();
  let calls = 0;
  let stsView = '';
  const claimsOf = (jwt: string) => {
    const {
      iat: _i,
      nbf: _n,
      exp: _e,
      jti: _j,
      ...rest
    } = JSON.parse(atob(jwt.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/'))) as Record<string, unknown>;
    return rest;
  };
  const fetch = async (input: RequestInfo | URL, init?: RequestInit) => {
    const req = new Request(input, init);
    const url = new URL(req.url);
    if (url.hostname.startsWith('api.ecr.')) {
      calls++;
      shown.set(`ecr-${calls}`, stsView);
      return Response.json({ authorizationData: [{ authorizationToken: btoa(`AWS:ecr-${calls}`), expiresAt: NOW + 43200 }] });
    }
    if (url.hostname.startsWith('sts.')) {
      const { WebIdentityToken, ...params } = Object.fromEntries(new URLSearchParams(new TextDecoder().decode(await req.arrayBuffer())));
      stsView = JSON.stringify({ url: req.url, params, claims: claimsOf(WebIdentityToken!) });
      return new Response(
        '<R><Credentials><AccessKeyId>ASIA1</AccessKeyId><SecretAccessKey>s</SecretAccessKey><SessionToken>t</SessionToken></Credentials></R>',
      );
    }
    const { oidc_token, ...params } = (await req.json()) as { oidc_token: string };
    calls++;
    const token = vendorJwt(calls);
    shown.set(token, JSON.stringify({ url: req.url, params, claims: claimsOf(oidc_token) }));
    return Response.json({ token });
  };
  return { fetch, shown, calls: () => calls };
}

describe('vendor credentials shared by a fan-in subject', () => {
  const other = (record: string, namespace: string, serviceAccount: string): Workload => ({
    ...workload,
    record,
    namespace,
    serviceAccount: { name: serviceAccount, uid: `${namespace}-${serviceAccount}` },
  });
  // Two service accounts of one namespace, another namespace, the first again under a second rule, another record.
  const requests: Array<[Workload, string]> = [
    [other('prod', 'team-a', 'builder'), 'pull'],
    [other('prod', 'team-a', 'deployer'), 'pull'],
    [other('prod', 'team-b', 'builder'), 'pull'],
    [other('prod', 'team-a', 'builder'), 'push'],
    [other('stage', 'team-a', 'builder'), 'pull'],
  ];
  const VENDORS = {
    cloudsmith: [{ type: 'cloudsmith', organization: 'acme', serviceAccount: 'k8s' }, 'docker.cloudsmith.io'],
    ecr: [{ type: 'ecr', roleArn: 'arn:aws:iam::123456789012:role/pull', region: 'eu-west-1' }, '123456789012.dkr.ecr.eu-west-1.amazonaws.com'],
  } as const;

  it.each([
    ['cloudsmith', 'serviceAccount', 4],
    ['cloudsmith', 'namespace', 4],
    ['cloudsmith', 'rule', 3],
    ['cloudsmith', 'record', 2],
    ['ecr', 'serviceAccount', 4],
    ['ecr', 'namespace', 4],
    ['ecr', 'rule', 3],
    ['ecr', 'record', 2],
  ] as const)(
    '%s, subject %s: %i vendor calls for five requests, and each request gets only a credential minted for exactly what its own exchange shows the vendor',
    async (vendor, subject, expectedCalls) => {
      const [settings, registry] = VENDORS[vendor];
      const upstream = UpstreamSchema.parse({ ...settings, subject });
      const v = recordingVendor();
      const d = await deps({ fetch: v.fetch });
      // What each request's own exchange shows the vendor, with nothing cached.
      const own: string[] = [];
      for (const [w, rule] of requests) {
        forgetUpstreamCredentials();
        own.push(v.shown.get((await federate(upstream, { name: rule, registry }, w, d)).password)!);
      }
      // Then in one isolate, one after another, sharing what the cache allows.
      forgetUpstreamCredentials();
      const before = v.calls();
      for (const [i, [w, rule]] of requests.entries()) {
        const { password } = await federate(upstream, { name: rule, registry }, w, d);
        expect(v.shown.get(password), `request ${i}`).toBe(own[i]);
      }
      expect(v.calls() - before).toBe(expectedCalls);
      forgetUpstreamCredentials();
    },
  );

  it('shows the vendor no workload with a rule subject: the rule, and a role session named after it', async () => {
    const [settings, registry] = VENDORS.ecr;
    const v = recordingVendor();
    forgetUpstreamCredentials();
    const { password } = await federate(
      UpstreamSchema.parse({ ...settings, subject: 'rule' }),
      { name: 'pull', registry },
      workload,
      await deps({ fetch: v.fetch }),
    );
    const view = JSON.parse(v.shown.get(password)!) as { params: Record<string, string>; claims: Record<string, unknown> };
    expect(view.params.RoleSessionName).toBe('ecp-prod-rule=pull');
    expect(view.claims).toEqual({
      iss: 'https://edge.example',
      sub: 'prod:rule=pull',
      aud: 'sts.amazonaws.com',
      record: 'prod',
      cluster: 'https://c.example',
      rule: 'pull',
    });
    forgetUpstreamCredentials();
  });
});
