/**
 * Admin API under /admin/v1, behind a bearer token (the ADMIN_TOKEN secret, compared in
 * constant time):
 *
 *   GET    /admin/v1/issuers                          record names
 *   GET    /admin/v1/issuers/:name                    one trust record
 *   PUT    /admin/v1/issuers/:name                    create or replace (validated, compiled)
 *   DELETE /admin/v1/issuers/:name
 *   GET    /admin/v1/issuers/:name/revocations        live revocations of that cluster
 *   POST   /admin/v1/issuers/:name/revocations        revoke (policy/revocation.ts)
 *   DELETE /admin/v1/issuers/:name/revocations/:id
 *   POST   /admin/v1/explain                          what a token would get for an image, and why
 */
import type { MiddlewareHandler } from 'hono';
import { Hono } from './hono';
import * as z from '../zod';
import { decide, type Decision } from '../decide';
import { BadRequest, InvalidRecord, NotConfigured, NotFound, Unauthorized } from '../errors';
import { forgetIssuerKeys } from '../identity/jwks';
import { logEvent } from '../log';
import { RevocationSchema, type Revocation } from '../policy/revocation';
import { describeIssues, MAX_CREDENTIAL_TTL, TrustRecordSchema, type TrustRecord } from '../policy/schema';
import { issuerKeyStore } from '../store/issuer-keys';
import { addRevocation, listRevocations, removeRevocation } from '../store/revocations';
import { describeUpstream } from '../upstream/federate';
import { deleteRecord, getRecordByName, listRecordNames, putRecord } from '../store/trust';
import { readJsonBody } from './body';
import type { AppEnv } from './types';

const encoder = new TextEncoder();

async function sha256(s: string): Promise<ArrayBuffer> {
  return crypto.subtle.digest('SHA-256', encoder.encode(s));
}

/** Constant-time: both sides are hashed to equal length before comparing. */
async function tokenMatches(given: string, expected: string): Promise<boolean> {
  const [a, b] = await Promise.all([sha256(given), sha256(expected)]);
  return crypto.subtle.timingSafeEqual(a, b);
}

const requireAdmin: MiddlewareHandler<AppEnv> = async (c, next) => {
  const expected = c.env.ADMIN_TOKEN;
  if (!expected) throw new NotConfigured({ detail: 'ADMIN_TOKEN is not set' });
  const header = c.req.header('authorization') ?? '';
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  if (!match || !(await tokenMatches(match[1]!, expected))) {
    c.header('WWW-Authenticate', 'Bearer realm="edge-credential-provider admin"');
    throw new Unauthorized();
  }
  await next();
};

const nameParam = z.string().check(z.regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/));

function recordName(raw: string): string {
  const parsed = nameParam.safeParse(raw);
  if (!parsed.success) throw new BadRequest({ detail: 'record name must be a DNS label' });
  return parsed.data;
}

const seconds = () => Math.floor(Date.now() / 1000);

const ExplainSchema = z.strictObject({
  token: z.string().check(z.minLength(1), z.maxLength(16 * 1024)),
  image: z.string().check(z.minLength(1), z.maxLength(4096)),
  annotations: z.optional(z.record(z.string(), z.string())),
});

/** Longest a revocation may be kept, seconds (30 days). */
const MAX_REVOCATION_TTL = 30 * 24 * 60 * 60;
const revocationOptions = {
  /**
   * Seconds to keep the entry: at least the longest credential lifetime (12 h). Default: long
   * enough to outlive every token and credential that exists now (the record's
   * maxTokenLifetime + 12 h) for account revocations, 12 h for credential revocations.
   */
  ttl: z.optional(z.number().check(z.int(), z.gte(MAX_CREDENTIAL_TTL), z.lte(MAX_REVOCATION_TTL))),
  reason: z.optional(z.string().check(z.maxLength(200))),
};
const RevokeSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('serviceAccountUid'), uid: z.string().check(z.minLength(1), z.maxLength(64)), ...revocationOptions }),
  z.strictObject({ kind: z.literal('serviceAccount'), namespace: z.string().check(z.minLength(1), z.maxLength(63)), name: z.string().check(z.minLength(1), z.maxLength(253)), ...revocationOptions }),
  z.strictObject({ kind: z.literal('credential'), jti: z.string().check(z.minLength(1), z.maxLength(64)), ...revocationOptions }),
  /** `before`, seconds since the epoch, at most now. Default: the next second, so every credential minted so far is void. */
  z.strictObject({ kind: z.literal('issuedBefore'), before: z.optional(z.number().check(z.int())), ...revocationOptions }),
]);

function newRevocation(input: z.infer<typeof RevokeSchema>, record: TrustRecord, now: number): Revocation {
  const { ttl, reason, ...target } = input;
  const accountLike = target.kind === 'serviceAccountUid' || target.kind === 'serviceAccount';
  const keep = ttl ?? (accountLike ? record.maxTokenLifetime + MAX_CREDENTIAL_TTL : MAX_CREDENTIAL_TTL);
  const id = `rv-${crypto.randomUUID().replaceAll('-', '').slice(0, 12)}`;
  const base = { id, createdAt: now, expiresAt: now + keep, ...(reason ? { reason } : {}) };
  if (target.kind === 'issuedBefore') {
    const before = target.before ?? now + 1;
    if (before > now + 1) throw new BadRequest({ detail: 'issuedBefore in the future', message: '"before" must not be in the future' });
    return RevocationSchema.parse({ ...target, before, ...base });
  }
  return RevocationSchema.parse({ ...target, ...base });
}

/** explain's answer: the decision, serialised. Nothing in it is secret (no token, no credential). */
function explanation(d: Decision, edgeIssuer: string, now: number) {
  const common = {
    ...(d.workload ? { record: d.workload.record, identity: d.workload } : {}),
    ...(d.image ? { image: d.image } : {}),
    ...(d.trace.length ? { rules: d.trace } : {}),
  };
  if (d.granted) {
    return {
      decision: 'allow',
      ...common,
      grant: d.rule.upstream
        ? { rule: d.rule.name, registry: d.image.registry, upstream: describeUpstream(d.rule.upstream, d.rule, d.workload, edgeIssuer, now) }
        : { rule: d.rule.name, registry: d.image.registry, service: d.service, grants: d.grants, ttl: d.ttl },
    };
  }
  return {
    decision: 'deny',
    code: d.code,
    message: d.error.message,
    ...(d.error.detail ? { detail: d.error.detail } : {}),
    ...(d.revocation ? { revocation: d.revocation } : {}),
    ...common,
  };
}

export const admin = new Hono<AppEnv>()
  .use('/admin/*', requireAdmin)
  .get('/admin/v1/issuers', async (c) => c.json({ items: await listRecordNames(c.env.TRUST) }))
  .get('/admin/v1/issuers/:name', async (c) => c.json(await getRecordByName(c.env.TRUST, recordName(c.req.param('name')))))
  .put('/admin/v1/issuers/:name', async (c) => {
    const name = recordName(c.req.param('name'));
    const body = await readJsonBody(c.req.raw);
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new InvalidRecord({ detail: 'not an object', message: 'the trust record must be a JSON object' });
    const parsed = TrustRecordSchema.safeParse({ name, ...body });
    if (!parsed.success) throw new InvalidRecord({ detail: 'schema', issues: describeIssues(parsed.error) });
    if (parsed.data.name !== name) throw new InvalidRecord({ detail: 'name mismatch', message: 'the record name in the body differs from the URL' });
    const previous = await putRecord(c.env.TRUST, parsed.data);
    await forgetIssuerKeys(issuerKeyStore(c.env.TRUST), [previous, parsed.data]); // keys cached for either record may be stale now
    logEvent('admin', { action: previous ? 'replace' : 'create', record: name, issuer: parsed.data.issuer });
    return c.json(parsed.data, previous ? 200 : 201);
  })
  .delete('/admin/v1/issuers/:name', async (c) => {
    const name = recordName(c.req.param('name'));
    await forgetIssuerKeys(issuerKeyStore(c.env.TRUST), [await deleteRecord(c.env.TRUST, name)]);
    logEvent('admin', { action: 'delete', record: name });
    return c.body(null, 204);
  })
  .get('/admin/v1/issuers/:name/revocations', async (c) => {
    const record = await getRecordByName(c.env.TRUST, recordName(c.req.param('name')));
    return c.json({ items: await listRevocations(c.env.TRUST, record.issuer, seconds()) });
  })
  .post('/admin/v1/issuers/:name/revocations', async (c) => {
    const record = await getRecordByName(c.env.TRUST, recordName(c.req.param('name')));
    const parsed = RevokeSchema.safeParse(await readJsonBody(c.req.raw));
    if (!parsed.success) {
      throw new BadRequest({ detail: 'revocation schema', message: 'the revocation is invalid', issues: describeIssues(parsed.error) });
    }
    const now = seconds();
    const entry = newRevocation(parsed.data, record, now);
    await addRevocation(c.env.TRUST, record.issuer, entry, now);
    logEvent('admin', { action: 'revoke', record: record.name, revocation: entry.id, kind: entry.kind, expiresAt: entry.expiresAt });
    return c.json(entry, 201);
  })
  .delete('/admin/v1/issuers/:name/revocations/:id', async (c) => {
    const record = await getRecordByName(c.env.TRUST, recordName(c.req.param('name')));
    const id = c.req.param('id');
    if (!(await removeRevocation(c.env.TRUST, record.issuer, id, seconds()))) throw new NotFound({ detail: `no revocation ${id.slice(0, 40)}` });
    logEvent('admin', { action: 'unrevoke', record: record.name, revocation: id.slice(0, 40) });
    return c.body(null, 204);
  })
  .post('/admin/v1/explain', async (c) => {
    const parsed = ExplainSchema.safeParse(await readJsonBody(c.req.raw));
    if (!parsed.success) throw new BadRequest({ detail: 'explain takes { token, image, annotations? }' });
    const { token, image, annotations } = parsed.data;
    const now = seconds();
    const config = c.get('config');
    const decision = await decide(
      { token, image, annotations: annotations ?? {} },
      { kv: c.env.TRUST, fetch: (...a) => fetch(...a), waitUntil: (p) => c.executionCtx.waitUntil(p), jwksCooldownMs: config.jwksCooldownMs, now },
    );
    return c.json(explanation(decision, config.edgeIssuer, now));
  });
