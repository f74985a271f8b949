/**
 * Our SigV4 signer against AWS's own (@smithy/signature-v4 with @aws-crypto/sha256-js, what the
 * AWS SDK uses) and against the published "post-vanilla" test vector.
 */
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import { describe, expect, it } from 'vitest';
import { signAws } from '../../../src/upstream/sigv4';

const creds = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
const NOW = new Date('2015-08-30T12:36:00Z');

describe('signAws', () => {
  it('matches the published post-vanilla vector', async () => {
    const req = await signAws(
      'https://example.amazonaws.com/',
      { method: 'POST', headers: {}, body: '' },
      creds,
      { region: 'us-east-1', service: 'service' },
      NOW,
    );
    expect(req.headers.get('authorization')).toBe(
      'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, ' +
        'Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b',
    );
  });

  it.each([
    ['an ECR call with a session token', 'https://api.ecr.eu-west-1.amazonaws.com/', 'eu-west-1', 'ecr', { sessionToken: 'FQoGZXIvYXdzE//session+token=' }],
    ['a loopback endpoint with a port', 'http://127.0.0.1:41234/', 'us-east-2', 'ecr', {}],
  ])("signs %s exactly as AWS's own signer does", async (_t, url, region, service, extra) => {
    const c = { ...creds, ...extra };
    const body = JSON.stringify({ registryIds: ['123456789012'] });
    const headers = { 'x-amz-target': 'AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken', 'content-type': 'application/x-amz-json-1.1' };
    const ours = await signAws(url, { method: 'POST', headers, body }, c, { region, service }, NOW);
    const u = new URL(url);
    const theirs = await new SignatureV4({ credentials: c, region, service, sha256: Sha256, applyChecksum: false }).sign(
      {
        method: 'POST',
        protocol: u.protocol,
        hostname: u.hostname,
        ...(u.port ? { port: Number(u.port) } : {}),
        path: u.pathname,
        headers: { ...headers, host: u.host },
        body,
      },
      { signingDate: NOW },
    );
    expect(ours.headers.get('authorization')).toBe(theirs.headers.authorization);
    expect(ours.headers.get('x-amz-security-token') ?? undefined).toBe(theirs.headers['x-amz-security-token']);
  });
});
