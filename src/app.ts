/** The Hono app: settings, routes and the error mapper, wired. */
import { Hono } from './routes/hono';
import { loadConfig } from './config';
import { admin } from './routes/admin';
import { credentials } from './routes/credentials';
import { notFound, onError } from './routes/errors';
import { registryToken } from './routes/token';
import type { AppEnv } from './routes/types';
import { wellKnown } from './routes/well-known';

export const app = new Hono<AppEnv>();
app.use(async (c, next) => {
  c.set('config', loadConfig(c.env));
  await next();
});
app.route('/', wellKnown);
app.route('/', credentials);
app.route('/', admin);
app.route('/', registryToken);
app.notFound(notFound);
app.onError(onError);
