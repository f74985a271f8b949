/**
 * Quay robot federation end to end: the real edge presents its workload token as the password
 * of the robot to a loopback Quay that verifies it as Quay does (RSA only; the robot's
 * federation entries matched on issuer and subject; discovery and JWKS fetched from the edge;
 * aud only where an entry lists audiences) (test/support/vendors/quay.mjs).
 */
import { decodeJwt, importJWK, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEdge } from '../../support/edge.mjs';
import type { TestCluster } from '../../support/kit.mjs';
import { startQuay, type QuayFake, type QuayFederationEntry, type QuayMode, type QuayState } from '../../support/vendors/quay.mjs';
import { exchange, explainUpstream, federatedRecord, goSeconds, nowSeconds, pastSharedRefusal, type Edge, type Exchanged } from './support/edge';

const REGISTRY = 'quay.io';
const IMAGE = `${REGISTRY}/acme/app:v1`;
const ROBOT = 'acme+puller';

let edge: Edge;
let quay: QuayFake;
let cluster: TestCluster;
const answers: Exchanged[] = [];

async function pull(c: TestCluster, serviceAccount: string): Promise<Exchanged> {
  const answer = await exchange(edge, IMAGE, await c.token({ serviceAccount }));
  answers.push(answer);
  return answer;
}

const entry = (subject: string, audiences?: string[]): QuayFederationEntry => ({ issuer: edge.url, subject, ...(audiences ? { audiences } : {}) });

beforeAll(async () => {
  edge = await startEdge();
  quay = await startQuay({ robots: { [ROBOT]: [] } });
  cluster = await federatedRecord(edge, 'quay', REGISTRY, { type: 'quay', robot: ROBOT, endpoint: quay.url });
}, 90_000);

afterAll(async () => {
  await quay?.stop();
  await edge?.stop();
});

describe('Quay robot federation', () => {
  it("is refused until the robot has explain's federation entry, then answers with the robot token", async () => {
    const before = await pull(cluster, 'builder');
    expect([before.status, before.body.error]).toEqual([403, 'ERR_UPSTREAM_DENIED']);
    expect(before.body.message).toContain('Quay');
    expect(quay.state.refused.at(-1)?.reason).toBe('issuer');

    const explained = await explainUpstream(edge, cluster, 'builder', IMAGE);
    expect(explained).toMatchObject({ robot: ROBOT, endpoint: `${quay.url}/oauth2/federation/robot/token` });
    quay.state.robots[ROBOT]!.push(...(explained.trust.document as QuayFederationEntry[]));
    await pastSharedRefusal();

    const { status, body, text } = await pull(cluster, 'builder');
    expect(status, text).toBe(200);
    const token = quay.state.issued.at(-1)!;
    expect(body.auth).toEqual({ [REGISTRY]: { username: ROBOT, password: token } });
    const remaining = decodeJwt(token).exp! - nowSeconds();
    expect(goSeconds(body.cacheDuration!)).toBeGreaterThan(0);
    expect(goSeconds(body.cacheDuration!)).toBeLessThan(remaining);
  });

  it('sent the robot name and an RS256 workload token with the documented claims', async () => {
    const { robot, header, payload } = quay.state.accepted[0]!;
    expect(robot).toBe(ROBOT);
    expect(header).toEqual({ alg: 'RS256', kid: edge.keyRing.rsa!.active, typ: 'JWT' });
    expect(payload).toMatchObject({ iss: edge.url, sub: 'quay:team-a:builder', aud: REGISTRY, namespace: 'team-a', service_account: 'builder' });
    expect(quay.rp.counts).toEqual({ discovery: 1, jwks: 1 });
  });

  it('is refused for another service account: the subject must match exactly', async () => {
    const { status, body } = await pull(cluster, 'deployer');
    expect([status, body.error]).toEqual([403, 'ERR_UPSTREAM_DENIED']);
    expect(quay.state.refused.at(-1)?.reason).toBe('sub');
  });

  it('checks aud where an entry lists audiences: the default (the registry host) passes, another is refused', async () => {
    quay.state.robots[ROBOT]!.push(entry('quay:team-a:aud-ok', [REGISTRY]));
    expect((await pull(cluster, 'aud-ok')).status).toBe(200);

    const other = await federatedRecord(edge, 'quay-aud', REGISTRY, { type: 'quay', robot: ROBOT, endpoint: quay.url, audience: 'https://not-quay.test' });
    quay.state.robots[ROBOT]!.push(entry('quay-aud:team-a:builder', [REGISTRY]));
    const { status, body } = await pull(other, 'builder');
    expect([status, body.error]).toEqual([403, 'ERR_UPSTREAM_DENIED']);
    expect(quay.state.refused.at(-1)?.reason).toBe('aud');
  });

  it('answers 403 when Quay does not know the robot, naming it in the log only (a record setting)', async () => {
    const lost = await federatedRecord(edge, 'quay-lost', REGISTRY, { type: 'quay', robot: 'acme+nobody', endpoint: quay.url });
    const { status, body } = await pull(lost, 'builder');
    expect([status, body.error]).toEqual([403, 'ERR_UPSTREAM_DENIED']);
    expect(body.message).toContain('Quay');
    expect(body.message).not.toContain('acme+nobody');
    await new Promise((r) => setTimeout(r, 300));
    expect(edge.logs()).toContain('acme+nobody');
  });

  it.each<[string, QuayMode, Partial<QuayState>, string]>([
    ['answers 500', 'down', {}, '5'],
    ['throttles with 429 and Retry-After', 'throttle', { retryAfter: 4 }, '4'],
    ["answers after the edge's 4 s timeout", 'slow', {}, '5'],
    ['answers HTML', 'garbage', { garbage: 'html' }, '5'],
    ['answers without a token', 'garbage', { garbage: 'no-token' }, '5'],
    ['answers a token that is not a JWT', 'garbage', { garbage: 'not-jwt' }, '5'],
  ])(
    'answers 503 ERR_UPSTREAM_UNAVAILABLE with Retry-After when Quay %s',
    async (_what, mode, settings, retryAfter) => {
      const serviceAccount = `outage-${mode}-${String(settings.garbage ?? '')}`.replace(/-$/, '');
      quay.state.robots[ROBOT]!.push(entry(`quay:team-a:${serviceAccount}`));
      Object.assign(quay.state, settings, { mode });
      try {
        const answer = await pull(cluster, serviceAccount);
        expect(answer.status, answer.text).toBe(503);
        expect(answer.body.error).toBe('ERR_UPSTREAM_UNAVAILABLE');
        expect(answer.body.message).toContain('Quay');
        expect(answer.retryAfter).toBe(retryAfter);
      } finally {
        quay.state.mode = 'ok';
      }
      await pastSharedRefusal();
      const again = await pull(cluster, serviceAccount);
      expect(again.status, again.text).toBe(200);
    },
    20_000,
  );

  it("never repeats Quay's answers, the workload tokens or the robot tokens in its responses or logs", async () => {
    await new Promise((r) => setTimeout(r, 300));
    const logs = edge.logs();
    expect(logs).toContain('"upstream":"quay"');
    for (const a of answers) expect(a.text).not.toContain(quay.state.canary);
    expect(logs).not.toContain(quay.state.canary);
    for (const { token } of quay.state.accepted) expect(logs).not.toContain(token.split('.')[2]);
    for (const token of quay.state.issued) expect(logs).not.toContain(token.split('.')[2]);
  });
});

describe('the Quay fake itself', () => {
  async function robotToken(username: string, password: string) {
    const res = await fetch(`${quay.url}/oauth2/federation/robot/token`, {
      headers: { authorization: `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}` },
    });
    return { status: res.status, body: (await res.json()) as { token?: string; error?: string } };
  }

  /** A token the edge's own key of `alg` signed for sub quay:team-a:builder (which the robot trusts). */
  async function edgeSigned(alg: 'RS256' | 'ES256') {
    const ring = edge.keyRing;
    const entryOfKey =
      alg === 'RS256' ? ring.rsa!.keys.find((k) => k.kid === ring.rsa!.active)! : ring.workload!.keys.find((k) => k.kid === ring.workload!.active)!;
    const now = nowSeconds();
    return new SignJWT({ iss: edge.url, sub: 'quay:team-a:builder', aud: REGISTRY, iat: now, exp: now + 300 })
      .setProtectedHeader({ alg, kid: entryOfKey.kid, typ: 'JWT' })
      .sign(await importJWK(entryOfKey.privateJwk, alg));
  }

  it('accepts an RS256 token of a federated subject and refuses the same claims signed ES256', async () => {
    expect((await robotToken(ROBOT, await edgeSigned('RS256'))).status).toBe(200);
    const es = await robotToken(ROBOT, await edgeSigned('ES256'));
    expect(es.status).toBe(401);
    expect(quay.state.refused.at(-1)?.reason).toBe('alg');
  });

  it.each<[string, string, string]>([
    ['a username that is not a robot', 'alice', 'robot'],
    ['a password that is not a JWT', ROBOT, 'malformed'],
  ])('refuses %s', async (_what, username, reason) => {
    const { status } = await robotToken(username, 'not-a-jwt');
    expect(status).toBe(401);
    expect(quay.state.refused.at(-1)?.reason).toBe(reason);
  });
});
