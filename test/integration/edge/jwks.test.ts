// The edge (wrangler dev, workerd, local KV) fetching a cluster issuer's keys from a real
// loopback issuer: discovery, jwks_uri, caching, shared fetches, unknown-kid refetch with
// cooldown, rotation, and failing closed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEdge } from '../../support/edge.mjs';
import { kubeletRequest, putTrustRecord, startIssuer } from '../../support/issuer-server.mjs';

type Edge = Awaited<ReturnType<typeof startEdge>>;
type Issuer = Awaited<ReturnType<typeof startIssuer>>;

let edge: Edge;
const issuers: Issuer[] = [];

beforeAll(async () => {
  edge = await startEdge({ vars: { JWKS_COOLDOWN_SECONDS: '2' } });
}, 90_000);

afterAll(async () => {
  await Promise.all(issuers.map((i) => i.stop()));
  await edge?.stop();
});

async function newIssuer(name: string, keys: 'discovery' | 'jwks_uri') {
  const issuer = await startIssuer();
  issuers.push(issuer);
  await putTrustRecord(edge, name, {
    issuer: issuer.url,
    audiences: ['edge-credential-provider'],
    keys: keys === 'discovery' ? { type: 'discovery' } : { type: 'jwks_uri', uri: issuer.jwksUri },
    rules: [{ name: 'team-a', namespaces: ['team-a'], registry: 'registry.test', repositories: ['team-a/*'] }],
  });
  return issuer;
}

async function exchange(token: string) {
  const res = await fetch(`${edge.url}/v1/credentials`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(kubeletRequest(token, 'registry.test/team-a/app:v1')),
  });
  const body = (await res.json()) as { error?: string };
  return { status: res.status, code: body.error };
}

describe('issuer keys from a remote issuer', () => {
  it('follows OIDC discovery to the JWKS and grants', async () => {
    const issuer = await newIssuer('discovery', 'discovery');
    expect(await exchange(await issuer.token())).toEqual({ status: 200, code: undefined });
    expect(issuer.state.counts).toEqual({ discovery: 1, jwks: 1 });
  });

  it('shares one JWKS fetch among concurrent cold exchanges and then serves from cache', async () => {
    const issuer = await newIssuer('burst', 'jwks_uri');
    const tokens = await Promise.all(Array.from({ length: 40 }, () => issuer.token()));
    const results = await Promise.all(tokens.map(exchange));
    expect(results.filter((r) => r.status !== 200)).toEqual([]);
    expect(issuer.state.counts.jwks).toBe(1);
    await exchange(await issuer.token());
    expect(issuer.state.counts.jwks).toBe(1);
  });

  it('refetches for an unknown kid at most once per cooldown', async () => {
    const issuer = await newIssuer('cooldown', 'jwks_uri');
    expect((await exchange(await issuer.token())).status).toBe(200);
    expect(issuer.state.counts.jwks).toBe(1);
    // Within the cooldown (2 s here) an unknown kid does not refetch: denied at once.
    await issuer.addKey('key-2');
    expect(await exchange(await issuer.token({ kid: 'key-2' }))).toEqual({ status: 401, code: 'ERR_UNKNOWN_KEY' });
    expect(await exchange(await issuer.token({ kid: 'stranger' }))).toEqual({ status: 401, code: 'ERR_UNKNOWN_KEY' });
    expect(issuer.state.counts.jwks).toBe(1);
    // After it, the first unknown kid refetches, and the rotated key verifies.
    await new Promise((r) => setTimeout(r, 2200));
    expect((await exchange(await issuer.token({ kid: 'key-2' }))).status).toBe(200);
    expect(issuer.state.counts.jwks).toBe(2);
    expect(await exchange(await issuer.token({ kid: 'stranger' }))).toEqual({ status: 401, code: 'ERR_UNKNOWN_KEY' });
    expect(issuer.state.counts.jwks).toBe(2);
  });

  it('picks up a rotated key on first use when the cache is cold', async () => {
    const issuer = await newIssuer('rotation', 'jwks_uri');
    await issuer.addKey('key-2');
    expect((await exchange(await issuer.token({ kid: 'key-2' }))).status).toBe(200);
    expect(issuer.state.counts.jwks).toBe(1);
  });

  it('fails closed with 503 when the issuer cannot serve its keys', async () => {
    const issuer = await newIssuer('down', 'jwks_uri');
    issuer.state.failWith = 500;
    expect(await exchange(await issuer.token())).toEqual({ status: 503, code: 'ERR_JWKS_UNAVAILABLE' });
    issuer.state.failWith = 0;
    expect((await exchange(await issuer.token())).status).toBe(200);
  });

  it('rejects a discovery document that names another issuer', async () => {
    const issuer = await newIssuer('impostor', 'discovery');
    issuer.state.discoveryIssuer = 'https://someone-else.test';
    expect(await exchange(await issuer.token())).toEqual({ status: 503, code: 'ERR_JWKS_UNAVAILABLE' });
  });

  it('never logs the token or the credential', async () => {
    const issuer = await newIssuer('logs', 'jwks_uri');
    const token = await issuer.token();
    const res = await fetch(`${edge.url}/v1/credentials`, { method: 'POST', body: JSON.stringify(kubeletRequest(token, 'registry.test/team-a/app')) });
    const body = (await res.json()) as { auth: Record<string, { password: string }> };
    const password = body.auth['registry.test']!.password;
    await new Promise((r) => setTimeout(r, 300));
    const logs = edge.logs();
    expect(logs).toContain('"event":"exchange"');
    expect(logs).not.toContain(token.split('.')[2]);
    expect(logs).not.toContain(password.split('.')[2]);
    expect(logs).not.toContain(edge.adminToken);
  });
});
