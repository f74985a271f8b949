/**
 * The single executable build (Node SEA): built from the same bundle into a temporary
 * directory, then run as the kubelet would, with no Node on PATH at all.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildSea } from '../../../plugin/build-sea.mjs';
import { freePort } from '../../support/edge.mjs';
import { PINNED_NODE, request, runPlugin, V1 } from './support/plugin';
import { fakeEdge, grant, json, TOKEN, type FakeEdge } from './support/servers';
import { expectOneCleanLine, strictDecode } from './support/strict';
import { makePki, startConnectProxy, startTlsEdge } from './support/tls';

let dir: string;
let sea: string;
let edge: FakeEdge | undefined;
/** No node anywhere on PATH: the executable must not need one. */
const NO_NODE = { PATH: '/nonexistent' };

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ecp-sea-'));
  sea = await buildSea({ node: PINNED_NODE, outfile: join(dir, 'edge-credential-provider') });
}, 180_000);

afterEach(async () => {
  await edge?.close();
  edge = undefined;
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the single executable', () => {
  it('is one self-contained executable file', () => {
    const st = statSync(sea);
    expect(st.isFile()).toBe(true);
    expect(st.mode & 0o111).not.toBe(0);
    expect(st.size).toBeGreaterThan(10 * 1024 * 1024); // it carries Node itself
  });

  it('gets credentials with no Node on PATH, printing no SEA warning', async () => {
    edge = await fakeEdge((_req, res) => json(res, 200, grant(V1)));
    const run = await runPlugin({ file: sea, input: request(V1, { serviceAccountToken: TOKEN }), args: ['--url', edge.url], env: NO_NODE });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toBe('');
    strictDecode(run.stdout, V1);
  });

  it('fails like the script build: exit 1, one clean line', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const run = await runPlugin({
      file: sea,
      input: request(V1, { serviceAccountToken: TOKEN }),
      args: ['--url', url, '--attempt-timeout', '300ms', '--budget', '2s'],
      env: NO_NODE,
    });
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(expectOneCleanLine(run.stderr, [TOKEN])).toContain('connection refused');
  });

  it('runs generate-config', async () => {
    const run = await runPlugin({
      file: sea,
      input: '',
      args: ['generate-config', '--url', 'https://e.example.com', '--match-image', 'r.example.com', '--audience', 'a'],
      env: NO_NODE,
    });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('kind: "CredentialProviderConfig"');
  });

  it('honours NODE_EXTRA_CA_CERTS and NODE_USE_ENV_PROXY like the Node inside it', async () => {
    const pki = makePki(['edge.example.test']);
    const tls = await startTlsEdge(pki, () => grant(V1));
    const proxy = await startConnectProxy(tls.port);
    try {
      const run = await runPlugin({
        file: sea,
        input: request(V1, { serviceAccountToken: TOKEN }),
        args: ['--url', `https://edge.example.test:${tls.port}`, '--budget', '10s'],
        env: { ...NO_NODE, NODE_EXTRA_CA_CERTS: pki.caFile, NODE_USE_ENV_PROXY: '1', HTTPS_PROXY: `http://127.0.0.1:${proxy.port}` },
      });
      expect(run.code, run.stderr).toBe(0);
      strictDecode(run.stdout, V1);
      expect(proxy.connects).toEqual([`edge.example.test:${tls.port}`]);
    } finally {
      await proxy.close();
      await tls.close();
      pki.cleanup();
    }
  });
});
