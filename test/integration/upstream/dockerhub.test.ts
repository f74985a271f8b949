/**
 * Docker Hub OIDC connections end to end: the real edge trades its workload token at a
 * loopback Docker identity service that verifies it as the connection documents (issuer,
 * discovery and JWKS from the edge, RS256, aud https://identity.docker.com, a ruleset's
 * subject pattern) (test/support/vendors/dockerhub.mjs). The kubelet sees docker.io.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEdge } from '../../support/edge.mjs';
import type { TestCluster } from '../../support/kit.mjs';
import { DOCKER_AUDIENCE, startDockerHub, type DockerHubFake, type DockerHubMode, type DockerHubState } from '../../support/vendors/dockerhub.mjs';
import { exchange, explainUpstream, federatedRecord, goSeconds, pastSharedRefusal, type Edge, type Exchanged } from './support/edge';

const REGISTRY = 'docker.io';
/** As a pod spec writes it: the registry is implied. */
const IMAGE = 'acme/app:v1';
const CONNECTION = '123e4567-e89b-42d3-a456-426614174000';

let edge: Edge;
let hub: DockerHubFake;
let cluster: TestCluster;
const answers: Exchanged[] = [];

async function pull(c: TestCluster, serviceAccount: string, image = IMAGE): Promise<Exchanged> {
  const answer = await exchange(edge, image, await c.token({ serviceAccount }));
  answers.push(answer);
  return answer;
}

beforeAll(async () => {
  edge = await startEdge();
  hub = await startDockerHub({ connections: { [CONNECTION]: { organization: 'acme', issuer: edge.url, subjects: [] } } });
  cluster = await federatedRecord(edge, 'hub', REGISTRY, { type: 'dockerhub', organization: 'acme', connectionId: CONNECTION, endpoint: hub.url });
}, 90_000);

afterAll(async () => {
  await hub?.stop();
  await edge?.stop();
});

describe('Docker Hub OIDC connection', () => {
  it("answers the kubelet for docker.io with the organisation and Docker's access token once a ruleset matches explain's subject", async () => {
    const before = await pull(cluster, 'builder');
    expect([before.status, before.body.error]).toEqual([403, 'ERR_UPSTREAM_DENIED']);
    expect(before.body.message).toContain('Docker Hub');
    expect(hub.state.refused.at(-1)?.reason).toBe('sub');

    const explained = await explainUpstream(edge, cluster, 'builder', IMAGE);
    const doc = explained.trust.document as { issuer: string; audience: string; subject: string; connectionId: string };
    expect(doc).toEqual({ issuer: edge.url, audience: DOCKER_AUDIENCE, subject: 'hub:team-a:builder', connectionId: CONNECTION });
    hub.state.connections[CONNECTION]!.subjects.push(doc.subject);
    await pastSharedRefusal();

    const { status, body, text } = await pull(cluster, 'builder');
    expect(status, text).toBe(200);
    const issued = hub.state.issued.at(-1)!;
    expect(body.auth).toEqual({ [REGISTRY]: { username: 'acme', password: issued.accessToken } });
    // An opaque token: its life is the expires_in the edge asked for (3600 by default), less the margin.
    expect(issued.expiresIn).toBe(3600);
    expect(goSeconds(body.cacheDuration!)).toBeLessThanOrEqual(3600 - 300);
    expect(goSeconds(body.cacheDuration!)).toBeGreaterThan(3000);
  });

  it('sent an RS256 workload token for https://identity.docker.com with the documented claims', async () => {
    const { header, payload, expiresIn } = hub.state.accepted[0]!;
    expect(header).toEqual({ alg: 'RS256', kid: edge.keyRing.rsa!.active, typ: 'JWT' });
    expect(payload).toMatchObject({ iss: edge.url, sub: 'hub:team-a:builder', aud: DOCKER_AUDIENCE, namespace: 'team-a' });
    expect(expiresIn).toBe(3600);
    expect(hub.rp.counts).toEqual({ discovery: 1, jwks: 1 });
  });

  it('serves docker.io/… and library images the same way', async () => {
    const calls = hub.state.calls;
    expect((await pull(cluster, 'builder', 'docker.io/acme/app:v2')).status).toBe(200);
    expect((await pull(cluster, 'builder', 'index.docker.io/acme/app:v2')).status).toBe(200);
    expect(hub.state.calls).toBe(calls); // the same identity: cached
  });

  it("matches a ruleset's wildcard, and asks for the lifetime the rule sets; a JWT's exp bounds the cache", async () => {
    hub.state.connections[CONNECTION]!.subjects.push('hub-short:team-a:*');
    const short = await federatedRecord(edge, 'hub-short', REGISTRY, {
      type: 'dockerhub',
      organization: 'acme',
      connectionId: CONNECTION,
      endpoint: hub.url,
      expiresIn: 600,
    });
    hub.state.tokens = 'jwt';
    try {
      const { status, body, text } = await pull(short, 'anyone');
      expect(status, text).toBe(200);
      expect(hub.state.accepted.at(-1)!.expiresIn).toBe(600);
      expect(goSeconds(body.cacheDuration!)).toBeLessThanOrEqual(600 - 60);
    } finally {
      hub.state.tokens = 'opaque';
    }
  });

  it('is refused for an audience Docker does not take', async () => {
    hub.state.connections[CONNECTION]!.subjects.push('hub-aud:team-a:*');
    const other = await federatedRecord(edge, 'hub-aud', REGISTRY, {
      type: 'dockerhub',
      organization: 'acme',
      connectionId: CONNECTION,
      endpoint: hub.url,
      audience: 'https://hub.docker.com',
    });
    const { status, body } = await pull(other, 'builder');
    expect([status, body.error]).toEqual([403, 'ERR_UPSTREAM_DENIED']);
    expect(hub.state.refused.at(-1)?.reason).toBe('aud');
  });

  it.each<[string, DockerHubMode, Partial<DockerHubState>, string]>([
    ['answers 500', 'down', {}, '5'],
    ['throttles with 429 and Retry-After', 'throttle', { retryAfter: 8 }, '8'],
    ["answers after the edge's 4 s timeout", 'slow', {}, '5'],
    ['answers HTML', 'garbage', { garbage: 'html' }, '5'],
    ['answers without a token', 'garbage', { garbage: 'no-token' }, '5'],
  ])(
    'answers 503 ERR_UPSTREAM_UNAVAILABLE with Retry-After when Docker %s',
    async (_what, mode, settings, retryAfter) => {
      const serviceAccount = `outage-${mode}-${String(settings.garbage ?? '')}`.replace(/-$/, '');
      hub.state.connections[CONNECTION]!.subjects.push(`hub:team-a:${serviceAccount}`);
      Object.assign(hub.state, settings, { mode });
      try {
        const answer = await pull(cluster, serviceAccount);
        expect(answer.status, answer.text).toBe(503);
        expect(answer.body.error).toBe('ERR_UPSTREAM_UNAVAILABLE');
        expect(answer.body.message).toContain('Docker Hub');
        expect(answer.retryAfter).toBe(retryAfter);
      } finally {
        hub.state.mode = 'ok';
      }
      await pastSharedRefusal();
      const again = await pull(cluster, serviceAccount);
      expect(again.status, again.text).toBe(200);
    },
    20_000,
  );

  it('answers 403 when Docker refuses outright (mode deny)', async () => {
    hub.state.connections[CONNECTION]!.subjects.push('hub:team-a:denied');
    hub.state.mode = 'deny';
    try {
      const { status, body } = await pull(cluster, 'denied');
      expect([status, body.error]).toEqual([403, 'ERR_UPSTREAM_DENIED']);
    } finally {
      hub.state.mode = 'ok';
    }
  });

  it("never repeats Docker's answers, the workload tokens or the access tokens in its responses or logs", async () => {
    await new Promise((r) => setTimeout(r, 300));
    const logs = edge.logs();
    expect(logs).toContain('"upstream":"dockerhub"');
    for (const a of answers) expect(a.text).not.toContain(hub.state.canary);
    expect(logs).not.toContain(hub.state.canary);
    for (const { token } of hub.state.accepted) expect(logs).not.toContain(token.split('.')[2]);
    for (const { accessToken } of hub.state.issued) expect(logs).not.toContain(accessToken.split('.').at(-1));
  });
});

describe('the Docker identity fake itself', () => {
  async function post(form: Record<string, string>) {
    const res = await fetch(`${hub.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(form).toString(),
    });
    return { status: res.status, body: (await res.json()) as { message?: string } };
  }
  const valid = {
    grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
    subject_token_type: 'urn:ietf:params:oauth:token-type:id_token',
    subject_token: 'x.y.z',
    connection_id: CONNECTION,
    expires_in: '300',
  };

  it.each<[string, Record<string, string>, number]>([
    ['an expires_in under 300', { expires_in: '299' }, 400],
    ['an expires_in over 3600', { expires_in: '3601' }, 400],
    ['another subject token type', { subject_token_type: 'urn:ietf:params:oauth:token-type:jwt' }, 400],
    ['an unknown connection', { connection_id: '00000000-0000-0000-0000-000000000001' }, 404],
    ['a subject token that is not a JWT', {}, 401],
  ])('refuses %s', async (_what, change, status) => {
    const answer = await post({ ...valid, ...change });
    expect(answer.status).toBe(status);
    expect(answer.body.message).toBeTruthy();
  });
});
