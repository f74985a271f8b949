/**
 * What every Hono pipeline of the edge starts with: the JSON 404 and the error mapper. The
 * app (app.ts) is one; the admin API (routes/admin.ts), built on its first request, is another.
 *
 * No middleware: a request that matches one handler takes Hono's direct path (no compose),
 * which the warm CPU targets count (bench/FINDINGS.md). Each handler reads the settings with
 * `loadConfig(c.env)` (parsed once per env object) before anything that logs.
 */
import { notFound, onError } from './errors';
import { Hono } from './hono';
import type { AppEnv } from './types';

export function edgeApp(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.notFound(notFound);
  app.onError(onError);
  return app;
}
