/**
 * What every Hono pipeline of the edge starts with: the parsed settings in `c.get('config')`,
 * the JSON 404 and the error mapper. The app (app.ts) is one; the admin API (routes/admin.ts),
 * built on its first request, is another.
 */
import { loadConfig } from '../config';
import { notFound, onError } from './errors';
import { Hono } from './hono';
import type { AppEnv } from './types';

export function edgeApp(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use(async (c, next) => {
    c.set('config', loadConfig(c.env));
    await next();
  });
  app.notFound(notFound);
  app.onError(onError);
  return app;
}
