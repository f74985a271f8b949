/**
 * The admin API's checks on upstreams when a record is written (upstream/record-checks.ts): a
 * static binding outside the UPSTREAM_SECRET_ convention, and a Harbor rule beside a Quay rule
 * that trusts the same subjects, are 400 ERR_INVALID_RECORD naming the rule; vendorCacheEpoch is
 * taken and kept.
 */
import { describe, expect, it } from 'vitest';
import { ADMIN, defaultRecord, edgeFetch, makeIssuer, putRecord } from '../../support/worker/issuer';

let counter = 0;
async function put(rules: Record<string, unknown>[], extra: Record<string, unknown> = {}) {
  const name = `write-checks-${++counter}`;
  const res = await putRecord(name, defaultRecord(await makeIssuer(), { rules, ...extra }));
  return { name, status: res.status, body: (await res.json()) as { error?: string; issues?: string[] } };
}

const harbor = { name: 'harbor', namespaces: ['team-a'], registry: 'harbor.example.com', repositories: ['**'], upstream: { type: 'harbor' } };
const quay = { name: 'quay', namespaces: ['team-*'], registry: 'quay.io', repositories: ['**'], upstream: { type: 'quay', robot: 'acme+puller' } };
const ghcr = (secret: string) => ({
  name: 'ghcr',
  namespaces: ['team-a'],
  registry: 'ghcr.io',
  repositories: ['**'],
  upstream: { type: 'static', username: 'bot', secret },
});

describe('upstream checks when a record is written', () => {
  it('refuses a Harbor rule whose subjects a Quay rule of the record also trusts (400 ERR_INVALID_RECORD)', async () => {
    const { status, body } = await put([quay, harbor]);
    expect([status, body.error]).toEqual([400, 'ERR_INVALID_RECORD']);
    expect(body.issues).toEqual([expect.stringMatching(/^rules\.1\.upstream: .*"quay"/)]);
  });

  it('takes them apart when one side names the namespace only', async () => {
    expect((await put([quay, { ...harbor, upstream: { type: 'harbor', subject: 'namespace' } }])).status).toBe(201);
  });

  it('refuses a static binding outside the UPSTREAM_SECRET_ convention (400 ERR_INVALID_RECORD)', async () => {
    const { status, body } = await put([ghcr('GHCR_PULL_TOKEN')]);
    expect([status, body.error]).toEqual([400, 'ERR_INVALID_RECORD']);
    expect(body.issues).toEqual([expect.stringMatching(/^rules\.0\.upstream\.secret: must be a binding named UPSTREAM_SECRET_/)]);
    expect((await put([ghcr('UPSTREAM_SECRET_GHCR_PULL')])).status).toBe(201);
  });

  it('keeps vendorCacheEpoch, and refuses one that is not a whole number', async () => {
    const { name, status } = await put([], { vendorCacheEpoch: 3 });
    expect(status).toBe(201);
    const stored = (await (await edgeFetch(`/admin/v1/issuers/${name}`, { headers: ADMIN() })).json()) as { vendorCacheEpoch?: number };
    expect(stored.vendorCacheEpoch).toBe(3);
    expect((await put([], { vendorCacheEpoch: -1 })).status).toBe(400);
    expect((await put([], { vendorCacheEpoch: 1.5 })).status).toBe(400);
  });
});
