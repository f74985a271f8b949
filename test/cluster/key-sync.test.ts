/**
 * Key sync with the real API server and kubelet (docs/trust-records.md, "Key sync"): the
 * cluster rotates its service-account signing key, `npm run keys-sync` pushes the API server's
 * JWKS with a TokenRequest token of the record's key-sync account, and pods keep pulling with
 * no admin step. Once the old key is dropped, a token it signed can neither push nor pull; an
 * account other than the key-sync one, and a key of another cluster, cannot push.
 */
import { run } from '../e2e/support/processes.mjs';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { makeCluster } from '../support/kit.mjs';
import { buildImage, deletePod, push, pusherCredentials, RECORD, requestToken, runPod, startWorld } from './support/world.mjs';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const NODE = join(ROOT, 'node_modules', 'node', 'bin', 'node');
const NS = 'team-k';
const SYNC_NS = 'key-sync';
const SYNC_AUDIENCE = 'edge-key-sync';
const keySync = { audience: SYNC_AUDIENCE, serviceAccount: { namespace: SYNC_NS, name: 'edge-key-sync' } };

let dir: string;
let world: any;
let tag = 0;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ecp-cluster-key-sync-'));
  world = await startWorld({
    dir,
    clusterDir: inject('clusterDir'),
    accounts: { [NS]: ['app'], [SYNC_NS]: ['edge-key-sync', 'intruder'] },
    rules: (registry: string) => [{ name: 'team-k-pull', namespaces: [NS], registry, repositories: ['team-k/**'], actions: ['pull'], ttl: 600 }],
  });
  world.record = { ...world.record, keySync };
  await world.admin.register(RECORD, world.record);
});

afterAll(async () => {
  await world?.cluster.restartKubelet({ provider: null }).catch(() => {});
  await world?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A new repository, pushed now: the kubelet has no cached credential for it. */
async function freshImage() {
  const t = `k${++tag}`;
  const ref = `${world.registry.host}/team-k/app-${t}:v1`;
  await push(dir, await buildImage(join(dir, 'images'), world.cluster.peers.pause, t), ref, await pusherCredentials(world, `team-k/app-${t}`));
  return ref;
}

/** `npm run keys-sync` with the API server's JWKS as it is now (what `kubectl get --raw` reads) and `token`. */
async function keysSync(token: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const jwksFile = join(dir, `jwks-${++tag}.json`);
  const tokenFile = join(dir, `token-${tag}`);
  writeFileSync(jwksFile, await world.api.raw('/openid/v1/jwks'));
  writeFileSync(tokenFile, token);
  return run(NODE, [join(ROOT, 'scripts', 'keys-sync.mjs'), '--jwks-from', jwksFile, '--token-file', tokenFile], {
    env: { PATH: process.env.PATH, EDGE_URL: world.edge.url },
  });
}

const syncToken = (account = 'edge-key-sync') => requestToken(world.api, SYNC_NS, account, { audience: SYNC_AUDIENCE, seconds: 3600 });
const kids = (jwks: string) => (JSON.parse(jwks) as { keys: { kid: string }[] }).keys.map((k) => k.kid);

describe('keys that follow the cluster', () => {
  it('follows a signing-key rotation pushed by the key-sync job; pulls keep working; a dropped key can neither push nor pull', async () => {
    const before = await freshImage();
    expect(await runPod(world.api, NS, { name: 'before', serviceAccount: 'app', image: before })).toBe('running');
    // Tokens the old key signed: the key-sync job's (its projected token, refreshed before the
    // restart) and a workload's.
    const oldSync = await syncToken();
    const oldPull = await requestToken(world.api, NS, 'app');

    // The API server lists the new key beside the old one and signs with the new one. The job's
    // token of the old key still verifies with the record's keys: the push adds the new key.
    await world.cluster.rotateServiceAccountKey();
    const both = await world.api.raw('/openid/v1/jwks');
    expect(kids(both)).toHaveLength(2);
    let out = await keysSync(oldSync);
    expect(out.stderr).toBe('');
    expect(out.stdout).toMatch(/^keys-sync: record real-cluster: keys changed \(version 3\); keys: /);
    const during = await freshImage(); // the pusher's token is of the new key: the edge knows it now
    expect(await runPod(world.api, NS, { name: 'during', serviceAccount: 'app', image: during })).toBe('running');

    // The old key is dropped; the job's next token is of the new key, and so is the push.
    await world.cluster.rotateServiceAccountKey({ dropOld: true });
    const only = await world.api.raw('/openid/v1/jwks');
    expect(kids(only)).toHaveLength(1);
    out = await keysSync(await syncToken());
    expect(out.stderr).toBe('');
    expect(out.stdout).toBe(`keys-sync: record real-cluster: keys changed (version 4); keys: ${kids(only)[0]}\n`);
    const after = await freshImage();
    expect(await runPod(world.api, NS, { name: 'after', serviceAccount: 'app', image: after })).toBe('running');

    // What the dropped key signed is worthless now: it cannot put its key back, nor pull.
    out = await keysSync(oldSync);
    expect(out.code).toBe(1);
    expect(out.stderr).toMatch(/401 ERR_UNKNOWN_KEY/);
    const refused = await world.admin.explain({ token: oldPull, image: after });
    expect(await refused.json()).toMatchObject({ decision: 'deny', code: 'ERR_UNKNOWN_KEY' });

    const res = await fetch(`${world.edge.url}/admin/v1/issuers/${RECORD}/history`, { headers: { authorization: `Bearer ${world.edge.adminToken}` } });
    const history = (await res.json()) as { items: { by: string }[] };
    expect(history.items.slice(0, 2).map((h) => h.by)).toEqual([`keysync:${SYNC_NS}/edge-key-sync`, `keysync:${SYNC_NS}/edge-key-sync`]);
    for (const pod of ['before', 'during', 'after']) await deletePod(world.api, NS, pod);
  });

  it('refuses a push by another account of the cluster and by a key of another cluster', async () => {
    let out = await keysSync(await syncToken('intruder'));
    expect(out.code).toBe(1);
    expect(out.stderr).toMatch(/403 ERR_KEY_SYNC_FORBIDDEN/);
    // Another cluster's key, claiming this cluster's issuer and the key-sync account.
    const other = await makeCluster();
    const forged = await other.token({ issuer: world.cluster.issuer, namespace: SYNC_NS, serviceAccount: 'edge-key-sync', audience: SYNC_AUDIENCE });
    out = await keysSync(forged);
    expect(out.code).toBe(1);
    expect(out.stderr).toMatch(/401 ERR_UNKNOWN_KEY/);
  });
});
