import { decodeProtectedHeader, importJWK, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import type { Workload } from '../../../src/identity/workload';
import { loadKeyRing } from '../../../src/signing/keys';
import { roleSessionName, xmlText } from '../../../src/upstream/ecr';
import { describeUpstream, federate, MAX_VENDOR_CREDENTIAL_SECONDS } from '../../../src/upstream/federate';
import { UpstreamSchema } from '../../../src/upstream/schema';
import { signWorkloadToken, WORKLOAD_TOKEN_TTL, workloadTokenClaims, workloadTokenSubject } from '../../../src/upstream/workload-token';
import { generateKeyRing } from '../../../scripts/lib/keys.mjs';

const NOW = 1_800_000_000;
const workload: Workload = {
  cluster: 'https://k8s.example',
  record: 'prod',
  namespace: 'team-a',
  serviceAccount: { name: 'builder', uid: 'uid-1' },
  pod: { name: 'p', uid: 'pod-uid' },
  expiresAt: NOW + 3600,
};

describe('workload token', () => {
  it.each([
    ['serviceAccount', 'prod:team-a:builder'],
    ['namespace', 'prod:team-a'],
    ['rule', 'prod:rule=pull'],
    ['record', 'prod'],
  ] as const)('names the workload by %s: %s', (scope, sub) => {
    expect(workloadTokenSubject(workload, scope, 'pull')).toBe(sub);
  });

  it('gives a rule subject a shape no namespace subject can take, whatever the namespace and rule are named', () => {
    // A namespace named like the rule, and a namespace named "rule" with a service account named like the rule.
    const subs = [
      workloadTokenSubject({ ...workload, namespace: 'pull' }, 'namespace', 'pull'),
      workloadTokenSubject({ ...workload, namespace: 'rule', serviceAccount: { name: 'pull', uid: 'u' } }, 'serviceAccount', 'pull'),
      workloadTokenSubject({ ...workload, namespace: 'prod' }, 'namespace', 'pull'),
    ];
    expect(subs).not.toContain(workloadTokenSubject(workload, 'rule', 'pull'));
    expect(subs).not.toContain(workloadTokenSubject(workload, 'record', 'pull'));
  });

  it.each([
    ['rule', { sub: 'prod:rule=pull', rule: 'pull' }],
    ['record', { sub: 'prod' }],
  ] as const)('names no workload with subject %s: the same claims for every workload of the rule', (subject, fanIn) => {
    const claims = (w: Workload) => workloadTokenClaims({ edgeIssuer: 'https://edge.example', audience: 'a', subject, rule: 'pull', workload: w, now: NOW });
    expect(claims(workload)).toEqual({
      iss: 'https://edge.example',
      aud: 'a',
      iat: NOW,
      nbf: NOW,
      exp: NOW + WORKLOAD_TOKEN_TTL,
      record: 'prod',
      cluster: 'https://k8s.example',
      ...fanIn,
    });
    const other = { ...workload, namespace: 'team-b', serviceAccount: { name: 'deployer', uid: 'uid-2' }, pod: { name: 'q', uid: 'q' } };
    expect(claims(other)).toEqual(claims(workload));
  });

  it('carries the documented claims, lives 5 minutes, and never a pod (it would defeat caching)', () => {
    const claims = workloadTokenClaims({
      edgeIssuer: 'https://edge.example',
      audience: 'sts.amazonaws.com',
      subject: 'serviceAccount',
      rule: 'pull',
      workload,
      now: NOW,
    });
    expect(claims).toEqual({
      iss: 'https://edge.example',
      sub: 'prod:team-a:builder',
      aud: 'sts.amazonaws.com',
      iat: NOW,
      nbf: NOW,
      exp: NOW + WORKLOAD_TOKEN_TTL,
      record: 'prod',
      cluster: 'https://k8s.example',
      namespace: 'team-a',
      service_account: 'builder',
      service_account_uid: 'uid-1',
    });
  });

  it.each(['RS256', 'ES256'] as const)('is signed %s by the active key of that kind and verifies against the published JWKS', async (alg) => {
    const ring = await loadKeyRing(JSON.stringify(generateKeyRing()));
    const now = Math.floor(Date.now() / 1000);
    const token = await signWorkloadToken(ring, alg, {
      edgeIssuer: 'https://edge.example',
      audience: 'aud-1',
      subject: 'serviceAccount',
      rule: 'pull',
      workload,
      now,
    });
    const header = decodeProtectedHeader(token);
    expect(header).toMatchObject({ alg, typ: 'JWT', kid: alg === 'RS256' ? ring.rsa!.kid : ring.workload!.kid });
    expect(header.kid).not.toBe(ring.active.kid); // never the key registries trust
    const jwk = ring.jwks.keys.find((k) => k.kid === header.kid)!;
    const { payload } = await jwtVerify(token, await importJWK(jwk, alg), { issuer: 'https://edge.example', audience: 'aud-1', algorithms: [alg] });
    expect(payload.sub).toBe('prod:team-a:builder');
    expect(typeof payload.jti).toBe('string');
  });

  it('refuses RS256 on a ring without RSA keys, saying how to add one', async () => {
    const { rsa: _none, ...old } = generateKeyRing();
    const ring = await loadKeyRing(JSON.stringify(old));
    await expect(
      signWorkloadToken(ring, 'RS256', { edgeIssuer: 'x', audience: 'a', subject: 'serviceAccount', rule: 'pull', workload, now: NOW }),
    ).rejects.toMatchObject({
      code: 'ERR_NOT_CONFIGURED',
      detail: expect.stringContaining('rotate --rsa'),
    });
  });
});

describe('a ring made before workload keys', () => {
  it('refuses ES256 with 503 ERR_NOT_CONFIGURED, saying how to add the key, rather than sign with the credential key', async () => {
    const { workload: _none, ...old } = generateKeyRing();
    const ring = await loadKeyRing(JSON.stringify(old));
    await expect(
      signWorkloadToken(ring, 'ES256', { edgeIssuer: 'x', audience: 'a', subject: 'serviceAccount', rule: 'pull', workload, now: NOW }),
    ).rejects.toMatchObject({
      code: 'ERR_NOT_CONFIGURED',
      status: 503,
      detail: expect.stringContaining('rotate --workload'),
    });
  });

  it('still signs RS256 (every vendor default) with its RSA key', async () => {
    const { workload: _none, ...old } = generateKeyRing();
    const ring = await loadKeyRing(JSON.stringify(old));
    const token = await signWorkloadToken(ring, 'RS256', { edgeIssuer: 'x', audience: 'a', subject: 'serviceAccount', rule: 'pull', workload, now: NOW });
    expect(decodeProtectedHeader(token).kid).toBe(ring.rsa!.kid);
  });
});

describe('explain of an upstream', () => {
  it('shows the vendor, where the token goes and exactly what the vendor sees', () => {
    const u = UpstreamSchema.parse({ type: 'ecr', roleArn: 'arn:aws:iam::123456789012:role/pull', region: 'eu-west-1', subject: 'namespace' });
    const rule = { name: 'pull', registry: '123456789012.dkr.ecr.eu-west-1.amazonaws.com', repositories: ['team-a/*'] };
    expect(describeUpstream(u, rule, workload, 'https://edge.example', NOW)).toMatchObject({
      type: 'ecr',
      vendor: 'AWS',
      roleArn: 'arn:aws:iam::123456789012:role/pull',
      region: 'eu-west-1',
      roleSessionName: 'ecp-team-a-builder',
      workloadToken: { iss: 'https://edge.example', sub: 'prod:team-a', aud: 'sts.amazonaws.com', alg: 'RS256' },
      trust: {
        vendor: 'AWS',
        document: { Statement: [{ Condition: { StringEquals: { 'edge.example:sub': 'prod:team-a', 'edge.example:aud': 'sts.amazonaws.com' } } }] },
      },
    });
  });
});

describe('AWS helpers', () => {
  it('reads STS XML elements and their entities', () => {
    const xml = '<R><Credentials><AccessKeyId>ASIA1</AccessKeyId><SessionToken>a+b/c=&amp;d</SessionToken></Credentials><Code>AccessDenied</Code></R>';
    expect(xmlText(xml, 'AccessKeyId')).toBe('ASIA1');
    expect(xmlText(xml, 'SessionToken')).toBe('a+b/c=&d');
    expect(xmlText(xml, 'Missing')).toBeUndefined();
  });

  it.each([
    [{ namespace: 'team-a', serviceAccount: { name: 'builder', uid: 'u' } }, 'ecp-team-a-builder'],
    [{ namespace: 'a'.repeat(63), serviceAccount: { name: 'b'.repeat(100), uid: 'u' } }, `ecp-${'a'.repeat(60)}`],
  ])('names the role session after the workload, within 64 allowed characters', (w, name) => {
    expect(roleSessionName(w)).toBe(name);
    expect(roleSessionName(w)).toMatch(/^[\w+=,.@-]{2,64}$/);
  });

  it.each([
    ['prod:rule=pull', 'ecp-prod-rule=pull'],
    ['prod', 'ecp-prod'],
    [`${'r'.repeat(63)}:rule=${'p'.repeat(63)}`, `ecp-${'r'.repeat(60)}`],
  ])('names the role session after a fan-in subject %s, not the workload: one session serves the rule', (sub, name) => {
    expect(roleSessionName(workload, sub)).toBe(name);
  });
});

describe('federate', () => {
  it("keeps no vendor credential past 12 h, whatever expiry the vendor's token claims", async () => {
    const ring = await loadKeyRing(JSON.stringify(generateKeyRing()));
    const now = Math.floor(Date.now() / 1000);
    const b64 = (o: unknown) => btoa(JSON.stringify(o)).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
    const vendorToken = `${b64({ alg: 'none' })}.${b64({ exp: now * 1000 })}.x`; // milliseconds, read as seconds
    const upstream = UpstreamSchema.parse({ type: 'cloudsmith', organization: 'acme', serviceAccount: 'far-future' });
    const credential = await federate(upstream, { name: 'pull', registry: 'docker.cloudsmith.io' }, workload, {
      ring,
      edgeIssuer: 'https://edge.example',
      fetch: async () => Response.json({ token: vendorToken }),
      now,
      clock: () => now * 1000,
      secret: 's',
      waitUntil: () => {},
      secrets: () => undefined,
      allowEndpointOverrides: false,
    });
    expect(credential.password).toBe(vendorToken);
    expect(credential.expiresAt).toBe(now + MAX_VENDOR_CREDENTIAL_SECONDS);
  });

  it('refuses to send a token to an endpoint override this edge does not allow (503, before any vendor call)', async () => {
    const ring = await loadKeyRing(JSON.stringify(generateKeyRing()));
    let calls = 0;
    // A record stored before ALLOW_ENDPOINT_OVERRIDES was turned off, or written to KV directly.
    const upstream = UpstreamSchema.parse({ type: 'cloudsmith', organization: 'acme', serviceAccount: 'puller', endpoint: 'https://169.254.169.254' });
    const err = await federate(upstream, { name: 'pull', registry: 'docker.cloudsmith.io' }, workload, {
      ring,
      edgeIssuer: 'https://edge.example',
      fetch: async () => {
        calls++;
        return Response.json({ token: 'x' });
      },
      now: NOW,
      clock: () => NOW * 1000,
      secret: 's',
      waitUntil: () => {},
      secrets: () => undefined,
      allowEndpointOverrides: false,
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_NOT_CONFIGURED', status: 503 });
    expect((err as Error).message).not.toContain('169.254');
    expect(calls).toBe(0);
  });

  it.each(['edge-credential-provider', 'https://ecp.example.com/edge'])(
    'refuses to sign for a vendor while EDGE_ISSUER is %s (503, before any vendor call)',
    async (edgeIssuer) => {
      const ring = await loadKeyRing(JSON.stringify(generateKeyRing()));
      let calls = 0;
      const upstream = UpstreamSchema.parse({ type: 'cloudsmith', organization: 'acme', serviceAccount: 'puller' });
      const err = await federate(upstream, { name: 'pull', registry: 'docker.cloudsmith.io' }, workload, {
        ring,
        edgeIssuer,
        fetch: async () => {
          calls++;
          return new Response('{}');
        },
        now: NOW,
        clock: () => NOW * 1000,
        secret: 's',
        waitUntil: () => {},
        secrets: () => undefined,
        allowEndpointOverrides: false,
      }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'ERR_NOT_CONFIGURED', status: 503 });
      expect(calls).toBe(0);
    },
  );
});
