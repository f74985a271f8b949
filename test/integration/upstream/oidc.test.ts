/**
 * The relying party the vendor fakes verify with (test/support/vendors/oidc.mjs), against the
 * edge's real discovery document and JWKS: it accepts what the edge's keys sign and refuses,
 * for the right reason, each thing a vendor refuses. The fakes' checks can fail, so the
 * upstream tests that pass through them mean something.
 */
import { exportJWK, generateKeyPair, importJWK, SignJWT, type JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEdge } from '../../support/edge.mjs';
import { relyingParty, RelyingPartyError, type RefusalReason } from '../../support/vendors/oidc.mjs';
import { nowSeconds, type Edge } from './support/edge';

let edge: Edge;
let rsa: { kid: string; key: CryptoKey };
let ec: { kid: string; key: CryptoKey };
const AUD = 'https://vendor.test';

beforeAll(async () => {
  edge = await startEdge();
  const ring = edge.keyRing;
  const rsaEntry = ring.rsa!.keys.find((k) => k.kid === ring.rsa!.active)!;
  const ecEntry = ring.workload!.keys.find((k) => k.kid === ring.workload!.active)!; // workload tokens have keys of their own
  rsa = { kid: rsaEntry.kid, key: (await importJWK(rsaEntry.privateJwk, 'RS256')) as CryptoKey };
  ec = { kid: ecEntry.kid, key: (await importJWK(ecEntry.privateJwk, 'ES256')) as CryptoKey };
}, 90_000);

afterAll(async () => {
  await edge?.stop();
});

interface SignOptions {
  alg?: 'RS256' | 'ES256';
  kid?: string;
  key?: CryptoKey;
  /** Claims to override, or with undefined to leave out. */
  claims?: Record<string, unknown>;
}

/** A workload-token-shaped JWT signed with one of the edge's own keys (or `key`). */
async function sign(o: SignOptions = {}): Promise<string> {
  const alg = o.alg ?? 'RS256';
  const own = alg === 'RS256' ? rsa : ec;
  const now = nowSeconds();
  const claims: JWTPayload = { iss: edge.url, sub: 'r:team-a:builder', aud: AUD, iat: now, nbf: now, exp: now + 300, record: 'r' };
  for (const [k, v] of Object.entries(o.claims ?? {})) {
    if (v === undefined) delete claims[k];
    else claims[k] = v;
  }
  return new SignJWT(claims).setProtectedHeader({ alg, kid: o.kid ?? own.kid, typ: 'JWT' }).sign(o.key ?? own.key);
}

async function refusal(promise: Promise<unknown>): Promise<RefusalReason> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'the token was accepted').toBeInstanceOf(RelyingPartyError);
  return (err as RelyingPartyError).reason;
}

describe("the vendors' relying party against the edge", () => {
  it("accepts a token the edge's RS256 key signed, after fetching discovery and the JWKS once", async () => {
    const rp = relyingParty({ algorithms: ['RS256'] });
    const { payload, header } = await rp.verify(await sign(), { issuer: edge.url, audience: AUD });
    expect(header).toMatchObject({ alg: 'RS256', kid: rsa.kid });
    expect(payload.sub).toBe('r:team-a:builder');
    expect(rp.counts).toEqual({ discovery: 1, jwks: 1 });
    await rp.verify(await sign(), { issuer: edge.url, audience: AUD });
    expect(rp.counts).toEqual({ discovery: 1, jwks: 1 });
  });

  it("accepts the edge's ES256 key where the vendor takes ES256, and an audience from a list", async () => {
    const rp = relyingParty({ algorithms: ['RS256', 'ES256'] });
    const { header } = await rp.verify(await sign({ alg: 'ES256' }), { issuer: edge.url, audience: ['sts.amazonaws.com', AUD] });
    expect(header).toMatchObject({ alg: 'ES256', kid: ec.kid });
  });

  const foreignKey = async () => (await generateKeyPair('RS256')).privateKey;
  it.each<[string, () => Promise<SignOptions>, RefusalReason]>([
    ["signed by a foreign key under the edge's kid", async () => ({ key: await foreignKey() }), 'signature'],
    ['for another audience', async () => ({ claims: { aud: 'https://someone-else.test' } }), 'aud'],
    ['without an audience', async () => ({ claims: { aud: undefined } }), 'aud'],
    ['naming another issuer', async () => ({ claims: { iss: 'https://impostor.test' } }), 'iss'],
    ['that has expired', async () => ({ claims: { iat: nowSeconds() - 900, nbf: nowSeconds() - 900, exp: nowSeconds() - 600 } }), 'exp'],
    ['without exp', async () => ({ claims: { exp: undefined } }), 'exp'],
    ['without sub', async () => ({ claims: { sub: undefined } }), 'sub'],
    ['not valid yet', async () => ({ claims: { nbf: nowSeconds() + 600 } }), 'nbf'],
    ['signed ES256 for a vendor that takes RS256 only', async () => ({ alg: 'ES256' }), 'alg'],
  ])('refuses a token %s', async (_what, options, reason) => {
    const rp = relyingParty({ algorithms: ['RS256'] });
    expect(await refusal(rp.verify(await sign(await options()), { issuer: edge.url, audience: AUD }))).toBe(reason);
  });

  it('refuses a token whose header says alg none', async () => {
    const rp = relyingParty({ algorithms: ['RS256'] });
    const [, body] = (await sign()).split('.');
    const unsigned = `${Buffer.from(JSON.stringify({ alg: 'none', kid: rsa.kid })).toString('base64url')}.${body}.`;
    expect(await refusal(rp.verify(unsigned, { issuer: edge.url, audience: AUD }))).toBe('alg');
    expect(rp.counts).toEqual({ discovery: 0, jwks: 0 });
  });

  it('fetches the JWKS again for an unknown kid, and still refuses a key the edge does not publish', async () => {
    const rp = relyingParty({ algorithms: ['RS256'] });
    await rp.verify(await sign(), { issuer: edge.url, audience: AUD });
    expect(rp.counts).toEqual({ discovery: 1, jwks: 1 });
    const stranger = await generateKeyPair('RS256', { extractable: true });
    const kid = `stranger-${(await exportJWK(stranger.publicKey)).n!.slice(0, 8)}`;
    expect(await refusal(rp.verify(await sign({ key: stranger.privateKey, kid }), { issuer: edge.url, audience: AUD }))).toBe('kid');
    expect(rp.counts).toEqual({ discovery: 1, jwks: 2 });
  });

  it('refuses an issuer whose discovery document names another issuer', async () => {
    // The same edge reached as localhost: its document says 127.0.0.1, which is not what was configured.
    const rp = relyingParty({ algorithms: ['RS256'] });
    const alias = edge.url.replace('127.0.0.1', 'localhost');
    expect(await refusal(rp.verify(await sign({ claims: { iss: alias } }), { issuer: alias, audience: AUD }))).toBe('issuer');
    expect(rp.counts.jwks).toBe(0);
  });
});
