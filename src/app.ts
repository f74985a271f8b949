/**
 * The Hono app: routes, the JSON 404 and the error mapper, wired (each handler reads the settings).
 *
 * A fresh isolate's start-up is what the first pull at a location waits for, so it does
 * little: it registers the routes a pull takes (exchange, token endpoint, discovery) and
 * builds no schema (each is built on its first use: zod.ts `deferred`). The admin API is a
 * pipeline of its own, built on its first request (routes/admin.ts).
 */
import { adminApp } from './routes/admin';
import { edgeApp } from './routes/base';
import { credentials } from './routes/credentials';
import { keysApp } from './routes/keys';
import { registryToken } from './routes/token';
import { wellKnown } from './routes/well-known';

export const app = edgeApp();
app.route('/', wellKnown);
app.route('/', credentials);
app.all('/admin/*', (c) => adminApp().fetch(c.req.raw, c.env, c.executionCtx));
// A cluster pushing its keys (routes/keys.ts): built on first use, like the admin API.
app.put('/v1/keys', (c) => keysApp().fetch(c.req.raw, c.env, c.executionCtx));
app.route('/', registryToken);
