/**
 * The edge's own credential, verified without jose (signing/jws.ts verifyOwnEs256 and
 * registry/credential.ts verifyCredential): a table of tokens at a frozen clock, each signed
 * for real with the ring's key (or another), and what each must give. jose signs and checks
 * beside it, so a credential jose would refuse is refused here too and one jose minted (as
 * edges before verifyOwnEs256 did) still passes.
 */
import { env } from 'cloudflare:workers';
import { decodeProtectedHeader, exportJWK, generateKeyPair, jwtVerify, SignJWT } from 'jose';
import { libtrustKeyId } from '../../../src/signing/libtrust';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Workload } from '../../../src/identity/workload';
import { CREDENTIAL_AUDIENCE, CREDENTIAL_NBF_SKEW, CREDENTIAL_TYP, mintCredential, verifyCredential } from '../../../src/registry/credential';
import { signRegistryToken } from '../../../src/registry/registry-token';
import { base64url, JwsRefused, verifyOwnEs256 } from '../../../src/signing/jws';
import { loadKeyRing, type KeyRing } from '../../../src/signing/keys';

const NOW = 1_800_000_000; // a frozen clock
const EDGE = 'https://edge.test';
const SERVICE = 'registry.test:5000';
const workload: Workload = {
  cluster: 'https://cluster.k8s.test',
  record: 'r',
  namespace: 'team-a',
  serviceAccount: { name: 'builder', uid: 'sa-uid' },
  pod: { name: 'builder-pod', uid: 'pod-uid' },
  expiresAt: 0,
};
const grants = [{ repositories: ['team-a/*'], actions: ['pull' as const] }];

let ring: KeyRing;
beforeAll(async () => {
  ring = await loadKeyRing(env.EDGE_SIGNING_KEYS);
});

const enc = new TextEncoder();
const b64 = (text: string) => base64url(enc.encode(text));

/** What the edge mints, as claims: every test token starts from these. */
const claims = (over: Record<string, unknown> = {}) => ({
  ecp: { cluster: workload.cluster, namespace: 'team-a', serviceaccount: workload.serviceAccount, registry: SERVICE, service: SERVICE, rule: 'team-a', grants },
  iss: EDGE,
  sub: 'system:serviceaccount:team-a:builder',
  aud: CREDENTIAL_AUDIENCE,
  iat: NOW,
  nbf: NOW,
  exp: NOW + 3600,
  jti: 'credential-1',
  ...over,
});

const header = (over: Record<string, unknown> = {}) => ({ alg: 'ES256', kid: ring.active.kid, typ: CREDENTIAL_TYP, ...over });

/** `header.payload.signature` over exactly the text given, signed by `key` (the ring's by default). */
async function signed(headerText: string, payloadText: string, key = ring.active.privateKey): Promise<string> {
  const input = `${b64(headerText)}.${b64(payloadText)}`;
  const sig = await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, key, enc.encode(input));
  return `${input}.${base64url(new Uint8Array(sig))}`;
}
const token = (h: Record<string, unknown> = {}, c: Record<string, unknown> = {}) => signed(JSON.stringify(header(h)), JSON.stringify(claims(c)));

const verify = (password: string, now = NOW, service = SERVICE) => verifyCredential(ring, password, { edgeIssuer: EDGE, service, now });

async function refusal(password: string, now = NOW, service = SERVICE): Promise<string> {
  try {
    await verify(password, now, service);
  } catch (err) {
    return (err as { code: string }).code;
  }
  return 'accepted';
}

describe('verifyCredential accepts', () => {
  it('what mintCredential minted, with every field back', async () => {
    const minted = await mintCredential(ring, { edgeIssuer: EDGE, workload, registry: SERVICE, service: SERVICE, rule: 'team-a', grants, ttl: 3600, now: NOW });
    expect(await verify(minted.password)).toEqual({
      cluster: workload.cluster,
      namespace: 'team-a',
      serviceAccount: workload.serviceAccount,
      registry: SERVICE,
      service: SERVICE,
      rule: 'team-a',
      grants,
      jti: minted.id,
      issuedAt: NOW,
      expiresAt: NOW + 3600,
    });
    // and jose agrees it is a valid JWT with that header
    expect(decodeProtectedHeader(minted.password)).toEqual(header());
    await expect(jwtVerify(minted.password, ring.active.publicKey, { currentDate: new Date(NOW * 1000), typ: CREDENTIAL_TYP })).resolves.toBeDefined();
  });

  it("a credential jose's SignJWT signed (header keys in another order)", async () => {
    const { ecp, ...registered } = claims();
    const password = await new SignJWT({ ecp, ...registered })
      .setProtectedHeader({ typ: CREDENTIAL_TYP, kid: ring.active.kid, alg: 'ES256' })
      .sign(ring.active.privateKey);
    expect((await verify(password)).jti).toBe('credential-1');
  });

  it('a credential signed by a retiring key still in the ring', async () => {
    const secret = JSON.parse(env.EDGE_SIGNING_KEYS!) as { active: string; keys: { kid: string }[] };
    const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
    const kid = await libtrustKeyId((await crypto.subtle.exportKey('spki', publicKey)) as ArrayBuffer);
    const { kty, crv, x, y, d } = await exportJWK(privateKey);
    const rotated = await loadKeyRing(JSON.stringify({ ...secret, active: kid, keys: [{ kid, privateJwk: { kty, crv, x, y, d } }, ...secret.keys] }));
    const old = await mintCredential(ring, { edgeIssuer: EDGE, workload, registry: SERVICE, service: SERVICE, rule: 'team-a', grants, ttl: 3600, now: NOW });
    expect(rotated.active.kid).not.toBe(ring.active.kid);
    expect((await verifyCredential(rotated, old.password, { edgeIssuer: EDGE, service: SERVICE, now: NOW })).jti).toBe(old.id);
    await loadKeyRing(env.EDGE_SIGNING_KEYS); // the edge's own ring back in the isolate cache
  });

  it.each([
    ['one second before exp', {}, NOW + 3599],
    ['at nbf', {}, NOW],
    ['nbf ahead within the allowance (minted where the clock is ahead)', { nbf: NOW + CREDENTIAL_NBF_SKEW }, NOW],
    ['without nbf', { nbf: undefined }, NOW],
    ['iat in the future (iat is not a validity bound)', { iat: NOW + 600 }, NOW],
  ])('%s', async (_t, over, now) => {
    expect(await refusal(await token({}, over), now)).toBe('accepted');
  });
});

describe('verifyCredential refuses', () => {
  const cases: [string, () => Promise<string>, string, number?][] = [
    ['not a JWS', async () => 'hunter2', 'ERR_CREDENTIAL_INVALID'],
    ['two segments', async () => (await token()).split('.').slice(0, 2).join('.'), 'ERR_CREDENTIAL_INVALID'],
    ['four segments', async () => `${await token()}.x`, 'ERR_CREDENTIAL_INVALID'],
    ['an empty signature', async () => `${(await token()).split('.').slice(0, 2).join('.')}.`, 'ERR_CREDENTIAL_INVALID'],
    ['base64 padding', async () => `${await token()}==`, 'ERR_CREDENTIAL_INVALID'],
    [
      'standard base64 characters',
      async () =>
        (await token())
          .replace(/-/g, '+')
          .replace(/_/g, '/')
          .replace(/^([^.]*)/, '$1+'),
      'ERR_CREDENTIAL_INVALID',
    ],
    ['whitespace inside', async () => (await token()).replace('.', ' .'), 'ERR_CREDENTIAL_INVALID'],
    [
      'a flipped signature bit',
      async () => {
        const t = await token();
        const last = t.at(-2) === 'A' ? 'B' : 'A';
        return `${t.slice(0, -2)}${last}${t.at(-1)}`;
      },
      'ERR_CREDENTIAL_INVALID',
    ],
    [
      'a signature one byte short',
      async () => {
        const [h, p] = (await token()).split('.');
        return `${h}.${p}.${base64url(new Uint8Array(63))}`;
      },
      'ERR_CREDENTIAL_INVALID',
    ],
    [
      'a DER-encoded signature (WebCrypto wants r||s)',
      async () => {
        const [h, p] = (await token()).split('.');
        return `${h}.${p}.${base64url(new Uint8Array(72).fill(1))}`;
      },
      'ERR_CREDENTIAL_INVALID',
    ],
    ['alg none, unsigned', async () => `${b64(JSON.stringify(header({ alg: 'none' })))}.${b64(JSON.stringify(claims()))}.`, 'ERR_CREDENTIAL_INVALID'],
    ['alg none, with a signature', () => token({ alg: 'none' }), 'ERR_CREDENTIAL_INVALID'],
    ['alg RS256', () => token({ alg: 'RS256' }), 'ERR_CREDENTIAL_INVALID'],
    ['alg HS256', () => token({ alg: 'HS256' }), 'ERR_CREDENTIAL_INVALID'],
    ['a crit header', () => token({ crit: ['exp'] }), 'ERR_CREDENTIAL_INVALID'],
    ['an extra header field (jku)', () => token({ jku: 'https://attacker.test/jwks' }), 'ERR_CREDENTIAL_INVALID'],
    ['no kid', () => token({ kid: undefined }), 'ERR_CREDENTIAL_INVALID'],
    ['a kid that is not in the ring', () => token({ kid: 'AAAA' }), 'ERR_CREDENTIAL_INVALID'],
    ['a numeric kid', () => token({ kid: 7 }), 'ERR_CREDENTIAL_INVALID'],
    ['typ JWT (a registry token)', () => token({ typ: 'JWT' }), 'ERR_CREDENTIAL_INVALID'],
    ['no typ', () => token({ typ: undefined }), 'ERR_CREDENTIAL_INVALID'],
    ['a header that is not JSON', () => signed('{"alg":"ES256",', JSON.stringify(claims())), 'ERR_CREDENTIAL_INVALID'],
    ['a header that is an array', () => signed('["ES256"]', JSON.stringify(claims())), 'ERR_CREDENTIAL_INVALID'],
    ['a header that is null', () => signed('null', JSON.stringify(claims())), 'ERR_CREDENTIAL_INVALID'],
    ['a payload that is not JSON', () => signed(JSON.stringify(header()), '{"iss":'), 'ERR_CREDENTIAL_INVALID'],
    ['a payload that is an array', () => signed(JSON.stringify(header()), '[]'), 'ERR_CREDENTIAL_INVALID'],
    ['a payload that is null', () => signed(JSON.stringify(header()), 'null'), 'ERR_CREDENTIAL_INVALID'],
    [
      'a payload that is not UTF-8',
      async () => {
        const h = b64(JSON.stringify(header()));
        const p = base64url(new Uint8Array([0x7b, 0xff, 0x7d]));
        const sig = await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, ring.active.privateKey, enc.encode(`${h}.${p}`));
        return `${h}.${p}.${base64url(new Uint8Array(sig))}`;
      },
      'ERR_CREDENTIAL_INVALID',
    ],
    ['claims of the wrong shape (no ecp)', () => token({}, { ecp: undefined }), 'ERR_CREDENTIAL_INVALID'],
    ['claims of the wrong shape (no grants)', () => token({}, { ecp: { ...claims().ecp, grants: [] } }), 'ERR_CREDENTIAL_INVALID'],
    ['exp as a string', () => token({}, { exp: String(NOW + 3600) }), 'ERR_CREDENTIAL_INVALID'],
    ['another issuer', () => token({}, { iss: 'https://other-edge.test' }), 'ERR_CREDENTIAL_INVALID'],
    ['the registry as audience (a bearer token shape)', () => token({}, { aud: SERVICE }), 'ERR_CREDENTIAL_INVALID'],
    ['an audience list', () => token({}, { aud: [CREDENTIAL_AUDIENCE] }), 'ERR_CREDENTIAL_INVALID'],
    ['exp now', () => token({}, { exp: NOW }), 'ERR_CREDENTIAL_EXPIRED'],
    ['exp a second ago', () => token({}, { exp: NOW - 1 }), 'ERR_CREDENTIAL_EXPIRED'],
    ['nbf past the allowance (CREDENTIAL_NBF_SKEW)', () => token({}, { nbf: NOW + CREDENTIAL_NBF_SKEW + 1 }), 'ERR_CREDENTIAL_INVALID'],
    ['nbf as a string', () => token({}, { nbf: String(NOW) }), 'ERR_CREDENTIAL_INVALID'],
    ['no iss', () => token({}, { iss: undefined }), 'ERR_CREDENTIAL_INVALID'],
    ['no aud', () => token({}, { aud: undefined }), 'ERR_CREDENTIAL_INVALID'],
    ['no exp', () => token({}, { exp: undefined }), 'ERR_CREDENTIAL_INVALID'],
    ['no jti', () => token({}, { jti: undefined }), 'ERR_CREDENTIAL_INVALID'],
    [
      'a header with a __proto__ member',
      () => signed(`{"alg":"ES256","kid":"${ring.active.kid}","typ":"${CREDENTIAL_TYP}","__proto__":{}}`, JSON.stringify(claims())),
      'ERR_CREDENTIAL_INVALID',
    ],
    ['typ in its media-type spelling (never minted)', () => token({ typ: `application/${CREDENTIAL_TYP}` }), 'ERR_CREDENTIAL_INVALID'],
    ['a segment of impossible length (4n+1)', async () => `${(await token()).split('.').slice(0, 2).join('.')}.AAAAA`, 'ERR_CREDENTIAL_INVALID'],
    ['a signature of zeros', async () => `${(await token()).split('.').slice(0, 2).join('.')}.${base64url(new Uint8Array(64))}`, 'ERR_CREDENTIAL_INVALID'],
    [
      'a registry token the edge signed (typ JWT, x5c)',
      async () => (await signRegistryToken(ring, { issuer: EDGE, service: SERVICE, subject: 's', access: [], now: NOW, notAfter: NOW + 600 })).token,
      'ERR_CREDENTIAL_INVALID',
    ],
    ['another service', () => token({}, { ecp: { ...claims().ecp, service: 'other.registry.test' } }), 'ERR_CREDENTIAL_INVALID'],
    [
      'a key that is not ours, with our kid',
      async () => {
        const { privateKey } = await generateKeyPair('ES256');
        return signed(JSON.stringify(header()), JSON.stringify(claims()), privateKey);
      },
      'ERR_CREDENTIAL_INVALID',
    ],
    [
      'an expired credential signed by a key that is not ours (the signature decides first)',
      async () => {
        const { privateKey } = await generateKeyPair('ES256');
        return signed(JSON.stringify(header()), JSON.stringify(claims({ exp: NOW - 10 })), privateKey);
      },
      'ERR_CREDENTIAL_INVALID',
    ],
  ];

  it.each(cases)('%s', async (_t, make, code) => {
    const password = await make();
    expect(await refusal(password)).toBe(code);
  });

  it('refuses, and does not throw otherwise, when the key picked is not a P-256 key', async () => {
    const rsa = await crypto.subtle.generateKey(
      { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
      true,
      ['sign', 'verify'],
    );
    const err = await verifyOwnEs256(await token(), () => (rsa as CryptoKeyPair).publicKey).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JwsRefused);
    expect((err as JwsRefused).reason).toBe('signature');
  });

  it('with a message that never holds the password', async () => {
    const password = await token({}, { iss: 'https://other-edge.test' });
    const err = await verify(password).catch((e: Error & { detail?: string }) => e);
    expect(`${(err as Error).message} ${(err as { detail?: string }).detail}`).not.toContain(password.split('.')[2]);
  });
});
