/**
 * HTTPS to an edge behind a private CA (NODE_EXTRA_CA_CERTS), and through an HTTP proxy
 * (NODE_USE_ENV_PROXY=1 with HTTPS_PROXY, Node >= 24.5 / 22.21). All on loopback: the
 * "proxy" tunnels CONNECT for edge.example.test to the local TLS server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findNode20 } from './support/older-node';
import { request, runPlugin, V1 } from './support/plugin';
import { grant, TOKEN } from './support/servers';
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
