/**
 * Admin API under /admin/v1, behind a bearer token (the ADMIN_TOKEN secret, compared in
 * constant time). Manages trust records by name and answers `explain`: what a token would
 * get for an image, and why, without minting anything.
 */
import { Hono, type MiddlewareHandler } from 'hono';
import { z } from 'zod';
import { BadRequest, EdgeError, InvalidRecord, NotConfigured, NotFound, Unauthorized } from '../errors';
import { authorize } from '../exchange';
import { forgetIssuerKeys } from '../identity/jwks';
import { credentialLifetime } from '../registry/credential';
import { logEvent } from '../log';
import { describeIssues, TrustRecordSchema } from '../policy/schema';
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

const nameParam = z.string().regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/);

function recordName(raw: string): string {
  const parsed = nameParam.safeParse(raw);
  if (!parsed.success) throw new BadRequest({ detail: 'record name must be a DNS label' });
  return parsed.data;
}

const ExplainSchema = z.strictObject({
  token: z.string().min(1).max(16 * 1024),
  image: z.string().min(1).max(4096),
  annotations: z.record(z.string(), z.string()).optional(),
});

export const admin = new Hono<AppEnv>()
  .use('/admin/*', requireAdmin)
  .get('/admin/v1/issuers', async (c) => c.json({ items: await listRecordNames(c.env.TRUST) }))
  .get('/admin/v1/issuers/:name', async (c) => c.json(await getRecordByName(c.env.TRUST, recordName(c.req.param('name')))))
  .put('/admin/v1/issuers/:name', async (c) => {
    const name = recordName(c.req.param('name'));
    const body = await readJsonBody(c.req.raw);
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new InvalidRecord({ detail: 'not an object', message: 'the trust record must be a JSON object' });
    const parsed = TrustRecordSchema.safeParse({ name, ...body });
    if (!parsed.success) {
      const issues = describeIssues(parsed.error);
      return c.json({ error: InvalidRecord.code, message: 'the trust record is invalid', issues }, 400);
    }
    if (parsed.data.name !== name) throw new InvalidRecord({ detail: 'name mismatch', message: 'the record name in the body differs from the URL' });
    const replaced = await getRecordByName(c.env.TRUST, name).catch((err) => (err instanceof NotFound ? undefined : Promise.reject(err)));
    const created = await putRecord(c.env.TRUST, parsed.data);
    await forgetIssuerKeys(c.env.TRUST, [replaced, parsed.data]); // keys cached for either record may be stale now
    logEvent(c.env, 'admin', { action: created ? 'create' : 'replace', record: name, issuer: parsed.data.issuer });
    return c.json(parsed.data, created ? 201 : 200);
  })
  .delete('/admin/v1/issuers/:name', async (c) => {
    const name = recordName(c.req.param('name'));
    await forgetIssuerKeys(c.env.TRUST, [await deleteRecord(c.env.TRUST, name)]);
    logEvent(c.env, 'admin', { action: 'delete', record: name });
    return c.body(null, 204);
  })
  .post('/admin/v1/explain', async (c) => {
    const parsed = ExplainSchema.safeParse(await readJsonBody(c.req.raw));
    if (!parsed.success) throw new BadRequest({ detail: 'explain takes { token, image, annotations? }' });
    const { token, image, annotations } = parsed.data;
    const now = Math.floor(Date.now() / 1000);
    try {
      const result = await authorize({ token, image, annotations: annotations ?? {} }, { env: c.env, waitUntil: (p) => c.executionCtx.waitUntil(p), now });
      const { identity, decision, compiled } = result;
      const base = {
        record: compiled.record.name,
        identity: {
          issuer: identity.issuer,
          namespace: identity.namespace,
          serviceAccount: identity.serviceAccount,
          ...(identity.pod ? { pod: identity.pod } : {}),
        },
        image: result.image,
        rules: decision.trace,
      };
      if (!decision.allowed) return c.json({ decision: 'deny', code: 'ERR_POLICY_DENIED', ...base });
      const ttl = credentialLifetime(decision.rule.ttl, identity.expiresAt, now);
      return c.json({
        decision: 'allow',
        ...base,
        grant: { rule: decision.rule.name, registry: result.image.registry, service: decision.service, grants: decision.grants, ttl },
      });
    } catch (err) {
      // A failed check is an answer here, not an error: say which check failed and why.
      if (err instanceof EdgeError && err.status < 500) {
        return c.json({ decision: 'deny', code: err.code, message: err.message, ...(err.detail ? { detail: err.detail } : {}) });
      }
      throw err;
    }
  });
