/**
 * End to end, with real parts on 127.0.0.1: a kubelet request goes through the built exec
 * plugin to the edge (wrangler dev), the credential it yields opens a real distribution 2.8
 * registry whose token service is the edge, skopeo pushes an image built offline with umoci,
 * and a containerd of our own pulls it. Then the denials: pull-only cannot push, team-a
 * cannot pull team-b, another namespace gets nothing, an expired credential opens nothing.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { calculateJwkThumbprint, importJWK, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { certificateBundle, generateKeyRing } from '../../scripts/lib/keys.mjs';
import { startEdge } from '../support/edge.mjs';
import { eventLines } from '../support/log-lines.mjs';
import { edgeAdmin } from '../support/kit.mjs';
import { forgeCredential, kubeletRequest, makeCluster, runPlugin } from './support/cluster.mjs';
import { startRegistry } from './support/registry.mjs';
import { buildImage, skopeoInspect, skopeoPush, startContainerd } from './support/runtime.mjs';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

type Creds = { username: string; password: string };
type Service = { stop: () => Promise<void>; logs: () => string };

let dir: string;
let keyRing: ReturnType<typeof generateKeyRing>;
let edge: Awaited<ReturnType<typeof startEdge>>;
let registry: Awaited<ReturnType<typeof startRegistry>>;
let containerd: Awaited<ReturnType<typeof startContainerd>>;
let cluster: Awaited<ReturnType<typeof makeCluster>>;
let image: string;
let record: Record<string, unknown>;
const started: { name: string; pid?: number; service: Service }[] = [];

const sub = (name: string) => {
  const path = join(dir, name);
  mkdirSync(path, { recursive: true });
  return path;
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ecp-e2e-'));
  keyRing = generateKeyRing();
  const [edgeUp, containerdUp] = await Promise.all([
    startEdge({ keyRing }), // defaults: registry tokens have an issuer of their own, <EDGE_ISSUER>/registry-token
    startContainerd(sub('containerd')),
  ]);
  edge = edgeUp;
  started.push({ name: 'edge', service: edge });
  containerd = containerdUp;
  started.push({ name: 'containerd', service: containerd });
  registry = await startRegistry({
    dir: sub('registry'),
    realm: `${edge.url}/token`,
    issuer: `${edge.url}/registry-token`,
    bundle: certificateBundle(keyRing),
  });
  started.push({ name: 'registry', service: registry });

  cluster = await makeCluster();
  const rule = (name: string, namespace: string, serviceAccount: string, repositories: string[], actions: string[]) => ({
    name,
    namespaces: [namespace],
    serviceAccounts: [serviceAccount],
    registry: registry.host,
    repositories,
    actions,
    ttl: 600,
  });
  record = {
    issuer: cluster.issuer,
    audiences: ['edge-credential-provider'],
    keys: { type: 'inline', jwks: cluster.jwks },
    rules: [
      rule('team-a-builder', 'team-a', 'builder', ['team-a/*'], ['pull', 'push']),
      rule('team-a-viewer', 'team-a', 'viewer', ['team-a/*'], ['pull']),
      rule('team-b-builder', 'team-b', 'builder', ['team-b/*'], ['pull', 'push']),
    ],
  };
  const res = await putRecord(record);
  expect(res.status, await res.clone().text()).toBe(201);
  image = await buildImage(sub('image'));
});

afterAll(async () => {
  // E2E_LOGS=<file> keeps what the edge, the registry and containerd said, for debugging.
  if (process.env.E2E_LOGS) {
    writeFileSync(process.env.E2E_LOGS, started.map(({ name, service }) => `==== ${name}\n${service.logs()}`).join('\n'));
  }
  const failures: string[] = [];
  for (const { name, service } of started.reverse()) {
    try {
      await service.stop();
    } catch (err) {
      failures.push(`${name}: ${(err as Error).message}`);
    }
  }
  if (dir) {
    const mounts = readFileSync('/proc/mounts', 'utf8')
      .split('\n')
      .filter((line) => line.includes(dir));
    if (mounts.length) failures.push(`mounts left under ${dir}:\n${mounts.join('\n')}`);
    else rmSync(dir, { recursive: true, force: true });
    if (existsSync(dir)) failures.push(`${dir} was not removed`);
  }
  if (failures.length) throw new Error(`cleanup failed:\n${failures.join('\n')}`);
});

const putRecord = (body: Record<string, unknown>) => edgeAdmin(edge).put('e2e-cluster', body);

/** Runs the plugin for a pod of namespace/serviceAccount pulling `repo:tag` from the registry. */
async function pluginFor(namespace: string, serviceAccount: string, repo: string) {
  const token = await cluster.token({ namespace, serviceAccount });
  return runPlugin(edge.url, kubeletRequest(`${registry.host}/${repo}`, token));
}

async function credentialsFor(namespace: string, serviceAccount: string, repo: string): Promise<Creds> {
  const out = await pluginFor(namespace, serviceAccount, repo);
  expect(out.code, out.stderr).toBe(0);
  const response = JSON.parse(out.stdout);
  return response.auth[registry.host];
}

/** Registry token requests the edge logged since `mark`, as parsed audit lines. */
function tokenEvents(mark: number) {
  return eventLines(edge.logs().slice(mark), 'registry_token');
}

describe('a pod in team-a with push rights', () => {
  let creds: Creds;

  it('gets registry credentials from the exec plugin for its service-account token', async () => {
    const token = await cluster.token({ namespace: 'team-a', serviceAccount: 'builder' });
    const out = await runPlugin(edge.url, kubeletRequest(`${registry.host}/team-a/app:v1`, token));
    expect(out.code, out.stderr).toBe(0);
    const response = JSON.parse(out.stdout);
    expect(response).toMatchObject({ apiVersion: 'credentialprovider.kubelet.k8s.io/v1', kind: 'CredentialProviderResponse', cacheKeyType: 'Image' });
    expect(Object.keys(response.auth)).toEqual([registry.host]);
    creds = response.auth[registry.host];
    expect(creds.username).toBe('team-a/builder');
    expect(out.stderr).not.toContain(creds.password);
  });

  it('pushes an image built with umoci using skopeo, which asks for its token over GET', async () => {
    const mark = edge.logs().length;
    const out = await skopeoPush(dir, image, `${registry.host}/team-a/app:v1`, creds);
    expect(out.code, out.stderr).toBe(0);
    const events = tokenEvents(mark);
    expect(events.some((e) => e.outcome === 'issued' && e.form === 'get' && e.granted.includes('repository:team-a/app:pull,push'))).toBe(true);
  });

  it('pulls it with containerd, which asks for its token over POST', async () => {
    const mark = edge.logs().length;
    const out = await containerd.pull(`${registry.host}/team-a/app:v1`, creds);
    expect(out.code, out.stderr + out.stdout).toBe(0);
    const images = await containerd.ctr(['images', 'ls', '-q']);
    expect(images.stdout.split('\n')).toContain(`${registry.host}/team-a/app:v1`);
    const events = tokenEvents(mark);
    expect(events.some((e) => e.outcome === 'issued' && e.form === 'post' && e.granted === 'repository:team-a/app:pull')).toBe(true);
  });

  it('pulls with containerd holding the credential as a refresh token: the edge answers 400 and containerd retries over GET', async () => {
    const mark = edge.logs().length;
    await containerd.ctr(['images', 'rm', `${registry.host}/team-a/app:v1`]);
    const out = await containerd.pullWithRefreshToken(`${registry.host}/team-a/app:v1`, creds.password);
    expect(out.code, out.stderr + out.stdout).toBe(0);
    expect(tokenEvents(mark).some((e) => e.outcome === 'issued' && e.form === 'get')).toBe(true);
  });
});

describe('what the registry and the edge refuse', () => {
  it('lets a pull-only grant pull but not push', async () => {
    const viewer = await credentialsFor('team-a', 'viewer', 'team-a/app:v1');
    const inspect = await skopeoInspect(dir, `${registry.host}/team-a/app:v1`, viewer);
    expect(inspect.code, inspect.stderr).toBe(0);
    const push = await skopeoPush(dir, image, `${registry.host}/team-a/viewer-copy:v1`, viewer);
    expect(push.code).not.toBe(0);
    expect(push.stderr).toMatch(/unauthorized|denied|authentication required/i);
  });

  it('does not let a team-a credential pull team-b/app', async () => {
    const teamB = await credentialsFor('team-b', 'builder', 'team-b/app:v1');
    const push = await skopeoPush(dir, image, `${registry.host}/team-b/app:v1`, teamB);
    expect(push.code, push.stderr).toBe(0); // team-b/app exists: the refusal below is about rights

    const teamA = await credentialsFor('team-a', 'builder', 'team-a/app:v1');
    const pull = await containerd.pull(`${registry.host}/team-b/app:v1`, teamA);
    expect(pull.code).not.toBe(0);
    expect(pull.stderr).toMatch(/401|403|unauthorized|denied/i);
    const inspect = await skopeoInspect(dir, `${registry.host}/team-b/app:v1`, teamA);
    expect(inspect.code).not.toBe(0);

    // Nor does the plugin hand team-a credentials for a team-b image.
    const asked = await pluginFor('team-a', 'builder', 'team-b/app:v1');
    expect(asked.code).toBe(1);
    expect(asked.stdout).toBe('');
  });

  it('gives a token from another namespace no credentials: 403 ERR_POLICY_DENIED', async () => {
    const out = await pluginFor('team-c', 'builder', 'team-a/app:v1');
    expect(out.code).toBe(1);
    expect(out.stdout).toBe('');

    const token = await cluster.token({ namespace: 'team-c', serviceAccount: 'builder' });
    const res = await fetch(`${edge.url}/v1/credentials`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(kubeletRequest(`${registry.host}/team-a/app:v1`, token)),
    });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: string }).error).toBe('ERR_POLICY_DENIED');
  });

  it('refuses an expired credential at the token endpoint, so neither runtime gets in', async () => {
    const now = Math.floor(Date.now() / 1000);
    const claims = {
      edgeIssuer: edge.url,
      cluster: cluster.issuer,
      rule: 'team-a-builder',
      service: registry.service,
      registry: registry.host,
      namespace: 'team-a',
      serviceAccount: 'builder',
      grants: [{ repositories: ['team-a/*'], actions: ['pull', 'push'] }],
    };
    const expired = await forgeCredential(keyRing, { ...claims, iat: now - 700, exp: now - 100 });
    // The same credential, still valid, is accepted: only the expiry differs.
    const fresh = await forgeCredential(keyRing, { ...claims, iat: now, exp: now + 600 });
    const url = `${edge.url}/token?service=${encodeURIComponent(registry.service)}&scope=repository:team-a/app:pull`;
    const basic = (c: Creds) => ({ authorization: `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}` });
    expect((await fetch(url, { headers: basic(fresh) })).status).toBe(200);

    const res = await fetch(url, { headers: basic(expired) });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Basic /);
    const body = (await res.json()) as { errors: { code: string; detail: { error: string } }[] };
    expect(body.errors[0]).toMatchObject({ code: 'UNAUTHORIZED', detail: { error: 'ERR_CREDENTIAL_EXPIRED' } });

    const pull = await containerd.pull(`${registry.host}/team-a/app:v1`, expired);
    expect(pull.code).not.toBe(0);
    const inspect = await skopeoInspect(dir, `${registry.host}/team-a/app:v1`, expired);
    expect(inspect.code).not.toBe(0);
  });

  it('does not accept an edge credential presented to the registry as a bearer token', async () => {
    const creds = await credentialsFor('team-a', 'builder', 'team-a/app:v1');
    const bearer = { authorization: `Bearer ${creds.password}`, accept: OCI_MANIFEST };
    // No access claim: refused for any repository, whatever the issuer settings.
    expect((await fetch(`${registry.url}/v2/team-a/app/manifests/v1`, { headers: bearer })).status).toBe(401);
    // Not even the base check passes: a credential's aud is the edge's token endpoint, never the service.
    expect((await fetch(`${registry.url}/v2/`, { headers: bearer })).status).toBe(401);
  });
});

describe('what distribution 2.8 checks in a token header and claims', () => {
  async function registryToken(header: Record<string, unknown>, claims: Record<string, unknown> = {}) {
    const active = keyRing.keys.find((k) => k.kid === keyRing.active)!;
    const key = await importJWK({ ...active.privateJwk, alg: 'ES256' }, 'ES256');
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ aud: registry.service, access: [{ type: 'repository', name: 'team-a/app', actions: ['pull'] }], ...claims })
      .setProtectedHeader({ alg: 'ES256', typ: 'JWT', ...header })
      .setIssuer(`${edge.url}/registry-token`) // REGISTRY_TOKEN_ISSUER's default, as the registry is configured
      .setSubject('system:serviceaccount:team-a:builder')
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(now + 300)
      .setJti(crypto.randomUUID())
      .sign(key);
  }
  const manifest = (token: string) =>
    fetch(`${registry.url}/v2/team-a/app/manifests/v1`, { headers: { authorization: `Bearer ${token}`, accept: OCI_MANIFEST } });

  it('accepts a token that names the key only by its libtrust kid', async () => {
    expect((await manifest(await registryToken({ kid: keyRing.active }))).status).toBe(200);
  });

  it('rejects a token whose kid is an RFC 7638 thumbprint', async () => {
    const active = keyRing.keys.find((k) => k.kid === keyRing.active)!;
    const { d: _d, ...pub } = active.privateJwk;
    const thumbprint = await calculateJwkThumbprint(pub);
    expect((await manifest(await registryToken({ kid: thumbprint }))).status).toBe(401);
  });

  it('rejects a token whose aud is an array', async () => {
    expect((await manifest(await registryToken({ kid: keyRing.active }, { aud: [registry.service] }))).status).toBe(401);
  });
});

describe('revocation reaches the registry', () => {
  it('refuses a credential that pulled fine once its record is disabled, and serves it again once re-enabled', async () => {
    const creds = await credentialsFor('team-a', 'builder', 'team-a/app:v1');
    expect((await skopeoInspect(dir, `${registry.host}/team-a/app:v1`, creds)).code).toBe(0);

    expect((await putRecord({ ...record, disabled: true })).status).toBe(200);
    // The documented propagation is KV's edge cache plus the isolate cache (70 s); the
    // isolate that takes the admin change drops its copy at once, and wrangler dev runs one.
    const mark = edge.logs().length;
    const inspect = await skopeoInspect(dir, `${registry.host}/team-a/app:v1`, creds);
    expect(inspect.code).not.toBe(0);
    await containerd.ctr(['images', 'rm', `${registry.host}/team-a/app:v1`]).catch(() => undefined);
    const pull = await containerd.pull(`${registry.host}/team-a/app:v1`, creds);
    expect(pull.code).not.toBe(0);
    expect(tokenEvents(mark).some((e) => e.outcome === 'denied' && e.code === 'ERR_ISSUER_DISABLED')).toBe(true);

    expect((await putRecord(record)).status).toBe(200);
    expect((await skopeoInspect(dir, `${registry.host}/team-a/app:v1`, creds)).code).toBe(0);
  });
});
