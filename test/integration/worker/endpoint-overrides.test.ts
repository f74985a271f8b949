/**
 * Upstream endpoint overrides on an edge without ALLOW_ENDPOINT_OVERRIDES (this project's
 * Worker, like a production deploy, leaves it unset): the admin API takes only the vendor's own
 * hosts, stores them normalised, and refuses anything else with 400 ERR_INVALID_RECORD.
 */
import { describe, expect, it } from 'vitest';
import { ADMIN, defaultRecord, edgeFetch, makeIssuer, putRecord } from '../../support/worker/issuer';

let counter = 0;
async function put(upstream: Record<string, unknown>, registry: string) {
  const name = `endpoints-${++counter}`;
  const rule = { name: 'pull', namespaces: ['team-a'], registry, repositories: ['acme/**'], upstream };
  const res = await putRecord(name, defaultRecord(await makeIssuer(), { rules: [rule] }));
  return { name, status: res.status, body: (await res.json()) as { error?: string; issues?: string[]; rules?: { upstream: Record<string, unknown> }[] } };
}

const quay = { type: 'quay', robot: 'acme+puller' };
const cloudsmith = { type: 'cloudsmith', organization: 'acme', serviceAccount: 'puller' };

describe('endpoint overrides on an edge that does not allow them', () => {
  it.each([
    ['a metadata address', { ...cloudsmith, endpoint: 'https://169.254.169.254' }, 'docker.cloudsmith.io', 'rules.0.upstream.endpoint'],
    ['loopback', { ...quay, endpoint: 'http://127.0.0.1:9000' }, 'quay.io', 'rules.0.upstream.endpoint'],
    ['another host for Quay', { ...quay, endpoint: 'https://quay.evil.example' }, 'quay.io', 'rules.0.upstream.endpoint'],
    ['a command substitution', { ...quay, endpoint: 'https://quay.io/$(touch /tmp/x)' }, 'quay.io', 'rules.0.upstream.endpoint'],
    ['a newline', { ...quay, endpoint: 'https://quay.io\n/x' }, 'quay.io', 'rules.0.upstream.endpoint'],
    [
      'a path and query sent with the token',
      { ...cloudsmith, endpoint: 'https://api.cloudsmith.io/x?y=1' },
      'docker.cloudsmith.io',
      'rules.0.upstream.endpoint',
    ],
    [
      'an STS that is not AWS',
      { type: 'ecr', roleArn: 'arn:aws:iam::123456789012:role/pull', region: 'eu-west-1', stsEndpoint: 'https://10.0.0.1' },
      '123456789012.dkr.ecr.eu-west-1.amazonaws.com',
      'rules.0.upstream.stsEndpoint',
    ],
  ])('refuses %s with 400 ERR_INVALID_RECORD naming the field', async (_t, upstream, registry, path) => {
    const { status, body } = await put(upstream, registry);
    expect(status).toBe(400);
    expect(body.error).toBe('ERR_INVALID_RECORD');
    expect(body.issues?.some((i) => i.startsWith(`${path}:`))).toBe(true);
  });

  it("takes the vendor's own host, stored as its origin", async () => {
    const { name, status } = await put({ ...cloudsmith, endpoint: 'https://API.Cloudsmith.io/' }, 'docker.cloudsmith.io');
    expect(status).toBe(201);
    const stored = (await (await edgeFetch(`/admin/v1/issuers/${name}`, { headers: ADMIN() })).json()) as { rules: { upstream: { endpoint: string } }[] };
    expect(stored.rules[0]!.upstream.endpoint).toBe('https://api.cloudsmith.io');
  });

  it("takes the rule's own registry as Quay's endpoint", async () => {
    expect((await put({ ...quay, endpoint: 'https://quay.example.com:8443' }, 'quay.example.com:8443')).status).toBe(201);
  });
});
