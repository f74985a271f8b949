/**
 * The minimal Worker on its own (bench/minimal.wrangler.toml): the handlers of bench/minimal.ts
 * behind the least routing, for the cold-start rows (bench/sections/startup.mjs). Its bundle
 * size, start-up CPU and first request are what any Worker doing this job costs, measured
 * beside the edge's in the same run. Never deployed.
 *
 *   POST /v1/credentials   minimal exchange
 *   GET|POST /token        minimal token endpoint
 *
 * Keys come from one binding, MINIMAL_SETUP (JSON, see Setup), and are imported on the first
 * request, as the edge imports its key ring: that cost belongs to the first request.
 */
import { importJWK, type JWK, type JWTPayload } from 'jose';
import { minimalExchange, minimalToken, type MinimalKeys } from './minimal';

interface Setup {
  issuer: string;
  audiences: string[];
  /** The cluster issuer's public keys: one RSA (RS256), one EC P-256 (ES256). */
  jwks: { keys: JWK[] };
  /** The edge's signing key: a private EC P-256 JWK, and its kid. */
  signingJwk: JWK;
  kid: string;
  edgeIssuer: string;
  credentialClaims: JWTPayload;
  credentialTyp: string;
}

interface Env {
  MINIMAL_SETUP: string;
}

/** Settled keys only: a promise would carry one request's work into another's. */
let keys: MinimalKeys | undefined;

async function importKeys(env: Env): Promise<MinimalKeys> {
  const s = JSON.parse(env.MINIMAL_SETUP) as Setup;
  const { d: _private, ...publicJwk } = s.signingJwk;
  return {
    rsaKey: (await importJWK(s.jwks.keys.find((k) => k.kty === 'RSA')!, 'RS256')) as CryptoKey,
    ecKey: (await importJWK(s.jwks.keys.find((k) => k.kty === 'EC')!, 'ES256')) as CryptoKey,
    issuer: s.issuer,
    audiences: s.audiences,
    signing: {
      kid: s.kid,
      privateKey: (await importJWK(s.signingJwk, 'ES256')) as CryptoKey,
      publicKey: (await importJWK(publicJwk, 'ES256')) as CryptoKey,
    },
    edgeIssuer: s.edgeIssuer,
    credentialClaims: s.credentialClaims,
    credentialTyp: s.credentialTyp,
  };
}

export default {
  async fetch(req: Request, env: Env): Promise<Response> {
    const path = new URL(req.url).pathname;
    if (path === '/healthz') return new Response('ok');
    keys ??= await importKeys(env);
    if (path === '/v1/credentials' && req.method === 'POST') return minimalExchange(keys, req);
    if (path === '/token') return minimalToken(keys, req);
    return new Response('not found', { status: 404 });
  },
};
