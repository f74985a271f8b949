/**
 * The bench Worker: runs in workerd under `wrangler dev` (bench/floor.wrangler.toml), the
 * same runtime as the edge. It measures, inside the isolate, what an exchange must cost
 * (the floor: one service-account token verification plus one ES256 signature) and what
 * each step of the edge's own code costs, by running one operation N times in a loop.
 *
 *   POST /setup          fixtures from the Node side (tokens, issuer JWKS, trust record)
 *   GET  /run?op=&n=     runs `op` n times; answers { op, n, ms } (performance.now inside)
 *   GET  /pair?a=&b=&blocks=&size=   runs two ops in alternating blocks; answers { n, aMs, bMs }
 *   GET  /ops            the operation names
 *   GET|POST /noop       HTTP floor: reads the body, answers a response of the edge's size
 *   POST /exchange?alg=  minimal exchange endpoint: parse, verify, sign, answer; nothing else
 *   GET  /.well-known/*  the edge app's own (discovery document, JWKS), with the bench's
 *                        EDGE_ISSUER (this Worker's URL): a vendor fake verifies the workload
 *                        tokens of app/credentials/upstream-cached there, as it would the edge's
 *
 * Timing: performance.now() in workerd is coarse (1 ms) and, in production, only advances
 * across I/O. Loops here run for hundreds of ms, and the Node side checks every figure
 * against the wall time it sees from outside and against the workerd process's CPU time.
 */
import { Hono } from 'hono';
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, importJWK, jwtVerify, SignJWT, type JWK, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { minimalExchange, minimalToken, signCredential, type MinimalKeys } from './minimal';
import { app } from '../src/app';
import type { Env } from '../src/env';
import { decide } from '../src/decide';
import { readToken, verifyServiceAccountToken } from '../src/identity/verify';
import { tokenFingerprint } from '../src/log';
import { compileRecord, evaluate, ruleGrants, type CompiledRecord } from '../src/policy/evaluate';
import type { Grant } from '../src/policy/grant';
import { ruleService, TrustRecordSchema, type TrustRecord } from '../src/policy/schema';
import { mintCredential, verifyCredential, type VerifiedCredential } from '../src/registry/credential';
import { formatScopes, intersect, parseScopes } from '../src/registry/scope';
import { signRegistryToken } from '../src/registry/registry-token';
import { parseImageRef } from '../src/registry/image-ref';
import { parseCredentialProviderRequest } from '../src/kubelet';
import { readBody, readJsonBody } from '../src/routes/body';
import { loadKeyRing, type KeyRing } from '../src/signing/keys';
import { loadTrust } from '../src/store/trust';
import { keys as kvKeys } from '../src/store/kv';

interface Setup {
  tokens: { RS256: string; ES256: string };
  jwks: { keys: JWK[] };
  record: unknown;
  image: string;
  /** This Worker's own URL: vendors fetch `<edgeIssuer>/.well-known/openid-configuration`. */
  edgeIssuer: string;
  /**
   * A second issuer whose record (same shape as `record`) sends team-a to a loopback Cloudsmith:
   * an RS256 token of it and an image of the vendor's registry. Optional: without it,
   * app/credentials/upstream-cached is not offered.
   */
  upstream?: { token: string; record: unknown; image: string };
}

interface State {
  setup: Setup;
  record: TrustRecord;
  compiled: CompiledRecord;
  getKey: JWTVerifyGetKey;
  rsaKey: CryptoKey;
  ecKey: CryptoKey;
  ring: KeyRing;
  env: Env;
  body: string;
  bodies: { RS256: string; ES256: string };
  credential: string;
  credentialClaims: JWTPayload;
  /** The same keys and claims, for the minimal Worker's handlers (bench/minimal.ts). */
  minimal: MinimalKeys;
  form: string;
  /** GET /token: 64 scopes of 255-character names, with a credential granting HOSTILE_PATTERN. */
  hostile: { url: string; authorization: string };
  raw: Record<string, { data: Uint8Array; sig: Uint8Array }>;
  signInput: Uint8Array;
  tokenApp: boolean;
  /** POST /v1/credentials body for the federated record, if set up. */
  upstreamBody?: string;
  /** Why app/credentials/upstream-cached could not run, if it could not (the Node side reports it). */
  upstreamError?: string;
  /** The credential as /token holds it once verified. */
  held: VerifiedCredential;
}

let state: State | undefined;
/** The edge app's bindings, set as soon as /setup starts: its /.well-known/* answers during setup too. */
let appEnv: Env | undefined;
/** Answered by app/credentials/upstream-cached, whose credential comes from the vendor and is cached in the isolate. */
const UPSTREAM_OP = 'app/credentials/upstream-cached';
const enc = new TextEncoder();
/** The registry token request of the app/token ops: the `service` and the one `scope`. */
const TOKEN_SERVICE = 'registry.bench:5000';
const TOKEN_SCOPE = 'repository:team-a/app:pull';
const RSA = { name: 'RSASSA-PKCS1-v1_5' };
const ECDSA = { name: 'ECDSA', hash: 'SHA-256' };

function b64uDecode(s: string): Uint8Array {
  const bin = atob(s.replace(/-/g, '+').replace(/_/g, '/'));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

/** The signing input and signature of a compact JWS, for raw WebCrypto verification. */
function splitJws(token: string) {
  const dot = token.lastIndexOf('.');
  return { data: enc.encode(token.slice(0, dot)), sig: b64uDecode(token.slice(dot + 1)) };
}

/** KV in memory: the steps below measure the edge's code, not the local KV simulator. */
function memoryKv(): KVNamespace {
  const map = new Map<string, string>();
  return {
    get: async (key: string) => map.get(key) ?? null,
    put: async (key: string, value: string) => void map.set(key, value),
    delete: async (key: string) => void map.delete(key),
    list: async () => ({ keys: [], list_complete: true, cacheStatus: null }),
  } as unknown as KVNamespace;
}

const ctx = { waitUntil: (_p: Promise<unknown>) => {}, passThroughOnException: () => {}, props: {} } as unknown as ExecutionContext;

async function jose_verify(s: State, alg: 'RS256' | 'ES256', now: number, key: CryptoKey | JWTVerifyGetKey = alg === 'RS256' ? s.rsaKey : s.ecKey) {
  return jwtVerify(s.setup.tokens[alg], key as CryptoKey, {
    algorithms: [alg],
    issuer: s.record.issuer,
    audience: s.record.audiences,
    currentDate: new Date(now * 1000),
    clockTolerance: 60,
    requiredClaims: ['exp', 'iat', 'sub'],
  });
}

const nowS = () => Math.floor(Date.now() / 1000);

/** The edge's decision alone (KV in memory, keys inline): what routes/credentials.ts awaits before minting. */
async function decideOnce(s: State, alg: 'RS256' | 'ES256') {
  const d = await decide(
    { token: s.setup.tokens[alg], image: s.setup.image, annotations: {} },
    { kv: s.env.TRUST, fetch, waitUntil: () => {}, jwksCooldownMs: 30_000, now: nowS() },
  );
  if (!d.granted) throw new Error(`decide denied: ${d.code}`);
  return d;
}

/**
 * The worst /token a client can send a rule with three `**`: the most scopes (64), each a
 * repository name of the most characters (255) and slashes (126) that does not end in
 * `/app`, so every `**` could start at every slash and none of them matches.
 */
const HOSTILE_PATTERN = '**/**/**/app';
const HOSTILE_SCOPES = Array.from({ length: 64 }, (_, i) => `repository:${'a/'.repeat(126)}x${i.toString(36).padStart(2, '0')}:pull`);

/** As it arrives over HTTP: with a Content-Length (the plugin's fetch sends one). */
function credentialsRequest(s: State, alg: 'RS256' | 'ES256') {
  const body = s.bodies[alg];
  return new Request('http://edge.bench/v1/credentials', {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'content-length': String(body.length) },
    body,
  });
}

/** The same for the federated record: another issuer's RS256 token, an image of the vendor's registry. */
function upstreamRequest(s: State) {
  const body = s.upstreamBody;
  if (body === undefined) throw new Error('no upstream in /setup');
  return new Request('http://edge.bench/v1/credentials', {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'content-length': String(body.length) },
    body,
  });
}

/** GET /token as a registry client sends it: Basic auth, one scope. */
function tokenGetRequest(s: State) {
  return new Request('http://edge.bench/token?service=registry.bench%3A5000&scope=repository%3Ateam-a%2Fapp%3Apull', {
    headers: { authorization: `Basic ${btoa(`team-a/builder:${s.credential}`)}` },
  });
}

/** POST /token as containerd sends it: a password-grant form. */
function tokenPostRequest(s: State) {
  return new Request('http://edge.bench/token', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(s.form.length) },
    body: s.form,
  });
}

async function appCall(s: State, req: Request, expect = 200): Promise<void> {
  const res = await app.fetch(req, s.env, ctx);
  const text = await res.text();
  if (res.status !== expect) throw new Error(`app answered ${res.status}: ${text.slice(0, 200)}`);
}

type Op = (s: State, i: number) => unknown;

/** Every measurable operation; one call = one iteration. */
const OPS: Record<string, Op> = {
  // The floor: what an exchange cannot do without.
  'floor/webcrypto/RS256': async (s) => {
    const v = s.raw.RS256!;
    if (!(await crypto.subtle.verify(RSA, s.rsaKey, v.sig, v.data))) throw new Error('verify');
    await crypto.subtle.sign(ECDSA, s.ring.active.privateKey, s.signInput);
  },
  'floor/webcrypto/ES256': async (s) => {
    const v = s.raw.ES256!;
    if (!(await crypto.subtle.verify(ECDSA, s.ecKey, v.sig, v.data))) throw new Error('verify');
    await crypto.subtle.sign(ECDSA, s.ring.active.privateKey, s.signInput);
  },
  'floor/jose/RS256': async (s) => {
    const now = nowS();
    await jose_verify(s, 'RS256', now);
    await signCredential(s.minimal, now);
  },
  'floor/jose/ES256': async (s) => {
    const now = nowS();
    await jose_verify(s, 'ES256', now);
    await signCredential(s.minimal, now);
  },
  // The token endpoint's floor: verify one edge credential (ES256), sign one registry token.
  'floor/webcrypto/token': async (s) => {
    const v = s.raw.credential!;
    if (!(await crypto.subtle.verify(ECDSA, s.ring.active.publicKey, v.sig, v.data))) throw new Error('verify');
    await crypto.subtle.sign(ECDSA, s.ring.active.privateKey, s.signInput);
  },
  'floor/jose/token': async (s) => {
    const now = nowS();
    await jwtVerify(s.credential, s.ring.active.publicKey, {
      algorithms: ['ES256'],
      issuer: s.setup.edgeIssuer,
      audience: s.credentialClaims.aud as string,
      currentDate: new Date(now * 1000),
    });
    await new SignJWT({ access: [{ type: 'repository', name: 'team-a/app', actions: ['pull'] }] })
      .setProtectedHeader({ alg: 'ES256', typ: 'JWT', kid: s.ring.active.kid })
      .setIssuer(s.setup.edgeIssuer)
      .setSubject('system:serviceaccount:team-a:builder')
      .setAudience('registry.bench:5000')
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(now + 300)
      .setJti(crypto.randomUUID())
      .sign(s.ring.active.privateKey);
  },

  // Crypto alone.
  'crypto/verify/RS256': (s) => crypto.subtle.verify(RSA, s.rsaKey, s.raw.RS256!.sig, s.raw.RS256!.data),
  'crypto/verify/ES256': (s) => crypto.subtle.verify(ECDSA, s.ecKey, s.raw.ES256!.sig, s.raw.ES256!.data),
  'crypto/sign/ES256': (s) => crypto.subtle.sign(ECDSA, s.ring.active.privateKey, s.signInput),
  'crypto/sha256/token': (s) => crypto.subtle.digest('SHA-256', enc.encode(s.setup.tokens.RS256)),
  'crypto/randomUUID': () => crypto.randomUUID(),

  // The edge's steps, one by one, in the order POST /v1/credentials runs them.
  'step/new-request': (s) => credentialsRequest(s, 'RS256'),
  'step/read-body': (s) => readJsonBody(credentialsRequest(s, 'RS256')),
  'step/req-json': (s) => credentialsRequest(s, 'RS256').json(),
  'step/req-text': async (s) => JSON.parse(await credentialsRequest(s, 'RS256').text()),
  // The token endpoint's form: the runtime's text() of a form content type costs ~3x its bytes.
  'step/form-text': (s) => tokenPostRequest(s).text(),
  'step/form-read-body': (s) => readBody(tokenPostRequest(s), 16 * 1024),
  'step/json-parse': (s) => JSON.parse(s.body),
  'step/parse-request': (s) => parseCredentialProviderRequest(JSON.parse(s.body)),
  'step/fingerprint': (s) => tokenFingerprint(s.setup.tokens.RS256),
  'step/parse-image': (s) => parseImageRef(s.setup.image),
  'step/peek-issuer': (s) => readToken(s.setup.tokens.RS256).issuer,
  'step/record-cached': (s) => loadTrust(s.env.TRUST, s.record.issuer, nowS()),
  'step/record-parse': (s) => TrustRecordSchema.parse(s.setup.record),
  'step/record-compile': (s) => compileRecord(s.record),
  'step/jwks-local-new': (s) => createLocalJWKSet(s.setup.jwks),
  'step/importJWK/RSA': (s) => importJWK(s.setup.jwks.keys[0]!, 'RS256'),
  'step/importJWK/EC': (s) => importJWK(s.setup.jwks.keys[1]!, 'ES256'),
  'step/verify-sa/RS256': (s) => verifyServiceAccountToken(s.setup.tokens.RS256, s.record, s.getKey, nowS()),
  'step/verify-sa/ES256': (s) => verifyServiceAccountToken(s.setup.tokens.ES256, s.record, s.getKey, nowS()),
  'step/jose-verify/RS256': (s) => jose_verify(s, 'RS256', nowS()),
  'step/jose-verify-jwks/RS256': (s) => jose_verify(s, 'RS256', nowS(), s.getKey),
  'step/evaluate': (s) => evaluate(s.compiled, { namespace: 'team-a', serviceAccount: { name: 'builder', uid: 'u' } }, {}, parseImageRef(s.setup.image)),
  'step/decide/RS256': (s) => decideOnce(s, 'RS256'),
  'step/decide/ES256': (s) => decideOnce(s, 'ES256'),
  'step/key-ring-cached': (s) => loadKeyRing(s.env.EDGE_SIGNING_KEYS),
  'step/mint': (s) =>
    mintCredential(s.ring, {
      edgeIssuer: s.setup.edgeIssuer,
      workload: {
        cluster: s.record.issuer,
        record: s.record.name,
        namespace: 'team-a',
        serviceAccount: { name: 'builder', uid: 'u' },
        pod: { name: 'p', uid: 'u' },
        expiresAt: 0,
      },
      registry: 'registry.bench:5000',
      service: 'registry.bench:5000',
      rule: 'team-a-pull',
      grants: [{ repositories: ['team-a/*'], actions: ['pull'] }],
      ttl: 3600,
      now: nowS(),
    }),
  'step/jose-sign': (s) => signCredential(s.minimal, nowS()),
  // The exchange's core, without Request, body or Response: the edge's (decide, then mint from
  // its decision) beside the minimal Worker's (jose verify, jose sign).
  'step/core/edge/RS256': async (s) => {
    const d = await decideOnce(s, 'RS256');
    const now = nowS();
    return mintCredential(s.ring, {
      edgeIssuer: s.setup.edgeIssuer,
      workload: d.workload,
      registry: d.image.registry,
      service: d.service,
      rule: d.rule.name,
      grants: d.grants,
      ttl: d.ttl,
      now,
    });
  },
  'step/core/minimal/RS256': async (s) => {
    const now = nowS();
    await jose_verify(s, 'RS256', now);
    return signCredential(s.minimal, now);
  },
  'step/response-json': (s) =>
    Response.json({
      apiVersion: 'credentialprovider.kubelet.k8s.io/v1',
      kind: 'CredentialProviderResponse',
      cacheKeyType: 'Image',
      cacheDuration: '55m0s',
      auth: { 'registry.bench:5000': { username: 'team-a/builder', password: s.credential } },
    }).text(),
  // The token endpoint's steps.
  'step/verify-credential': (s) => verifyCredential(s.ring, s.credential, { edgeIssuer: s.setup.edgeIssuer, service: TOKEN_SERVICE, now: nowS() }),
  'step/jose-verify-credential': (s) =>
    jwtVerify(s.credential, s.ring.active.publicKey, {
      algorithms: ['ES256'],
      issuer: s.setup.edgeIssuer,
      audience: s.credentialClaims.aud as string,
      currentDate: new Date(nowS() * 1000),
    }),
  'step/token-scopes': (s) => formatScopes(intersect(intersect(parseScopes([TOKEN_SCOPE]), s.held.grants), s.held.grants)),
  'step/sign-registry-token': (s) =>
    signRegistryToken(s.ring, {
      issuer: s.setup.edgeIssuer,
      service: TOKEN_SERVICE,
      subject: 'bench:team-a:builder',
      access: [{ type: 'repository', name: 'team-a/app', actions: ['pull'] }],
      now: nowS(),
      notAfter: nowS() + 3000,
    }),
  'step/raw-noop': async () => {
    const req = new Request('http://edge.bench/v1/credentials', { method: 'POST', body: '{}' });
    const res = req.method === 'POST' && new URL(req.url).pathname === '/v1/credentials' ? Response.json({ ok: true }) : new Response(null, { status: 404 });
    await res.text();
  },
  'step/hono-noop': async () => {
    const res = await noopApp.fetch(new Request('http://edge.bench/v1/credentials', { method: 'POST', body: '{}' }));
    await res.text();
  },

  // The whole Hono app in the isolate, no HTTP: Request in, Response text out. And the
  // minimal Worker's handlers (bench/minimal.ts) on the same Requests: what any Worker pays
  // for Request, body, crypto and Response. The CPU targets are ratios of the two.
  'app/minimal/RS256': async (s) => (await minimalExchange(s.minimal, credentialsRequest(s, 'RS256'))).text(),
  'app/minimal/ES256': async (s) => (await minimalExchange(s.minimal, credentialsRequest(s, 'ES256'))).text(),
  'app/minimal/token/GET': async (s) => (await minimalToken(s.minimal, tokenGetRequest(s))).text(),
  'app/minimal/token/POST': async (s) => (await minimalToken(s.minimal, tokenPostRequest(s))).text(),
  'app/credentials/RS256': (s) => appCall(s, credentialsRequest(s, 'RS256')),
  'app/credentials/ES256': (s) => appCall(s, credentialsRequest(s, 'ES256')),
  // Beside app/credentials/RS256: the rule federates with Cloudsmith, and the vendor's credential
  // is already in the isolate's cache (src/upstream/cache.ts), filled by the untimed call in setup.
  // The Node side counts the vendor's calls: one for the whole section, or the row is invalid.
  [UPSTREAM_OP]: (s) => appCall(s, upstreamRequest(s)),
  'app/token/GET': (s) => appCall(s, tokenGetRequest(s)),
  // Side by side with app/token/GET: the ratio says what a hostile request costs over a plain one.
  'app/token/GET/64-hostile-scopes': (s) => appCall(s, new Request(s.hostile.url, { headers: { authorization: s.hostile.authorization } })),
  'app/token/POST': (s) => appCall(s, tokenPostRequest(s)),
};

const noopApp = new Hono().post('/v1/credentials', (c) => c.json({ ok: true }));

async function setup(env: Env, setupBody: Setup): Promise<State> {
  const record = TrustRecordSchema.parse(setupBody.record);
  const kv = memoryKv();
  await kv.put(kvKeys.trustByIssuer(record.issuer), JSON.stringify(record));
  const upstreamRecord = setupBody.upstream && TrustRecordSchema.parse(setupBody.upstream.record);
  if (upstreamRecord) await kv.put(kvKeys.trustByIssuer(upstreamRecord.issuer), JSON.stringify(upstreamRecord));
  // ALLOW_ENDPOINT_OVERRIDES: the federated op's Cloudsmith is a loopback fake (lib/fixtures.mjs), not api.cloudsmith.io.
  const benchEnv: Env = {
    TRUST: kv,
    EDGE_ISSUER: setupBody.edgeIssuer,
    EDGE_SIGNING_KEYS: env.EDGE_SIGNING_KEYS,
    AUDIT_LOG: 'off',
    ALLOW_ENDPOINT_OVERRIDES: 'on',
  };
  appEnv = benchEnv;

  const ring = await loadKeyRing(env.EDGE_SIGNING_KEYS);
  const rsaKey = (await importJWK(setupBody.jwks.keys.find((k) => k.kty === 'RSA')!, 'RS256')) as CryptoKey;
  const ecKey = (await importJWK(setupBody.jwks.keys.find((k) => k.kty === 'EC')!, 'ES256')) as CryptoKey;
  // A credential exactly as the edge mints one today, for the token endpoint and the sizes.
  const record0 = TrustRecordSchema.parse(setupBody.record);
  const rule = record0.rules[record0.rules.length - 1]!;
  const workload = {
    cluster: record0.issuer,
    record: record0.name,
    namespace: 'team-a',
    expiresAt: 0,
    serviceAccount: { name: 'builder', uid: '0b4a7c1e-7e0e-4f5e-9d8c-1a2b3c4d5e6f' },
    pod: { name: 'builder-7f9c-00000', uid: '5c3e2d1f-0a9b-4c8d-8e7f-6a5b4c3d2e1f' },
  };
  // The rule's credential, as the exchange mints it; and one granting the hostile pattern.
  const mint = (grants: Grant[]) =>
    mintCredential(ring, {
      edgeIssuer: setupBody.edgeIssuer,
      workload,
      registry: rule.registry,
      service: ruleService(rule),
      rule: rule.name,
      grants,
      ttl: 3600,
      now: nowS(),
    });
  const credential = (await mint(ruleGrants(rule))).password;
  const hostileCredential = await mint([{ repositories: [HOSTILE_PATTERN], actions: ['pull'] }]);
  const hostileQuery = new URLSearchParams([['service', ruleService(rule)], ...HOSTILE_SCOPES.map((scope) => ['scope', scope])]);
  const body = (alg: 'RS256' | 'ES256') =>
    JSON.stringify({
      apiVersion: 'credentialprovider.kubelet.k8s.io/v1',
      kind: 'CredentialProviderRequest',
      image: setupBody.image,
      serviceAccountToken: setupBody.tokens[alg],
      serviceAccountAnnotations: {},
    });
  // A credential signing input of the real size: header.payload of a minted credential.
  const signInput = enc.encode(credential.slice(0, credential.lastIndexOf('.')));
  const s: State = {
    setup: setupBody,
    record,
    compiled: compileRecord(record),
    getKey: createLocalJWKSet(setupBody.jwks),
    rsaKey,
    ecKey,
    ring,
    env: benchEnv,
    body: body('RS256'),
    bodies: { RS256: body('RS256'), ES256: body('ES256') },
    credential,
    signInput,
    credentialClaims: decodeJwt(credential),
    held: await verifyCredential(ring, credential, { edgeIssuer: setupBody.edgeIssuer, service: TOKEN_SERVICE, now: nowS() }),
    minimal: {
      rsaKey,
      ecKey,
      issuer: record.issuer,
      audiences: record.audiences,
      edgeIssuer: setupBody.edgeIssuer,
      signing: { kid: ring.active.kid, privateKey: ring.active.privateKey, publicKey: ring.active.publicKey },
      credentialClaims: decodeJwt(credential),
      credentialTyp: decodeProtectedHeader(credential).typ ?? 'JWT',
    },
    form: new URLSearchParams({
      grant_type: 'password',
      username: 'team-a/builder',
      password: credential,
      service: TOKEN_SERVICE,
      scope: TOKEN_SCOPE,
      client_id: 'containerd',
    }).toString(),
    hostile: { url: `http://edge.bench/token?${hostileQuery}`, authorization: `Basic ${btoa(`team-a/builder:${hostileCredential.password}`)}` },
    raw: { RS256: splitJws(setupBody.tokens.RS256), ES256: splitJws(setupBody.tokens.ES256), credential: splitJws(credential) },
    tokenApp: false,
    ...(setupBody.upstream
      ? {
          upstreamBody: JSON.stringify({
            apiVersion: 'credentialprovider.kubelet.k8s.io/v1',
            kind: 'CredentialProviderRequest',
            image: setupBody.upstream.image,
            serviceAccountToken: setupBody.upstream.token,
            serviceAccountAnnotations: {},
          }),
        }
      : {}),
  };
  // The token endpoint may not exist yet: find out once, so /ops can say so.
  const probe = await app.fetch(new Request('http://edge.bench/token?service=x'), benchEnv, ctx);
  s.tokenApp = probe.status !== 404;
  // Every op must work before anything is timed.
  // For the upstream op, this first call is the one that asks the vendor and fills the cache.
  for (const [name, op] of Object.entries(OPS)) {
    if (name.startsWith('app/token/') && !s.tokenApp) continue;
    if (name === UPSTREAM_OP && s.upstreamBody === undefined) continue;
    try {
      await op(s, 0);
    } catch (err) {
      // A vendor problem takes this one row out, not the whole bench Worker.
      if (name === UPSTREAM_OP) s.upstreamError = (err as Error).message;
      else throw new Error(`op ${name} fails: ${(err as Error).message}`);
    }
  }
  return s;
}

const offered = (s: State, op: string) =>
  (s.tokenApp || !op.startsWith('app/token/')) && (op !== UPSTREAM_OP || (s.upstreamBody !== undefined && s.upstreamError === undefined));

export default {
  async fetch(req: Request, env: Env): Promise<Response> {
    const url = new URL(req.url);
    if (url.pathname === '/healthz') return Response.json({ ok: true });
    if (url.pathname.startsWith('/.well-known/') && appEnv) return app.fetch(req, appEnv, ctx);
    if (url.pathname === '/setup' && req.method === 'POST') {
      try {
        state = await setup(env, (await req.json()) as Setup);
      } catch (err) {
        return Response.json({ error: (err as Error).message }, { status: 500 });
      }
      const s = state;
      return Response.json({ ok: true, tokenEndpoint: s.tokenApp, upstreamError: s.upstreamError, ops: Object.keys(OPS).filter((o) => offered(s, o)) });
    }
    if (!state) return Response.json({ error: 'POST /setup first' }, { status: 409 });
    const s = state;
    if (url.pathname === '/run') {
      const name = url.searchParams.get('op') ?? '';
      const op = OPS[name];
      if (!op) return Response.json({ error: `unknown op ${name}` }, { status: 404 });
      const n = Math.max(0, Math.min(1_000_000, Number(url.searchParams.get('n') ?? '1')));
      const t0 = performance.now();
      for (let i = 0; i < n; i++) await op(s, i);
      const ms = performance.now() - t0;
      return Response.json({ op: name, n, ms });
    }
    if (url.pathname === '/pair') {
      // Two ops in alternating blocks (a b, b a, a b, ...): whatever the machine does during
      // the run lands on both alike, block by block. Each block's wall time inside the
      // isolate goes to its op; the 1 ms clock's rounding averages out over the blocks.
      const a = OPS[url.searchParams.get('a') ?? ''];
      const b = OPS[url.searchParams.get('b') ?? ''];
      if (!a || !b) return Response.json({ error: 'unknown op' }, { status: 404 });
      const blocks = Math.max(2, Math.min(10_000, Number(url.searchParams.get('blocks') ?? '100')));
      const size = Math.max(1, Math.min(1_000, Number(url.searchParams.get('size') ?? '20')));
      const spent = { a: 0, b: 0 };
      const block = async (name: 'a' | 'b', op: Op) => {
        const t0 = performance.now();
        for (let i = 0; i < size; i++) await op(s, i);
        spent[name] += performance.now() - t0;
      };
      for (let k = 0; k < blocks; k++) {
        if (k % 2) {
          await block('b', b);
          await block('a', a);
        } else {
          await block('a', a);
          await block('b', b);
        }
      }
      return Response.json({ n: blocks * size, aMs: spent.a, bMs: spent.b });
    }
    if (url.pathname === '/noop') {
      const text = await req.text();
      return Response.json({
        apiVersion: 'credentialprovider.kubelet.k8s.io/v1',
        kind: 'CredentialProviderResponse',
        cacheKeyType: 'Image',
        cacheDuration: '55m0s',
        auth: { 'registry.bench:5000': { username: 'team-a/builder', password: s.credential } },
        n: text.length,
      });
    }
    if (url.pathname === '/exchange' && req.method === 'POST') return minimalExchange(s.minimal, req);
    return Response.json({ error: 'not found' }, { status: 404 });
  },
};
