/**
 * Fan-in subjects in workerd (#22): with "subject": "rule" the edge still decides each
 * service account itself and logs which one, while the vendor sees the rule only, so one
 * vendor-side entry (the one explain prints) and one vendor credential serve every workload
 * the rule admits. Cloudsmith's answers come from a stub of the isolate's fetch: no network.
 */
import { env } from 'cloudflare:workers';
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { UnsecuredJWT } from 'jose';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { app } from '../../../src/app';
import { forgetUpstreamCredentials } from '../../../src/upstream/cache';
import { admin, credentialRequest, defaultRecord, makeIssuer, putRecord, saToken, type TestIssuer } from '../../support/worker/issuer';

const CLOUDSMITH = 'docker.cloudsmith.io';
const IMAGE = `${CLOUDSMITH}/acme/app:v1`;
const RECORD = 'fan-in';
let iss: TestIssuer;

const rule = (name: string, subject: string, over: Record<string, unknown> = {}) => ({
  name,
  namespaces: ['team-a', 'team-b'],
  serviceAccounts: ['builder', 'deployer'],
  registry: CLOUDSMITH,
  repositories: ['acme/**'],
  upstream: { type: 'cloudsmith', organization: 'acme', serviceAccount: 'puller', subject },
  ...over,
});

beforeAll(async () => {
  iss = await makeIssuer();
  expect((await putRecord(RECORD, defaultRecord(iss, { rules: [rule('cs', 'rule')] }))).status).toBe(201);
});

afterEach(() => {
  vi.restoreAllMocks();
  forgetUpstreamCredentials();
});

/** Cloudsmith as the isolate's fetch: a fresh JWT per call, and the workload tokens it was sent. */
function stubCloudsmith() {
  const sent: Array<Record<string, unknown>> = [];
  vi.spyOn(globalThis, 'fetch').mockImplementation(async (input: RequestInfo | URL, init?: RequestInit) => {
    const req = new Request(input, init);
    if (!req.url.startsWith('https://api.cloudsmith.io/openid/acme/')) throw new Error(`unexpected fetch ${req.url}`);
    const { oidc_token } = (await req.json()) as { oidc_token: string };
    sent.push(JSON.parse(atob(oidc_token.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/'))) as Record<string, unknown>);
    return Response.json({ token: new UnsecuredJWT({ n: sent.length }).setIssuedAt().setExpirationTime('2h').encode() });
  });
  return sent;
}

/** The audit lines of exchanges written while `run` runs. */
async function exchangeLines(run: () => Promise<unknown>): Promise<Array<Record<string, unknown>>> {
  const lines: string[] = [];
  const spy = vi.spyOn(console, 'log').mockImplementation((line: unknown) => void lines.push(String(line)));
  try {
    await run();
  } finally {
    spy.mockRestore();
  }
  return lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.event === 'exchange');
}

/** POST /v1/credentials with audit lines on (the worker project's AUDIT_LOG is off: these tests read them). */
async function pull(namespace: string, serviceAccount: string) {
  const body = JSON.stringify(credentialRequest(await saToken(iss, { namespace, serviceAccount }), IMAGE));
  const ctx = createExecutionContext();
  const res = await app.fetch(new Request('https://edge.test/v1/credentials', { method: 'POST', body }), { ...env, AUDIT_LOG: 'on' }, ctx);
  await waitOnExecutionContext(ctx);
  return { status: res.status, body: (await res.json()) as { error?: string; auth?: Record<string, { password: string }> } };
}

describe('"subject": "rule" at POST /v1/credentials', () => {
  it('serves every workload of the rule with one vendor exchange, and logs each one by namespace and service account', async () => {
    const sent = stubCloudsmith();
    const answers: Awaited<ReturnType<typeof pull>>[] = [];
    const lines = await exchangeLines(async () => {
      answers.push(await pull('team-a', 'builder'), await pull('team-b', 'deployer'), await pull('team-a', 'deployer'));
    });
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    expect(new Set(answers.map((a) => a.body.auth![CLOUDSMITH]!.password)).size).toBe(1);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ sub: `${RECORD}:rule=cs`, record: RECORD, rule: 'cs' });
    for (const claim of ['namespace', 'service_account', 'service_account_uid']) expect(sent[0]).not.toHaveProperty(claim);
    expect(lines.map((l) => [l.outcome, l.rule, l.namespace, l.serviceAccount, l.upstream])).toEqual([
      ['granted', 'cs', 'team-a', 'builder', 'cloudsmith'],
      ['granted', 'cs', 'team-b', 'deployer', 'cloudsmith'],
      ['granted', 'cs', 'team-a', 'deployer', 'cloudsmith'],
    ]);
  });

  it.each([
    ['a service account the rule does not name', 'team-a', 'intruder'],
    ['a namespace the rule does not name', 'team-c', 'builder'],
  ])('still refuses %s (403, no vendor call), and logs it', async (_t, namespace, serviceAccount) => {
    const sent = stubCloudsmith();
    let answer: Awaited<ReturnType<typeof pull>> | undefined;
    const lines = await exchangeLines(async () => {
      answer = await pull(namespace, serviceAccount);
    });
    expect([answer!.status, answer!.body.error]).toEqual([403, 'ERR_POLICY_DENIED']);
    expect(sent).toHaveLength(0);
    expect(lines.map((l) => [l.outcome, l.namespace, l.serviceAccount])).toEqual([['denied', namespace, serviceAccount]]);
  });
});

describe('"subject": "rule" and "record" at POST /admin/v1/explain', () => {
  async function explainTrust(cluster: TestIssuer, namespace: string, serviceAccount: string) {
    const res = await admin().explain({ token: await saToken(cluster, { namespace, serviceAccount }), image: IMAGE });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { grant: { upstream: { workloadToken: { sub: string }; trust: { document: unknown; notes: string[] } } } };
    return body.grant.upstream;
  }

  it('describes one vendor-side entry, the same for every workload of the rule', async () => {
    const a = await explainTrust(iss, 'team-a', 'builder');
    const b = await explainTrust(iss, 'team-b', 'deployer');
    expect(a.workloadToken.sub).toBe(`${RECORD}:rule=cs`);
    expect(b.trust.document).toEqual(a.trust.document);
    expect(a.trust.document).toMatchObject({ claims: { sub: `${RECORD}:rule=cs` } });
    expect(a.trust.notes[0]).toContain('every workload of rule cs');
  });

  it('names the record with "subject": "record"', async () => {
    const cluster = await makeIssuer();
    expect((await putRecord('fan-in-record', defaultRecord(cluster, { rules: [rule('cs', 'record')] }))).status).toBe(201);
    const d = await explainTrust(cluster, 'team-b', 'builder');
    expect(d.workloadToken.sub).toBe('fan-in-record');
    expect(d.trust.notes[0]).toContain('every workload of record fan-in-record');
  });
});

describe('"subject": "record" at PUT /admin/v1/issuers', () => {
  it('refuses two rules of one vendor that grant differently (400 ERR_INVALID_RECORD naming the field)', async () => {
    const cluster = await makeIssuer();
    const res = await putRecord(
      'fan-in-refused',
      defaultRecord(cluster, { rules: [rule('a', 'record'), rule('b', 'record', { repositories: ['acme/private/**'] })] }),
    );
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: string; issues?: string[] };
    expect(body.error).toBe('ERR_INVALID_RECORD');
    expect(JSON.stringify(body)).toContain('rules.1.upstream.subject');
  });
});
