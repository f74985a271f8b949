/**
 * federate's refusals and cache key (upstream/federate.ts): what a workload's answer may say,
 * and the record's vendorCacheEpoch as an admin's purge.
 */
import { describe, expect, it } from 'vitest';
import type { Workload } from '../../../src/identity/workload';
import { loadKeyRing } from '../../../src/signing/keys';
import { federate, type FederateDeps } from '../../../src/upstream/federate';
import { UpstreamSchema } from '../../../src/upstream/schema';
import { generateKeyRing } from '../../../scripts/lib/keys.mjs';

const NOW = 1_800_000_000;
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
    const err = (await federate(upstream, 'ghcr.io', workload, await deps({ secrets })).catch((e: unknown) => e)) as {
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
    const credential = await federate(upstream, 'ghcr.io', workload, await deps({ secrets: (n) => (n === 'UPSTREAM_SECRET_GHCR' ? 'pat' : undefined) }));
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
    const first = await federate(upstream, 'docker.cloudsmith.io', workload, d);
    expect((await federate(upstream, 'docker.cloudsmith.io', workload, d)).password).toBe(first.password);
    expect(calls).toBe(1);
    const purged = await federate(upstream, 'docker.cloudsmith.io', workload, { ...d, cacheEpoch: 1 });
    expect(calls).toBe(2);
    expect(purged.password).not.toBe(first.password);
    expect((await federate(upstream, 'docker.cloudsmith.io', workload, { ...d, cacheEpoch: 1 })).password).toBe(purged.password);
    expect(calls).toBe(2);
  });
});
