/**
 * The admin API under /admin/v1: one authentication step (admin-auth.ts: bearer tokens or
 * Cloudflare Access; read-only principals can read and explain), then records
 * (admin-records.ts), revocations (admin-revocations.ts) and explain (admin-explain.ts).
 */
import { requireAdmin } from './admin-auth';
import { explain } from './admin-explain';
import { records } from './admin-records';
import { revocations } from './admin-revocations';
import { Hono } from './hono';
import type { AppEnv } from './types';

export const admin = new Hono<AppEnv>().use('/admin/*', requireAdmin).route('/', records).route('/', revocations).route('/', explain);
