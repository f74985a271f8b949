/**
 * The minimal Worker's handlers: the least a Worker doing the edge's job can do, with a real
 * Request and Response. The CPU targets are stated against them (bench/README.md):
 *
 *   exchange  req.json(), jose jwtVerify of the SA token, jose SignJWT of a credential, Response.json
 *   token     Basic header or form, jose jwtVerify of the credential, jose SignJWT of a registry
 *             token, Response.json
 *
 * No routing, no schema, no policy, no KV: whatever the edge spends over these is its own code.
 * The bench Worker runs them in its loops (`app/minimal/*`), and bench/minimal-worker.ts
 * serves them as a Worker of its own for the cold-start rows.
 */
import { jwtVerify, SignJWT, type JWTPayload } from 'jose';

export interface MinimalKeys {
  /** The cluster issuer's public keys, for RS256 and ES256 service-account tokens. */
  rsaKey: CryptoKey;
  ecKey: CryptoKey;
  issuer: string;
  audiences: string[];
  /** The edge's signing key. */
  signing: { kid: string; privateKey: CryptoKey; publicKey: CryptoKey };
  edgeIssuer: string;
  /**
   * `iss`, `sub`, `aud` and `ecp` of a credential the edge minted, signed again with fresh
   * times and jti: the minimal Worker signs the same bytes as the edge, whatever the edge
   * puts in its claims today.
   */
  credentialClaims: JWTPayload;
  credentialTyp: string;
}

const nowS = () => Math.floor(Date.now() / 1000);

/** A credential with the edge's claims, through jose's SignJWT. */
export function signCredential(k: MinimalKeys, now: number): Promise<string> {
  const { ecp, iss, sub, aud } = k.credentialClaims;
  return new SignJWT({ ecp })
    .setProtectedHeader({ alg: 'ES256', kid: k.signing.kid, typ: k.credentialTyp })
    .setIssuer(iss as string)
    .setSubject(sub as string)
    .setAudience(aud as string)
    .setIssuedAt(now)
    .setNotBefore(now)
    .setExpirationTime(now + 3600)
    .setJti(crypto.randomUUID())
    .sign(k.signing.privateKey);
}

/** POST /v1/credentials, minimal: parse, verify, sign, answer. */
export async function minimalExchange(k: MinimalKeys, req: Request): Promise<Response> {
  const body = (await req.json()) as { serviceAccountToken: string };
  const token = body.serviceAccountToken;
  // The header's first bytes say the alg: cheaper than any lookup, which the minimal Worker must not pay.
  const alg = token.startsWith('eyJhbGciOiJFUzI1') ? 'ES256' : 'RS256';
  const now = nowS();
  await jwtVerify(token, alg === 'RS256' ? k.rsaKey : k.ecKey, {
    algorithms: [alg],
    issuer: k.issuer,
    audience: k.audiences,
    currentDate: new Date(now * 1000),
    clockTolerance: 60,
  });
  const password = await signCredential(k, now);
  return Response.json({
    apiVersion: 'credentialprovider.kubelet.k8s.io/v1',
    kind: 'CredentialProviderResponse',
    cacheKeyType: 'Image',
    cacheDuration: '55m0s',
    auth: { 'registry.bench:5000': { username: 'team-a/builder', password } },
  });
}

/**
 * GET /token (Basic auth, `service` and `scope` in the query) or POST /token (form), minimal:
 * verify the credential, sign a registry token for the one scope asked, answer.
 */
export async function minimalToken(k: MinimalKeys, req: Request): Promise<Response> {
  let params: { get: (name: string) => unknown };
  let password: string;
  if (req.method === 'POST') {
    // The platform's own form parser, as the exchange uses req.json(): in this runtime it
    // measured cheaper than req.text() into URLSearchParams (bench/README.md, "minimal Worker").
    params = await req.formData();
    password = String(params.get('password') ?? '');
  } else {
    params = new URL(req.url).searchParams;
    const basic = atob((req.headers.get('authorization') ?? '').slice('Basic '.length));
    password = basic.slice(basic.indexOf(':') + 1);
  }
  const service = String(params.get('service') ?? '');
  const [type = '', name = '', actions = ''] = String(params.get('scope') ?? '').split(':');
  const now = nowS();
  const { payload } = await jwtVerify(password, k.signing.publicKey, {
    algorithms: ['ES256'],
    issuer: k.edgeIssuer,
    audience: k.credentialClaims.aud as string,
    currentDate: new Date(now * 1000),
  });
  const token = await new SignJWT({ access: [{ type, name, actions: actions.split(',') }] })
    .setProtectedHeader({ alg: 'ES256', typ: 'JWT', kid: k.signing.kid })
    .setIssuer(k.edgeIssuer)
    .setSubject(payload.sub as string)
    .setAudience(service)
    .setIssuedAt(now)
    .setNotBefore(now)
    .setExpirationTime(now + 300)
    .setJti(crypto.randomUUID())
    .sign(k.signing.privateKey);
  return Response.json({ token, access_token: token, expires_in: 300, issued_at: new Date(now * 1000).toISOString() });
}
