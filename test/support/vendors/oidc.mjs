// A relying party, as a registry vendor's identity service is one: it verifies a JWT from an
// OpenID Connect provider it was configured with (the edge) the way the vendors document it.
//
//   GET <issuer>/.well-known/openid-configuration   its `issuer` must equal the configured one exactly
//   GET <jwks_uri>                                   cached; fetched again when a token names an unknown kid
//   jose jwtVerify                                   the vendor's algorithms; iss, aud; exp and sub required
//
// Everything goes over HTTP to the running edge, so the fakes check what the edge publishes,
// not what the test believes it publishes. Fetches are counted (counts.discovery, counts.jwks).
import { createLocalJWKSet, decodeProtectedHeader, errors, jwtVerify } from 'jose';

/** A refusal, with `reason` saying which check failed: the tests assert on it. */
export class RelyingPartyError extends Error {
  constructor(reason, message) {
    super(message);
    this.name = 'RelyingPartyError';
    /** 'malformed' | 'unreachable' | 'issuer' | 'alg' | 'kid' | 'signature' | 'iss' | 'aud' | 'exp' | 'nbf' | 'iat' | 'sub' | 'claims' */
    this.reason = reason;
  }
}

/** How long one discovery or JWKS fetch may take, ms. */
const FETCH_TIMEOUT_MS = 5_000;

/**
 * @param {{ algorithms: string[], clockTolerance?: number, keyTypes?: string[] }} opts
 *   algorithms: what the vendor accepts (e.g. ['RS256'] for Cloudsmith in these tests, RS256 and
 *   ES256 for AWS STS). clockTolerance: seconds of skew allowed on exp/nbf/iat. Default 0.
 *   keyTypes: the JWK `kty`s the vendor loads from the JWKS (['RSA'] for Entra ID and Quay, which
 *   skip other keys). Default: all.
 */
export function relyingParty(opts) {
  const algorithms = opts.algorithms;
  const counts = { discovery: 0, jwks: 0 };
  /** issuer → { jwksUri, jwks } */
  const providers = new Map();

  async function getJson(url, what) {
    let res;
    try {
      res = await fetch(url, { redirect: 'error', signal: AbortSignal.timeout(FETCH_TIMEOUT_MS), headers: { accept: 'application/json' } });
    } catch (err) {
      throw new RelyingPartyError('unreachable', `${what}: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (res.status !== 200) {
      await res.body?.cancel();
      throw new RelyingPartyError('unreachable', `${what}: HTTP ${res.status}`);
    }
    try {
      return await res.json();
    } catch {
      throw new RelyingPartyError('unreachable', `${what}: not JSON`);
    }
  }

  async function fetchJwks(uri) {
    counts.jwks++;
    const jwks = await getJson(uri, 'jwks');
    if (!jwks || !Array.isArray(jwks.keys)) throw new RelyingPartyError('unreachable', 'jwks: no keys array');
    return jwks;
  }

  async function discover(issuer) {
    counts.discovery++;
    const doc = await getJson(`${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`, 'discovery');
    // OpenID Connect Discovery 1.0 §4.3: the issuer in the document must be identical to the one configured.
    if (doc?.issuer !== issuer) throw new RelyingPartyError('issuer', `discovery names issuer ${JSON.stringify(doc?.issuer)}, configured ${issuer}`);
    if (typeof doc.jwks_uri !== 'string') throw new RelyingPartyError('unreachable', 'discovery has no jwks_uri');
    return { jwksUri: doc.jwks_uri, jwks: await fetchJwks(doc.jwks_uri) };
  }

  /**
   * Verifies `token` as issued by `issuer` for `audience` (a string, or a list of which the
   * token's aud must hold one; undefined for a vendor that does not check aud, as Quay without
   * audiences). Answers { payload, header }; throws RelyingPartyError.
   * @param {string} token
   * @param {{ issuer: string, audience?: string | string[] }} expect
   */
  async function verify(token, expect) {
    let header;
    try {
      header = decodeProtectedHeader(token);
    } catch {
      throw new RelyingPartyError('malformed', 'not a JWS');
    }
    // The vendor's algorithm list first: no key lookup for an algorithm it would never accept.
    if (typeof header.alg !== 'string' || !algorithms.includes(header.alg)) {
      throw new RelyingPartyError('alg', `algorithm ${String(header.alg)} not accepted (${algorithms.join(', ')})`);
    }
    let provider = providers.get(expect.issuer);
    if (!provider) {
      provider = await discover(expect.issuer);
      providers.set(expect.issuer, provider);
    } else if (!provider.jwks.keys.some((k) => k.kid === header.kid)) {
      // A kid we have not seen: the provider may have rotated. Fetch the keys again (no cooldown
      // here, so that a test sees every refetch).
      provider.jwks = await fetchJwks(provider.jwksUri);
    }
    try {
      const jwks = opts.keyTypes ? { keys: provider.jwks.keys.filter((k) => opts.keyTypes.includes(k.kty)) } : provider.jwks;
      const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(jwks), {
        issuer: expect.issuer,
        audience: expect.audience,
        algorithms,
        requiredClaims: ['exp', 'sub'],
        clockTolerance: opts.clockTolerance ?? 0,
      });
      if (typeof payload.sub !== 'string' || payload.sub === '') throw new RelyingPartyError('sub', 'sub is empty');
      return { payload, header: protectedHeader };
    } catch (err) {
      throw classify(err);
    }
  }

  return {
    counts,
    verify,
    /** Forget every cached discovery document and JWKS. */
    forget: () => providers.clear(),
  };
}

function classify(err) {
  if (err instanceof RelyingPartyError) return err;
  if (err instanceof errors.JOSEAlgNotAllowed) return new RelyingPartyError('alg', err.message);
  if (err instanceof errors.JWKSNoMatchingKey) return new RelyingPartyError('kid', err.message);
  if (err instanceof errors.JWKSMultipleMatchingKeys) return new RelyingPartyError('kid', err.message);
  if (err instanceof errors.JWSSignatureVerificationFailed) return new RelyingPartyError('signature', err.message);
  if (err instanceof errors.JWTExpired) return new RelyingPartyError('exp', err.message);
  if (err instanceof errors.JWTClaimValidationFailed) {
    const known = ['iss', 'aud', 'exp', 'nbf', 'iat', 'sub'];
    return new RelyingPartyError(known.includes(err.claim) ? err.claim : 'claims', err.message);
  }
  if (err instanceof errors.JOSEError) return new RelyingPartyError('malformed', err.message);
  return new RelyingPartyError('malformed', err instanceof Error ? err.message : String(err));
}
