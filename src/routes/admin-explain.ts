/**
 * POST /admin/v1/explain: what a token would get for an image, and why, without minting or
 * calling a vendor. It changes nothing, but it shows a record's rules: the caller needs read
 * on the record that holds the token's issuer (none: an unknown issuer, anyone may ask).
 */
import { loadConfig } from '../config';
import * as z from '../zod';
import { deferred } from '../zod';
import { decide, type Decision } from '../decide';
import { BadRequest } from '../errors';
import { describeUpstream } from '../upstream/federate';
import { loadTrust } from '../store/trust';
import { requireScope } from './admin-auth';
import { keysWarning } from './admin-keys';
import { seconds } from './admin-records';
import { readJsonBody } from './body';
import { Hono } from './hono';
import type { AppEnv } from './types';

const ExplainSchema = deferred(() =>
  z.strictObject({
    token: z.string().check(z.minLength(1), z.maxLength(16 * 1024)),
    image: z.string().check(z.minLength(1), z.maxLength(4096)),
    annotations: z.optional(z.recordOf(z.string(), z.string())),
  }),
);

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

export const explain = () =>
  new Hono<AppEnv>().post('/admin/v1/explain', async (c) => {
    const parsed = ExplainSchema.safeParse(await readJsonBody(c.req.raw));
    if (!parsed.success) throw new BadRequest({ detail: 'explain takes { token, image, annotations? }' });
    const { token, image, annotations } = parsed.data;
    const now = seconds();
    const config = loadConfig(c.env);
    const decision = await decide(
      { token, image, annotations: annotations ?? {} },
      { kv: c.env.TRUST, fetch: (...a) => fetch(...a), waitUntil: (p) => c.executionCtx.waitUntil(p), jwksCooldownMs: config.jwksCooldownMs, now },
    );
    // Inline keys unconfirmed for too long: the likeliest cause of an ERR_UNKNOWN_KEY, and of the next one.
    const issuer = decision.workload?.cluster ?? (decision.granted ? undefined : decision.issuer);
    const trust = issuer === undefined ? undefined : await loadTrust(c.env.TRUST, issuer, now).catch(() => undefined);
    const name = trust?.compiled.record.name ?? decision.workload?.record;
    if (name !== undefined) requireScope(c.get('admin'), 'read', name);
    const warning = await keysWarning(c.env.TRUST, trust?.compiled.record, now);
    return c.json({ ...explanation(decision, config.edgeIssuer, now), ...(warning ? { warnings: [warning] } : {}) });
  });
