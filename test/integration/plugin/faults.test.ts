/**
 * The plugin as a child process against loopback servers that misbehave. Timeouts are
 * shortened through flags (per attempt 300 ms, budget 2 s) so every failure ends quickly;
 * the only timing assertion is "finished within the budget plus start-up slack".
 */
import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../../support/edge.mjs';
import { API_VERSIONS, request, runPlugin, V1, type PluginRun } from './support/plugin';
import { fakeEdge, grant, json, PASSWORD, TOKEN, type FakeEdge } from './support/servers';
import { expectNoSecrets, expectOneCleanLine, strictDecode } from './support/strict';

const BUDGET_MS = 2_000;
/** Node start-up and teardown on a busy 2-core machine. */
const SLACK_MS = 3_000;
const FAST = ['--attempt-timeout', '300ms', '--budget', '2s'];
const SECRETS = [TOKEN, PASSWORD];

let edge: FakeEdge | undefined;
afterEach(async () => {
  await edge?.close();
  edge = undefined;
});

const withToken = (apiVersion = V1) => request(apiVersion, { serviceAccountToken: TOKEN, serviceAccountAnnotations: { 'edge.example.com/role': 'builder' } });

async function call(url: string, opts: { input?: string; args?: string[]; env?: Record<string, string> } = {}): Promise<PluginRun> {
  return runPlugin({ input: opts.input ?? withToken(), args: ['--url', url, ...FAST, ...(opts.args ?? [])], env: opts.env });
}

/** A failed run: exit 1, nothing on stdout, one clean stderr line, inside the budget. */
function expectFailure(run: PluginRun, code = 1): string {
  expect(run.stdout).toBe('');
  const line = expectOneCleanLine(run.stderr, SECRETS);
  expect(run.code, run.stderr).toBe(code);
  expect(run.ms).toBeLessThan(BUDGET_MS + SLACK_MS);
  return line;
}

describe('a healthy edge', () => {
  it.each(API_VERSIONS)('forwards the request unchanged and writes the answer in the request apiVersion (%s)', async (apiVersion) => {
    edge = await fakeEdge((_req, res) => json(res, 200, grant(apiVersion)));
    const input = withToken(apiVersion);
    const run = await call(edge.url, { input });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toBe('');
    const out = strictDecode(run.stdout, apiVersion);
    expect(out.auth).toEqual({ 'registry.test:5000': { username: 'team-a/builder', password: PASSWORD } });
    expect(out.cacheDuration).toBe('55m0s');
    expect(edge.seen).toHaveLength(1);
    const [seen] = edge.seen;
    expect(seen?.method).toBe('POST');
    expect(seen?.url).toBe('/v1/credentials');
    expect(seen?.headers['content-type']).toBe('application/json');
    expect(JSON.parse(seen?.body ?? '')).toEqual(JSON.parse(input));
  });

  it('drops fields the kubelet does not define, so its strict decoder accepts the answer', async () => {
    edge = await fakeEdge((_req, res) =>
      json(res, 200, {
        ...grant(V1),
        expiresAt: '2030-01-01T00:00:00Z',
        serviceAccountTokenCacheType: 'ServiceAccount',
        auth: { 'registry.test:5000': { username: 'u', password: PASSWORD, auth: 'dTpw' } },
      }),
    );
    const run = await call(edge.url);
    expect(run.code, run.stderr).toBe(0);
    expect(strictDecode(run.stdout, V1).auth).toEqual({ 'registry.test:5000': { username: 'u', password: PASSWORD } });
  });

  it('passes an empty auth map and an absent cacheDuration through as "no credentials" and "config default"', async () => {
    edge = await fakeEdge((_req, res) => json(res, 200, { apiVersion: V1, kind: 'CredentialProviderResponse', cacheKeyType: 'Registry', auth: {} }));
    const run = await call(edge.url);
    expect(run.code, run.stderr).toBe(0);
    expect(strictDecode(run.stdout, V1)).toEqual({ apiVersion: V1, kind: 'CredentialProviderResponse', cacheKeyType: 'Registry', auth: {} });
  });

  it('takes the edge URL from EDGE_CREDENTIAL_PROVIDER_URL, and lets --url win over it', async () => {
    edge = await fakeEdge((_req, res) => json(res, 200, grant(V1)));
    const fromEnv = await runPlugin({ input: withToken(), args: FAST, env: { EDGE_CREDENTIAL_PROVIDER_URL: edge.url } });
    expect(fromEnv.code, fromEnv.stderr).toBe(0);
    const dead = `http://127.0.0.1:${await freePort()}`;
    const flagWins = await runPlugin({ input: withToken(), args: ['--url', edge.url, ...FAST], env: { EDGE_CREDENTIAL_PROVIDER_URL: dead } });
    expect(flagWins.code, flagWins.stderr).toBe(0);
    expect(edge.seen).toHaveLength(2);
  });

  it('writes verbose diagnostics only when asked, naming the token by fingerprint and never the secrets', async () => {
    edge = await fakeEdge((_req, res) => json(res, 200, grant(V1)));
    const run = await call(edge.url, { env: { EDGE_CREDENTIAL_PROVIDER_VERBOSE: '1' } });
    expect(run.code, run.stderr).toBe(0);
    strictDecode(run.stdout, V1);
    const lines = run.stderr.trim().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(4);
    expect(run.stderr).toMatch(/service-account token sha256:[0-9a-f]{12}/);
    expect(run.stderr).toContain('attempt 1: HTTP 200');
    expectNoSecrets(run.stderr, SECRETS);
  });
});

describe('an edge that is down or slow', () => {
  it('retries a refused connection, then fails with one line saying so', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const line = expectFailure(await call(url));
    expect(line).toContain('connection refused (ECONNREFUSED)');
    expect(line).toMatch(/after [2-4] attempts/);
  });

  it('abandons an attempt that hangs past the per-attempt timeout and retries within the budget', async () => {
    edge = await fakeEdge(() => {
      /* never answers */
    });
    const line = expectFailure(await call(edge.url));
    expect(line).toMatch(/: no answer (within 300ms|before the budget ran out)( \(|$)/);
    expect(edge.seen.length).toBeGreaterThanOrEqual(2);
  });

  it('stops a response whose body stalls after the headers at the per-attempt timeout', async () => {
    edge = await fakeEdge((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '500' });
      res.write('{"apiVersion":');
    });
    const line = expectFailure(await call(edge.url));
    expect(line).toMatch(/: no answer (within 300ms|before the budget ran out)( \(|$)/);
  });

  it.each([500, 502, 503])('retries a %i and uses the answer that follows', async (status) => {
    edge = await fakeEdge((_req, res, n) =>
      n === 1 ? json(res, status, { error: 'ERR_STORE_UNAVAILABLE', message: 'the trust store is unavailable' }) : json(res, 200, grant(V1)),
    );
    const run = await call(edge.url);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toBe('');
    strictDecode(run.stdout, V1);
    expect(edge.seen).toHaveLength(2);
  });

  it('gives up on an edge that keeps answering 503, reporting its reason code', async () => {
    edge = await fakeEdge((_req, res) => json(res, 503, { error: 'ERR_JWKS_UNAVAILABLE', message: "the issuer's keys could not be fetched" }));
    const line = expectFailure(await call(edge.url, { args: ['--max-attempts', '3'] }));
    expect(line).toContain("503 ERR_JWKS_UNAVAILABLE: the issuer's keys could not be fetched");
    expect(line).toContain('after 3 attempts');
    expect(edge.seen).toHaveLength(3);
  });

  it('waits as long as a 429 Retry-After asks before trying again', async () => {
    edge = await fakeEdge((_req, res, n) =>
      n === 1 ? json(res, 429, { error: 'ERR_RATE_LIMITED', message: 'slow down' }, { 'retry-after': '1' }) : json(res, 200, grant(V1)),
    );
    const run = await call(edge.url);
    expect(run.code, run.stderr).toBe(0);
    strictDecode(run.stdout, V1);
    expect(edge.seen).toHaveLength(2);
    const [first, second] = edge.seen;
    expect((second?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThanOrEqual(950);
  });

  it('fails at once when Retry-After reaches past the budget, without a pointless wait', async () => {
    edge = await fakeEdge((_req, res) => json(res, 429, { error: 'ERR_RATE_LIMITED', message: 'slow down' }, { 'retry-after': '30' }));
    const run = await call(edge.url);
    const line = expectFailure(run);
    expect(line).toContain('429 ERR_RATE_LIMITED: slow down');
    expect(line).toContain('asked to retry after 30.0s');
    expect(edge.seen).toHaveLength(1);
    expect(run.ms).toBeLessThan(BUDGET_MS);
  });

  it('retries a body cut off before its declared length', async () => {
    edge = await fakeEdge((_req, res, n) => {
      if (n > 1) return json(res, 200, grant(V1));
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '400' });
      res.write('{"apiVersion":"credentialprovider.kubelet.k8s.io/v1","kind":');
      setTimeout(() => res.socket?.destroy(), 20);
    });
    const run = await call(edge.url);
    expect(run.code, run.stderr).toBe(0);
    strictDecode(run.stdout, V1);
    expect(edge.seen).toHaveLength(2);
  });

  it('fails on an edge that always cuts its answer short, with nothing on stdout', async () => {
    edge = await fakeEdge((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '400' });
      res.write(`{"apiVersion":"credentialprovider.kubelet.k8s.io/v1","auth":{"r":{"username":"u","password":"${PASSWORD}`);
      setTimeout(() => res.socket?.destroy(), 20);
    });
    const line = expectFailure(await call(edge.url));
    expect(line).toMatch(/closed before the answer was complete|connection reset|closed by the edge/);
  });
});

describe('an edge that refuses', () => {
  it.each([
    [400, 'ERR_BAD_REQUEST', 'the request is malformed'],
    [401, 'ERR_TOKEN_EXPIRED', 'the token has expired'],
    [403, 'ERR_POLICY_DENIED', 'no trust rule grants this image to this service account'],
    [404, 'ERR_NOT_FOUND', 'not found'],
    [413, 'ERR_BODY_TOO_LARGE', 'the request body is too large'],
    [415, 'ERR_UNSUPPORTED_MEDIA_TYPE', 'the request body must be JSON'],
  ])('reports a %i with its reason code and message, and never retries it', async (status, code, message) => {
    edge = await fakeEdge((_req, res) => json(res, status, { error: code, message }));
    const line = expectFailure(await call(edge.url));
    expect(line).toBe(`edge-credential-provider: the edge refused the request: ${status} ${code}: ${message}`);
    expect(edge.seen).toHaveLength(1);
  });

  it('masks the token and password even when the edge echoes them in its message', async () => {
    edge = await fakeEdge((_req, res) => json(res, 401, { error: 'ERR_TOKEN_MALFORMED', message: `bad token ${TOKEN} and opaque-secret-42` }));
    const input = request(V1, { serviceAccountToken: 'opaque-secret-42' });
    const run = await call(edge.url, { input });
    const line = expectFailure(run);
    expectNoSecrets(run.stderr, ['opaque-secret-42']);
    expect(line).toContain('[redacted]');
  });

  it('reports a 4xx without the error format by its status alone', async () => {
    edge = await fakeEdge((_req, res) => {
      res.writeHead(403, { 'content-type': 'text/html' });
      res.end('<html><body>Forbidden by the corporate firewall\n<script>x</script></body></html>');
    });
    const line = expectFailure(await call(edge.url));
    expect(line).toBe('edge-credential-provider: the edge refused the request: HTTP 403');
  });

  it('does not follow a redirect, so the token goes nowhere but the configured edge', async () => {
    const elsewhere = await fakeEdge((_req, res) => json(res, 200, grant(V1)));
    try {
      edge = await fakeEdge((_req, res) => {
        res.writeHead(307, { location: `${elsewhere.url}/v1/credentials` });
        res.end();
      });
      const line = expectFailure(await call(edge.url));
      expect(line).toContain('redirect (HTTP 307)');
      expect(elsewhere.seen).toHaveLength(0);
    } finally {
      await elsewhere.close();
    }
  });
});

describe('an edge that breaks the protocol', () => {
  it.each([
    ['a body that is not JSON', (res: any) => res.end('<html>Service ok</html>'), 'not valid JSON'],
    ['a JSON array', (res: any) => json(res, 200, [grant(V1)]), 'is not a JSON object'],
    [
      'another apiVersion',
      (res: any) => json(res, 200, grant('credentialprovider.kubelet.k8s.io/v1beta1')),
      'has apiVersion "credentialprovider.kubelet.k8s.io/v1beta1", expected "credentialprovider.kubelet.k8s.io/v1"',
    ],
    ['another kind', (res: any) => json(res, 200, grant(V1, { kind: 'CredentialProviderRequest' })), 'has kind "CredentialProviderRequest"'],
    [
      'no cacheKeyType',
      (res: any) => json(res, 200, grant(V1, { cacheKeyType: undefined })),
      'has cacheKeyType (missing), expected one of Image, Registry, Global',
    ],
    ['an unknown cacheKeyType', (res: any) => json(res, 200, grant(V1, { cacheKeyType: 'Pod' })), 'has cacheKeyType "Pod"'],
    ['a cacheDuration in seconds', (res: any) => json(res, 200, grant(V1, { cacheDuration: 3300 })), 'which is not a Go duration'],
    ['a cacheDuration that is not Go syntax', (res: any) => json(res, 200, grant(V1, { cacheDuration: '55 minutes' })), 'which is not a Go duration'],
    ['auth as a list', (res: any) => json(res, 200, grant(V1, { auth: [{ username: 'u', password: PASSWORD }] })), 'auth field that is not a map'],
    [
      'an auth entry without a password',
      (res: any) => json(res, 200, grant(V1, { auth: { 'registry.test': { username: 'u' } } })),
      'auth entry for "registry.test"',
    ],
    [
      'a numeric password',
      (res: any) => json(res, 200, grant(V1, { auth: { 'registry.test': { username: 'u', password: 1234567 } } })),
      'auth entry for "registry.test"',
    ],
    [
      'an auth key with a scheme',
      (res: any) => json(res, 200, grant(V1, { auth: { 'https://registry.test': { username: 'u', password: PASSWORD } } })),
      'not a registry pattern',
    ],
    [
      'a 204',
      (res: any) => {
        res.writeHead(204);
        res.end();
      },
      'HTTP 204',
    ],
  ])('rejects %s: exit 1, nothing forwarded, no retry', async (_what, answer, expected) => {
    edge = await fakeEdge((_req, res) => answer(res));
    const line = expectFailure(await call(edge.url));
    expect(line).toContain(expected);
    expect(edge.seen).toHaveLength(1);
  });

  it('rejects an answer larger than any edge sends', async () => {
    edge = await fakeEdge((_req, res) => json(res, 200, grant(V1, { padding: 'x'.repeat(300 * 1024) })));
    const line = expectFailure(await call(edge.url));
    expect(line).toContain('larger than 262144 bytes');
  });
});

describe('the request on stdin', () => {
  it('refuses more than 64 KiB without contacting the edge', async () => {
    edge = await fakeEdge((_req, res) => json(res, 200, grant(V1)));
    const input = request(V1, { serviceAccountToken: TOKEN, serviceAccountAnnotations: { big: 'x'.repeat(70 * 1024) } });
    const line = expectFailure(await call(edge.url, { input }));
    expect(line).toBe('edge-credential-provider: the request on stdin is larger than 65536 bytes');
    expect(edge.seen).toHaveLength(0);
  });

  it.each([
    ['not JSON', `{"apiVersion":"${V1}","serviceAccountToken":"${TOKEN}"`, 'the request on stdin is not valid JSON'],
    ['empty', '', 'the request on stdin is not valid JSON'],
    ['a JSON string', '"hello"', 'the request on stdin is not a JSON object'],
    [
      'of another kind',
      request(V1, { kind: 'CredentialProviderResponse', serviceAccountToken: TOKEN }),
      'has kind "CredentialProviderResponse", expected "CredentialProviderRequest"',
    ],
    [
      'of an unknown apiVersion',
      request('credentialprovider.kubelet.k8s.io/v2', { serviceAccountToken: TOKEN }),
      'has apiVersion "credentialprovider.kubelet.k8s.io/v2"',
    ],
    ['without an image', request(V1, { image: '', serviceAccountToken: TOKEN }), 'has no image'],
    ['with a non-string token', request(V1, { serviceAccountToken: { raw: TOKEN } }), 'serviceAccountToken that is not a string'],
    ['with non-string annotations', request(V1, { serviceAccountAnnotations: { a: 1 } }), 'serviceAccountAnnotations that are not a map of strings'],
  ])('rejects a request that is %s, without echoing it and without contacting the edge', async (_what, input, expected) => {
    edge = await fakeEdge((_req, res) => json(res, 200, grant(V1)));
    const line = expectFailure(await call(edge.url, { input }));
    expect(line).toContain(expected);
    expect(edge.seen).toHaveLength(0);
  });

  it('gives up on a kubelet that never closes stdin, within the budget', async () => {
    edge = await fakeEdge((_req, res) => json(res, 200, grant(V1)));
    // An input stream that is never ended: runPlugin ends stdin, so spawn by hand here.
    const { spawn } = await import('node:child_process');
    const { PLUGIN, PINNED_NODE } = await import('./support/plugin');
    const started = performance.now();
    const child = spawn(PINNED_NODE, [PLUGIN, '--url', edge.url, ...FAST], { stdio: ['pipe', 'pipe', 'pipe'] });
    child.stdin.write('{"apiVersion":');
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(expectOneCleanLine(stderr)).toContain('no complete request on stdin within the budget');
    expect(performance.now() - started).toBeLessThan(BUDGET_MS + SLACK_MS);
  });
});

describe('the plugin configuration', () => {
  it('refuses plain http:// to a host that is not loopback, without connecting anywhere', async () => {
    // Any connection attempt would go through this proxy (NODE_USE_ENV_PROXY, Node >= 24):
    // it must see nothing.
    let connections = 0;
    const proxy = createServer((s) => {
      connections++;
      s.destroy();
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    const proxyUrl = `http://127.0.0.1:${(proxy.address() as { port: number }).port}`;
    try {
      const run = await call('http://edge.example.com', { env: { NODE_USE_ENV_PROXY: '1', HTTP_PROXY: proxyUrl, HTTPS_PROXY: proxyUrl } });
      const line = expectFailure(run, 2);
      expect(line).toContain('--url must use https://');
      expect(connections).toBe(0);
    } finally {
      await new Promise((r) => proxy.close(r));
    }
  });

  it.each(['http://localhost:PORT', 'http://127.0.0.1:PORT/', 'http://127.1.2.3:PORT'])('allows plain http:// to loopback (%s)', async (template) => {
    edge = await fakeEdge((_req, res) => json(res, 200, grant(V1)));
    if (template.includes('127.1.2.3')) {
      // Only 127.0.0.1 is bound; the point is that the URL is accepted and a connection is tried.
      const run = await call(template.replace('PORT', String(edge.port)));
      expect(run.stderr).not.toContain('must use https://');
      return;
    }
    const run = await call(template.replace('PORT', String(edge.port)));
    expect(run.code, run.stderr).toBe(0);
  });

  it.each([
    [[], {}, 'no edge URL'],
    [['--url', 'ftp://edge.example.com'], {}, 'must use https://'],
    [['--url', 'https://user:pw@edge.example.com'], {}, 'must not carry credentials'],
    [['--url', 'https://edge.example.com', '--budget', '90s'], {}, 'at most 55s'],
    [['--url', 'https://edge.example.com', '--attempt-timeout', 'soon'], {}, 'positive duration'],
    [['--url', 'https://edge.example.com', '--max-attempts', '0'], {}, 'whole number from 1 to 10'],
    [['--url', 'https://edge.example.com', '--retries', '3'], {}, 'unknown flag --retries'],
    [
      [],
      { EDGE_CREDENTIAL_PROVIDER_URL: 'https://edge.example.com', EDGE_CREDENTIAL_PROVIDER_VERBOSE: 'maybe' },
      'EDGE_CREDENTIAL_PROVIDER_VERBOSE must be true or false',
    ],
  ])('exits 2 on a misconfiguration (%j %j)', async (args, env, expected) => {
    const run = await runPlugin({ input: withToken(), args, env });
    const line = expectFailure(run, 2);
    expect(line).toContain(expected);
  });

  it('prints its version and usage', async () => {
    const version = await runPlugin({ input: '', args: ['--version'] });
    expect(version.code).toBe(0);
    expect(version.stdout).toMatch(/^edge-credential-provider \d+\.\d+\.\d+/);
    const help = await runPlugin({ input: '', args: ['--help'] });
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('generate-config');
  });
});
