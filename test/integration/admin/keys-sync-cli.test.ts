/**
 * `npm run keys-sync` as a process against the real local edge: a rotation pushed from a JWKS
 * file and from `kubectl get --raw` (a stand-in kubectl on PATH), with tokens of the record's
 * key-sync account read from a file; a refusal exits 1 with the edge's code; pulls follow the
 * keys. Also `npm run records`: a record with keySync keeps the keys its cluster pushed.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEdge } from '../../support/edge.mjs';
import { edgeAdmin, kubeletRequest, makeCluster, REGISTRY, trustRecord, type TestCluster, type TokenOptions } from '../../support/kit.mjs';
import { run } from '../../e2e/support/processes.mjs';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const NODE = join(ROOT, 'node_modules', 'node', 'bin', 'node');
const AUDIENCE = 'edge-key-sync';
const keySync = { audience: AUDIENCE, serviceAccount: { namespace: 'kube-system', name: 'edge-key-sync' } };

let edge: Awaited<ReturnType<typeof startEdge>>;
let dir: string;
let cluster: TestCluster;
let next: { privateKey: CryptoKey; jwk: JWK };

function cli(script: string, args: string[], env: Record<string, string | undefined> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return run(NODE, [join(ROOT, 'scripts', script), ...args], { env: { PATH: process.env.PATH, EDGE_URL: edge.url, ...env } });
}

/** Writes a key-sync token (and, given, a JWKS) to files; answers their paths. */
async function files(token: TokenOptions, jwks?: unknown) {
  const tokenFile = join(dir, `token-${Math.random().toString(36).slice(2)}`);
  writeFileSync(tokenFile, `${await cluster.token({ namespace: 'kube-system', serviceAccount: 'edge-key-sync', audience: AUDIENCE, ...token })}\n`);
  const jwksFile = join(dir, `jwks-${Math.random().toString(36).slice(2)}.json`);
  if (jwks) writeFileSync(jwksFile, JSON.stringify(jwks));
  return { tokenFile, jwksFile };
}

const pull = async (t: TokenOptions = {}) =>
  (
    await fetch(`${edge.url}/v1/credentials`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(kubeletRequest(`${REGISTRY}/team-a/app:v1`, await cluster.token(t))),
    })
  ).status;

beforeAll(async () => {
  edge = await startEdge();
  dir = mkdtempSync(join(tmpdir(), 'ecp-keys-sync-'));
  cluster = await makeCluster();
  const pair = await generateKeyPair('RS256', { extractable: true });
  next = { privateKey: pair.privateKey, jwk: { ...(await exportJWK(pair.publicKey)), kid: 'next', alg: 'RS256', use: 'sig' } };
  await edgeAdmin(edge).register('prod', trustRecord(cluster, { keySync }));
}, 90_000);
afterAll(async () => {
  await edge?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('npm run keys-sync', () => {
  it('pushes the new key from a JWKS file, then drops the old one from kubectl once the new one signs', async () => {
    let f = await files({}, { keys: [...cluster.jwks.keys, next.jwk] });
    let out = await cli('keys-sync.mjs', ['--jwks-from', f.jwksFile, '--token-file', f.tokenFile]);
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    expect(out.stdout).toBe(`keys-sync: record prod: keys changed (version 2); keys: ${cluster.rsa.jwk.kid}, ${cluster.ec.jwk.kid}, next\n`);

    // The API server now signs with "next" and lists only it; kubectl answers what it would.
    const bin = join(dir, 'bin');
    rmSync(bin, { recursive: true, force: true });
    writeFileSync(join(dir, 'jwks-now.json'), JSON.stringify({ keys: [next.jwk] }));
    mkdirSync(bin);
    writeFileSync(
      join(bin, 'kubectl'),
      `#!/bin/sh\n[ "$*" = "get --raw /openid/v1/jwks" ] || { echo "unexpected: $*" >&2; exit 3; }\ncat '${join(dir, 'jwks-now.json')}'\n`,
    );
    chmodSync(join(bin, 'kubectl'), 0o755);
    f = await files({ signingKey: next.privateKey, kid: 'next' });
    out = await cli('keys-sync.mjs', ['--jwks-from', 'kubectl', '--token-file', f.tokenFile], { PATH: `${bin}:${process.env.PATH}` });
    expect(out.stderr).toBe('');
    expect(out.stdout).toBe('keys-sync: record prod: keys changed (version 3); keys: next\n');
    expect(await pull({ signingKey: next.privateKey, kid: 'next' })).toBe(200);
    expect(await pull()).toBe(401);

    // The same again: confirmed, no new version.
    out = await cli('keys-sync.mjs', ['--jwks-from', 'kubectl', '--token-file', f.tokenFile], { PATH: `${bin}:${process.env.PATH}` });
    expect(out.stdout).toBe('keys-sync: record prod: keys unchanged, confirmed; keys: next\n');

    // A dropped key cannot push: exit 1 with the edge's code.
    f = await files({}, { keys: cluster.jwks.keys });
    out = await cli('keys-sync.mjs', ['--jwks-from', f.jwksFile, '--token-file', f.tokenFile]);
    expect(out.code).toBe(1);
    expect(out.stderr).toMatch(/^keys-sync: the edge refused the keys: 401 ERR_UNKNOWN_KEY /);
  });

  it('exits 1 with the edge code for another service account, and refuses plain http to a remote edge before sending the token', async () => {
    const f = await files({ serviceAccount: 'default', signingKey: next.privateKey, kid: 'next' }, { keys: [next.jwk] });
    const out = await cli('keys-sync.mjs', ['--jwks-from', f.jwksFile, '--token-file', f.tokenFile]);
    expect(out.code).toBe(1);
    expect(out.stderr).toMatch(/403 ERR_KEY_SYNC_FORBIDDEN/);
    const remote = await cli('keys-sync.mjs', ['--jwks-from', f.jwksFile, '--token-file', f.tokenFile], { EDGE_URL: 'http://edge.example.com' });
    expect(remote.code).toBe(1);
    expect(remote.stderr).toMatch(/must be https/);
  });

  it('lets `npm run records -- apply` keep the keys the cluster pushed for a keySync record', async () => {
    const records = join(dir, 'records');
    mkdirSync(records);
    // The file still holds the keys the record was created with, and a changed rule.
    const file = trustRecord(cluster, { keySync, cacheKeyType: 'Registry' });
    writeFileSync(join(records, 'prod.json'), JSON.stringify(file));
    const out = await cli('records.mjs', ['apply', records], { ADMIN_TOKEN: edge.adminToken });
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    expect(out.stdout).toContain('cacheKeyType: "Image" → "Registry"');
    expect(out.stdout).not.toContain('keys.jwks');
    const live = (await (await edgeAdmin(edge).get('prod')).json()) as { keys: { jwks: { keys: { kid: string }[] } } };
    expect(live.keys.jwks.keys.map((k) => k.kid)).toEqual(['next']);
  });
});
