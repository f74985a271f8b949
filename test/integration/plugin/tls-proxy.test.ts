/**
 * HTTPS to an edge behind a private CA (NODE_EXTRA_CA_CERTS), and through an HTTP proxy
 * (NODE_USE_ENV_PROXY=1 with HTTPS_PROXY, Node >= 24.5 / 22.21), except to a loopback edge,
 * which is never proxied. All on loopback: the "proxy" tunnels CONNECT for
 * edge.example.test to the local TLS server and records every request it is sent. And the
 * refusal to run with TLS certificate checks turned off (NODE_TLS_REJECT_UNAUTHORIZED=0).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findNode20 } from './support/older-node';
import { request, runPlugin, V1 } from './support/plugin';
import { fakeEdge, grant, json, TOKEN } from './support/servers';
import { expectOneCleanLine, strictDecode } from './support/strict';
import { makePki, startConnectProxy, startTlsEdge, type TestPki } from './support/tls';

let pki: TestPki;
let tls: Awaited<ReturnType<typeof startTlsEdge>>;
let proxy: Awaited<ReturnType<typeof startConnectProxy>>;

beforeAll(async () => {
  pki = makePki(['127.0.0.1', 'localhost', 'edge.example.test']);
  tls = await startTlsEdge(pki, () => grant(V1));
  proxy = await startConnectProxy(tls.port);
});

afterAll(async () => {
  await proxy?.close();
  await tls?.close();
  pki?.cleanup();
});

const input = request(V1, { serviceAccountToken: TOKEN });

describe('HTTPS with a private CA', () => {
  it('refuses an edge certificate from an unknown CA at once, pointing to NODE_EXTRA_CA_CERTS', async () => {
    const before = tls.state.requests;
    const run = await runPlugin({ input, args: ['--url', `https://127.0.0.1:${tls.port}`, '--attempt-timeout', '1s', '--budget', '5s'] });
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    const line = expectOneCleanLine(run.stderr, [TOKEN]);
    expect(line).toContain('TLS certificate of the edge not accepted');
    expect(line).toContain('NODE_EXTRA_CA_CERTS');
    expect(tls.state.requests).toBe(before);
  });

  it('trusts the CA given in NODE_EXTRA_CA_CERTS', async () => {
    const run = await runPlugin({ input, args: ['--url', `https://127.0.0.1:${tls.port}`], env: { NODE_EXTRA_CA_CERTS: pki.caFile } });
    expect(run.code, run.stderr).toBe(0);
    strictDecode(run.stdout, V1);
  });

  it('trusts the CA given in NODE_EXTRA_CA_CERTS on Node 20 too', async () => {
    const run = await runPlugin({ node: findNode20().path, input, args: ['--url', `https://localhost:${tls.port}`], env: { NODE_EXTRA_CA_CERTS: pki.caFile } });
    expect(run.code, run.stderr).toBe(0);
    strictDecode(run.stdout, V1);
  });
});

describe('TLS checks turned off for the process', () => {
  it('refuses to run with NODE_TLS_REJECT_UNAUTHORIZED=0: exit 2, one line naming it, the edge never contacted', async () => {
    const before = tls.state.requests;
    const run = await runPlugin({
      input,
      args: ['--url', `https://127.0.0.1:${tls.port}`],
      env: { NODE_EXTRA_CA_CERTS: pki.caFile, NODE_TLS_REJECT_UNAUTHORIZED: '0' },
    });
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(expectOneCleanLine(run.stderr, [TOKEN])).toContain('NODE_TLS_REJECT_UNAUTHORIZED=0');
    expect(tls.state.requests).toBe(before);
  });
});

describe('an HTTP proxy', () => {
  it('tunnels to the edge through HTTPS_PROXY when NODE_USE_ENV_PROXY=1 (pinned Node 24)', async () => {
    const run = await runPlugin({
      input,
      args: ['--url', `https://edge.example.test:${tls.port}`, '--budget', '10s'],
      env: { NODE_EXTRA_CA_CERTS: pki.caFile, NODE_USE_ENV_PROXY: '1', HTTPS_PROXY: `http://127.0.0.1:${proxy.port}` },
    });
    expect(run.code, run.stderr).toBe(0);
    strictDecode(run.stdout, V1);
    expect(proxy.connects).toContain(`edge.example.test:${tls.port}`);
  });

  it('bypasses the proxy for hosts in NO_PROXY', async () => {
    const before = proxy.connects.length;
    const run = await runPlugin({
      input,
      args: ['--url', `https://localhost:${tls.port}`],
      env: { NODE_EXTRA_CA_CERTS: pki.caFile, NODE_USE_ENV_PROXY: '1', HTTPS_PROXY: `http://127.0.0.1:${proxy.port}`, NO_PROXY: 'localhost' },
    });
    expect(run.code, run.stderr).toBe(0);
    expect(proxy.connects.length).toBe(before);
  });
});

describe('a loopback edge while a proxy is configured', () => {
  // The request carries the service-account token: it must not leave the machine through a
  // proxy on its way to an edge on this machine, whatever NO_PROXY says.
  const proxyEnv = () => {
    const url = `http://127.0.0.1:${proxy.port}`;
    return { NODE_USE_ENV_PROXY: '1', HTTP_PROXY: url, http_proxy: url, HTTPS_PROXY: url, https_proxy: url };
  };

  it.each(['127.0.0.1', 'localhost'])('posts to http://%s directly, never through HTTP_PROXY', async (host) => {
    const edge = await fakeEdge((_req, res) => json(res, 200, grant(V1)));
    try {
      const run = await runPlugin({ input, args: ['--url', `http://${host}:${edge.port}`, '--max-attempts', '1'], env: proxyEnv() });
      expect(proxy.requests).toEqual([]);
      expect(proxy.connects.filter((c) => !c.startsWith('edge.example.test:'))).toEqual([]);
      expect(run.code, run.stderr).toBe(0);
      strictDecode(run.stdout, V1);
      expect(edge.seen).toHaveLength(1);
    } finally {
      await edge.close();
    }
  });

  it('connects to https://127.0.0.1 directly, never through HTTPS_PROXY', async () => {
    const before = tls.state.requests;
    const run = await runPlugin({
      input,
      args: ['--url', `https://127.0.0.1:${tls.port}`, '--max-attempts', '1'],
      env: { NODE_EXTRA_CA_CERTS: pki.caFile, ...proxyEnv() },
    });
    expect(proxy.connects.filter((c) => !c.startsWith('edge.example.test:'))).toEqual([]);
    expect(run.code, run.stderr).toBe(0);
    strictDecode(run.stdout, V1);
    expect(tls.state.requests).toBe(before + 1);
  });
});
