/**
 * The one error mapper. EdgeErrors become `{ error: code, message }` with their status;
 * a route may install its own wire format (the registry token endpoint does). Anything
 * else is a bug: logged with its name only, answered with a generic 500, never echoed.
 */
import type { Context, ErrorHandler, NotFoundHandler } from 'hono';
import { EdgeError, NotFound } from '../errors';
import type { AppEnv } from './types';

export function errorBody(err: EdgeError) {
  return { error: err.code, message: err.message };
}

export const onError: ErrorHandler<AppEnv> = (err, c) => {
  if (err instanceof EdgeError) {
    const format = c.get('formatError');
    if (format) return format(c as Context<AppEnv>, err);
    if (err.status >= 500 || err.status === 413) {
      console.log(JSON.stringify({ event: 'error', path: c.req.path, code: err.code, detail: err.detail }));
    }
    return c.json(errorBody(err), err.status);
  }
  // Hono's own HTTPException (e.g. from middleware) carries a status we can trust.
  console.log(JSON.stringify({ event: 'internal_error', path: c.req.path, name: (err as Error)?.name ?? 'unknown' }));
  return c.json({ error: 'ERR_INTERNAL', message: 'internal error' }, 500);
};

export const notFound: NotFoundHandler<AppEnv> = (c) => c.json(errorBody(new NotFound()), 404);
