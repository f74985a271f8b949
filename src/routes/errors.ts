/**
 * The app's error mapper. EdgeErrors become `{ error: code, message }` with their status
 * (the registry token endpoint has its own wire format, mapped in its handler). Anything
 * else is a bug: logged with its name only, answered with a generic 500, never echoed.
 * Client errors are logged by the route's audit line, not here; dependency failures (5xx) here.
 */
import type { ErrorHandler, NotFoundHandler } from 'hono';
import { EdgeError, NotFound } from '../errors';
import { logEvent } from '../log';
import type { AppEnv } from './types';

export function errorBody(err: EdgeError) {
  return { error: err.code, message: err.message, ...(err.issues ? { issues: err.issues } : {}) };
}

export const onError: ErrorHandler<AppEnv> = (err, c) => {
  if (err instanceof EdgeError) {
    if (err.status >= 500) logEvent('error', { path: c.req.path, code: err.code, detail: err.detail });
    if (err.retryAfter !== undefined) c.header('Retry-After', String(err.retryAfter));
    return c.json(errorBody(err), err.status);
  }
  logEvent('internal_error', { path: c.req.path, name: err instanceof Error ? err.name : 'unknown' });
  return c.json({ error: 'ERR_INTERNAL', message: 'internal error' }, 500);
};

export const notFound: NotFoundHandler<AppEnv> = (c) => c.json(errorBody(new NotFound()), 404);
