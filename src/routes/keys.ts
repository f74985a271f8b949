/**
 * PUT /v1/keys: a cluster pushes its own JWKS (the API server's /openid/v1/jwks) to its trust
 * record, authenticated by a projected token of the record's keySync service account, no
 * admin secret (docs/trust-records.md, "Key sync"):
 *
 *   Authorization: Bearer <service-account token, aud = the record's keySync.audience>
 *   { "jwks": { "keys": [ <RSA or EC public JWK with kid>, ... ] } }      at most 32 KiB
 *   200 { "record", "changed", "keys": [kid, ...], "confirmedAt", "version"? }
 *
 * The record is the one of the token's `iss`. The push is decided (policy/key-sync.ts) here
 * against the record as this location reads it, so that refusals never reach the one admin
 * writer, then again by the writer against the version it holds, which writes the keys if
 * they changed (history `by`: `keysync:<namespace>/<name>`) and the confirmation either way.
 *
 * A pipeline of its own, built on the first push an isolate serves (app.ts): an isolate that
 * only answers pulls never registers it.
 */
import { loadConfig } from '../config';
import { EdgeError, TokenMissing, UnknownIssuer } from '../errors';
import { readToken } from '../identity/verify';
import { logEvent, tokenFingerprint } from '../log';
import { acceptKeySync, parsePush } from '../policy/key-sync';
import { loadTrust } from '../store/trust';
import type { KeysSynced } from '../store/writer';
import { forgetHere, viaWriter } from './admin-writer';
import { edgeApp } from './base';
import { readJsonBody } from './body';
import type { Hono } from './hono';
import type { AppEnv } from './types';

/** 20 RSA-4096 keys with kid, use and alg are ~17 KiB; the API server's set is one to three keys. */
export const MAX_KEYS_BODY_BYTES = 32 * 1024;

let keys: Hono<AppEnv> | undefined;

export function keysApp(): Hono<AppEnv> {
  keys ??= edgeApp().put('/v1/keys', async (c) => {
    loadConfig(c.env); // the log setting, before anything logs
    const now = Math.floor(Date.now() / 1000);
    const bearer = /^Bearer\s+(\S+)$/i.exec(c.req.header('authorization') ?? '')?.[1];
    const fields: Record<string, string | undefined> = { token: bearer && (await tokenFingerprint(bearer)) };
    try {
      if (!bearer) throw new TokenMissing({ detail: 'no bearer token' });
      const jwks = parsePush(await readJsonBody(c.req.raw, MAX_KEYS_BODY_BYTES));
      const { issuer } = readToken(bearer);
      fields.issuer = issuer;
      const trust = await loadTrust(c.env.TRUST, issuer, now);
      if (!trust) throw new UnknownIssuer();
      const name = trust.compiled.record.name;
      fields.record = name;
      // This location's copy may lag the writer's by a minute (KV): a key it does not know yet may
      // be one the writer holds, so only that refusal goes on to the writer, which decides again.
      await acceptKeySync(trust.compiled.record, bearer, jwks, trust.revocations, now).catch((err) => {
        if (!(err instanceof EdgeError && err.code === 'ERR_UNKNOWN_KEY')) throw err;
      });
      const synced = await viaWriter<KeysSynced>(c.env, (w) => w.syncKeys({ name, issuer, token: bearer, jwks, at: now }));
      if (synced.changed) await forgetHere([trust.compiled.record, synced.record]);
      const kids = jwks.keys.map((k) => k.kid);
      logEvent('keysync', { outcome: 'accepted', ...fields, by: synced.by, changed: synced.changed, keys: kids, version: synced.entry?.version });
      return c.json({ record: name, changed: synced.changed, keys: kids, confirmedAt: now, ...(synced.entry ? { version: synced.entry.version } : {}) });
    } catch (err) {
      if (err instanceof EdgeError && err.status < 500) logEvent('keysync', { outcome: 'refused', ...fields, code: err.code, reason: err.detail });
      throw err;
    }
  });
  return keys;
}
