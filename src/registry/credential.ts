/**
 * The credential the edge hands the kubelet: Docker basic auth whose password is a
 * compact JWS signed by the edge's active key. It carries who the workload is (cluster
 * issuer, namespace, service account name and uid, pod) and what it may do (the
 * registry, repository patterns and actions of the rule that matched). The registry
 * token endpoint verifies it and intersects requested scopes with its grants.
 *
 * It must never pass for a registry bearer token signed by the same key: registries check
 * `iss` and `aud` (not `typ`), so its `aud` is this edge's token endpoint (CREDENTIAL_AUDIENCE),
 * never the registry's service, which it carries as `ecp.service` instead. Its `typ` header
 * keeps registry tokens from passing for credentials in turn.
 */
import { errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import { z } from 'zod';
import { CredentialExpired, CredentialInvalid, TokenExpired } from '../errors';
import { signEs256 } from '../signing/jws';
import { SIGNING_ALG, type KeyRing } from '../signing/keys';

export const CREDENTIAL_TYP = 'ecp-credential+jwt';
/** The credential's audience: the edge's own token endpoint, so no registry accepts it as a bearer token. */
export const CREDENTIAL_AUDIENCE = 'urn:edge-credential-provider:token-endpoint';
export const ACTIONS = ['pull', 'push'] as const;
export type Action = (typeof ACTIONS)[number];

const GrantSchema = z.object({
  repositories: z.array(z.string().min(1)).min(1),
  actions: z.array(z.enum(ACTIONS)).min(1),
});
export type Grant = z.infer<typeof GrantSchema>;

const IdentitySchema = z.object({
  cluster: z.string(),
  namespace: z.string(),
  serviceaccount: z.object({ name: z.string(), uid: z.string() }),
  pod: z.object({ name: z.string(), uid: z.string() }).optional(),
});

const CredentialClaimsSchema = z.object({
  iss: z.string(),
  sub: z.string(),
  aud: z.string(),
  exp: z.number(),
  iat: z.number(),
  jti: z.string(),
  ecp: IdentitySchema.extend({
    /** Registry host[:port] the grants apply to. */
    registry: z.string(),
    /** The registry's token-auth `service` name; /token only serves this service. */
    service: z.string(),
    /** Name of the trust rule that granted this credential, for the audit log. */
    rule: z.string(),
    grants: z.array(GrantSchema).min(1),
  }),
});
export type CredentialClaims = z.infer<typeof CredentialClaimsSchema>;
export type CredentialIdentity = z.infer<typeof IdentitySchema>;

export interface MintInput {
  edgeIssuer: string;
  identity: CredentialIdentity;
  registry: string;
  /** The registry's token-auth `service` name (`ecp.service`). */
  service: string;
  rule: string;
  grants: Grant[];
  /** Lifetime in seconds. */
  ttl: number;
  /** Current time, in seconds since the epoch. */
  now: number;
}

export interface MintedCredential {
  username: string;
  password: string;
  expiresAt: number;
}

/**
 * Seconds a credential may live: the rule's ttl, but never past the token it is minted from.
 * A token accepted only thanks to clock skew (already past `exp`) gets nothing.
 */
export function credentialLifetime(ruleTtl: number, tokenExpiresAt: number, now: number): number {
  const remaining = tokenExpiresAt - now;
  if (remaining <= 0) throw new TokenExpired({ detail: 'expired; accepted by the skew allowance only' });
  return Math.min(ruleTtl, remaining);
}

/** Names the identity; never contains ':' (Basic auth splits on the first one). */
export function credentialUsername(identity: CredentialIdentity): string {
  return `${identity.namespace}/${identity.serviceaccount.name}`;
}

export async function mintCredential(ring: KeyRing, input: MintInput): Promise<MintedCredential> {
  const { identity, now } = input;
  const exp = now + input.ttl;
  const password = await signEs256(ring.active.privateKey, { alg: SIGNING_ALG, kid: ring.active.kid, typ: CREDENTIAL_TYP }, {
    ecp: { ...identity, registry: input.registry, service: input.service, rule: input.rule, grants: input.grants },
    iss: input.edgeIssuer,
    sub: `system:serviceaccount:${identity.namespace}:${identity.serviceaccount.name}`,
    aud: CREDENTIAL_AUDIENCE,
    iat: now,
    nbf: now,
    exp,
    jti: crypto.randomUUID(),
  } satisfies CredentialClaims & { nbf: number });
  return { username: credentialUsername(identity), password, expiresAt: exp };
}

export interface VerifyCredentialOptions {
  edgeIssuer: string;
  /** The `service` the client asked a token for; must equal the credential's `ecp.service`. */
  service: string;
  /** Current time, in seconds since the epoch. */
  now: number;
}

/** Verifies a password as one of this edge's credentials. Throws CredentialInvalid/Expired. */
export async function verifyCredential(ring: KeyRing, password: string, opts: VerifyCredentialOptions): Promise<CredentialClaims> {
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(
      password,
      async (header) => {
        const key = header.kid ? ring.byKid.get(header.kid) : undefined;
        if (!key) throw new CredentialInvalid({ detail: 'credential kid is not one of ours' });
        return key.publicKey;
      },
      {
        algorithms: [SIGNING_ALG],
        issuer: opts.edgeIssuer,
        audience: CREDENTIAL_AUDIENCE,
        typ: CREDENTIAL_TYP,
        currentDate: new Date(opts.now * 1000),
        clockTolerance: 0, // we issued it; our clocks agree with ourselves
      },
    ));
  } catch (err) {
    if (err instanceof joseErrors.JWTExpired) throw new CredentialExpired({ detail: 'credential expired' });
    if (err instanceof CredentialInvalid) throw err;
    const reason = err instanceof joseErrors.JOSEError ? err.code : 'unparseable';
    throw new CredentialInvalid({ detail: `credential rejected: ${reason}` });
  }
  const parsed = CredentialClaimsSchema.safeParse(payload);
  if (!parsed.success) throw new CredentialInvalid({ detail: 'credential claims have the wrong shape' });
  if (parsed.data.ecp.service !== opts.service) throw new CredentialInvalid({ detail: 'credential is for another service' });
  return parsed.data;
}
