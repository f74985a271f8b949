/**
 * The admin API under /admin/v1: one authentication step (admin-auth.ts: bearer tokens or
 * Cloudflare Access; read-only principals can read and explain), then records
 * (admin-records.ts), revocations (admin-revocations.ts), explain (admin-explain.ts) and the
 * state of a record's keys (admin-keys.ts).
 *
 * A pipeline of its own (routes/base.ts), built on the first /admin/ request an isolate
 * serves: an isolate that only answers pulls never registers these routes (app.ts).
 */
import { requireAdmin } from './admin-auth';
import { explain } from './admin-explain';
import { keyStatus } from './admin-keys';
import { records } from './admin-records';
import { revocations } from './admin-revocations';
import { edgeApp } from './base';
import type { Hono } from './hono';
import type { AppEnv } from './types';

let admin: Hono<AppEnv> | undefined;

export function adminApp(): Hono<AppEnv> {
  admin ??= edgeApp().use('/admin/*', requireAdmin).route('/', records()).route('/', revocations()).route('/', explain()).route('/', keyStatus());
  return admin;
}
