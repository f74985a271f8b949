/**
 * The edge's key rotation as a vendor sees it. The edge is restarted on the same port (so its
 * issuer URL stays) with a rotated key ring; the Cloudsmith fake has cached the old JWKS, meets
 * a workload token with a kid it does not know, fetches the JWKS again and accepts it. Once the
 * old key is retired, a token it signed is refused, though it verified while the key was
 * still published.
 */
import { importJWK, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateAdminToken, retireKey, rotateKeyRing } from '../../../scripts/lib/keys.mjs';
import { startEdge } from '../../support/edge.mjs';
import { edgeAdmin, makeCluster, trustRecord, type TestCluster } from '../../support/kit.mjs';
import { startCloudsmith, type CloudsmithFake } from '../../support/vendors/cloudsmith.mjs';
import { exchange, nowSeconds, type Edge } from './support/edge';

const REGISTRY = 'docker.cloudsmith.io';
const IMAGE = `${REGISTRY}/acme/team-a/app:v1`;
const adminToken = generateAdminToken();

let edge: Edge;
let cloudsmith: CloudsmithFake;
let cluster: TestCluster;
/** The first RS256 key: active, then retiring, then retired. */
let first: { kid: string; privateKey: CryptoKey };

type Ring = Edge['keyRing'];

/** (Re)starts the edge where it was, with `keyRing`, and registers the record again (its KV is new). */
async function restart(keyRing?: Ring) {
  const port = edge?.port;
  await edge?.stop();
  for (let attempt = 1; ; attempt++) {
    try {
      edge = await startEdge({ adminToken, ...(keyRing ? { keyRing } : {}), ...(port ? { port } : {}) });
      break;
    } catch (err) {
      // The old workerd may hold the port for a moment after wrangler exits.
      if (attempt === 3 || !port) throw err;
      await new Promise((r) => setTimeout(r, 1_000));
    }
  }
  await edgeAdmin(edge).register(
    'rot',
    trustRecord(cluster, {
      rules: [
        {
          name: 'vendor',
          namespaces: ['team-a'],
          registry: REGISTRY,
          repositories: ['**'],
          upstream: { type: 'cloudsmith', organization: 'acme', serviceAccount: 'puller', endpoint: cloudsmith.url },
        },
      ],
    }),
  );
}

async function pull(serviceAccount: string) {
  return exchange(edge, IMAGE, await cluster.token({ serviceAccount }));
}

/** A workload token signed by `key` with claims Cloudsmith's provider setting accepts, sent straight to Cloudsmith. */
async function presentDirectly(key: { kid: string; privateKey: CryptoKey }) {
  const now = nowSeconds();
  const token = await new SignJWT({ namespace: 'team-a' })
    .setProtectedHeader({ alg: 'RS256', kid: key.kid, typ: 'JWT' })
    .setIssuer(edge.url)
    .setSubject('rot:team-a:direct')
    .setAudience(cloudsmith.url)
    .setIssuedAt(now)
    .setExpirationTime(now + 300)
    .sign(key.privateKey);
  const res = await fetch(`${cloudsmith.url}/openid/acme/`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ oidc_token: token, service_slug: 'puller' }),
  });
  await res.body?.cancel();
  return res.status;
}

beforeAll(async () => {
  cloudsmith = await startCloudsmith({ organizations: { acme: { serviceAccounts: ['puller'], providers: [] } } });
  cluster = await makeCluster();
  await restart();
  cloudsmith.state.organizations.acme!.providers.push({
    providerUrl: edge.url,
    requiredClaims: { aud: cloudsmith.url, namespace: 'team-a' },
    serviceAccounts: ['puller'],
  });
  const ring = edge.keyRing;
  const entry = ring.rsa!.keys.find((k) => k.kid === ring.rsa!.active)!;
  first = { kid: entry.kid, privateKey: (await importJWK(entry.privateJwk, 'RS256')) as CryptoKey };
}, 90_000);

afterAll(async () => {
  await edge?.stop();
  await cloudsmith?.stop();
});

describe('edge key rotation, seen from Cloudsmith', () => {
  it("verifies the first key's workload tokens from one discovery and one JWKS fetch", async () => {
    expect((await pull('one')).status).toBe(200);
    expect(cloudsmith.state.accepted.at(-1)?.header.kid).toBe(first.kid);
    expect(cloudsmith.rp.counts).toEqual({ discovery: 1, jwks: 1 });
  });

  it("fetches the JWKS again on the rotated key's unknown kid and accepts its tokens", async () => {
    const { ring } = rotateKeyRing(edge.keyRing, { rsa: true });
    await restart(ring);
    expect(edge.keyRing.rsa!.active).not.toBe(first.kid);
    const { status, text } = await pull('two');
    expect(status, text).toBe(200);
    expect(cloudsmith.state.accepted.at(-1)?.header.kid).toBe(edge.keyRing.rsa!.active);
    expect(cloudsmith.rp.counts).toEqual({ discovery: 1, jwks: 2 });
  });

  it('still accepts a token of the retiring key while the edge publishes it', async () => {
    expect(await presentDirectly(first)).toBe(200);
    expect(cloudsmith.rp.counts.jwks).toBe(2); // a known kid: no fetch
  });

  it('refuses a token of the retired key once the edge no longer publishes it', async () => {
    const rotated = rotateKeyRing(edge.keyRing, { rsa: true }).ring;
    await restart(retireKey(rotated, first.kid));
    expect(edge.keyRing.rsa!.keys.map((k) => k.kid)).not.toContain(first.kid);
    // The third key's first token makes Cloudsmith fetch the keys again; then the retired key is unknown.
    expect((await pull('three')).status).toBe(200);
    expect(cloudsmith.rp.counts.jwks).toBe(3);
    expect(await presentDirectly(first)).toBe(401);
    expect(cloudsmith.state.refused.at(-1)?.reason).toBe('kid');
    expect(cloudsmith.rp.counts).toEqual({ discovery: 1, jwks: 4 }); // it looked once more before refusing
  });
});
