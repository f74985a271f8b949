/**
 * The exchange, as one sequence both POST /v1/credentials and the admin `explain` use:
 * find the issuer's trust record (KV), get its keys (KV / fetch), verify the token, parse
 * the image, evaluate the rules. I/O happens here; the checks are the pure functions in
 * identity/verify.ts and policy/evaluate.ts. Throws EdgeErrors; never mints.
 */
import type { Env } from './env';
import { IssuerDisabled, TokenMissing, UnknownIssuer } from './errors';
import { issuerKeys } from './identity/jwks';
import { peekIssuer, verifyServiceAccountToken, type VerifiedServiceAccount } from './identity/verify';
import { evaluate, type CompiledRecord, type Decision } from './policy/evaluate';
import { parseImageRef, type ImageRef } from './registry/image-ref';
import { getCompiledRecord } from './store/trust';

export interface ExchangeInput {
  token: string | undefined;
  image: string;
  annotations: Record<string, string>;
}

export interface ExchangeContext {
  env: Env;
  waitUntil: (p: Promise<unknown>) => void;
  /** Seconds since the epoch. */
  now: number;
}

export interface Authorized {
  issuer: string;
  compiled: CompiledRecord;
  identity: VerifiedServiceAccount;
  image: ImageRef;
  decision: Decision;
}

/** Progress so far, for the audit line when a later step throws. */
export interface ExchangeTrace {
  issuer?: string;
  namespace?: string;
  serviceAccount?: string;
  image?: string;
}

function cooldownMs(env: Env): number | undefined {
  const seconds = Number(env.JWKS_COOLDOWN_SECONDS);
  return env.JWKS_COOLDOWN_SECONDS && Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
}

export async function authorize(input: ExchangeInput, ctx: ExchangeContext, trace: ExchangeTrace = {}): Promise<Authorized> {
  const image = parseImageRef(input.image);
  trace.image = `${image.registry}/${image.repository}`;
  if (!input.token) throw new TokenMissing();
  const issuer = peekIssuer(input.token);
  trace.issuer = issuer;
  const compiled = await getCompiledRecord(ctx.env.TRUST, issuer, ctx.now);
  if (!compiled) throw new UnknownIssuer();
  if (compiled.record.disabled) throw new IssuerDisabled({ detail: `record ${compiled.record.name}` });

  const keys = await issuerKeys(compiled.record, {
    kv: ctx.env.TRUST,
    fetch: (...a) => fetch(...a),
    waitUntil: ctx.waitUntil,
    cooldownMs: cooldownMs(ctx.env),
  });
  let identity: VerifiedServiceAccount;
  try {
    identity = await verifyServiceAccountToken(input.token, compiled.record, keys.getKey, ctx.now);
  } finally {
    keys.persist();
  }
  trace.namespace = identity.namespace;
  trace.serviceAccount = identity.serviceAccount.name;

  const decision = evaluate(
    compiled,
    {
      namespace: identity.namespace,
      serviceAccountName: identity.serviceAccount.name,
      serviceAccountUid: identity.serviceAccount.uid,
      annotations: input.annotations,
    },
    image,
  );
  return { issuer, compiled, identity, image, decision };
}
