/**
 * The Hono app: routes, the JSON 404 and the error mapper, wired (each handler reads the settings).
 *
 * A fresh isolate's start-up is what the first pull at a location waits for, so it does
 * little: it registers the routes a pull takes (exchange, token endpoint, discovery) and
 * builds no schema (each is built on its first use: zod.ts `deferred`). The admin API is a
 * pipeline of its own, built on its first request (routes/admin.ts).
 */
import { edgeApp } from './routes/base';
import { credentials } from './routes/credentials';
import { registryToken } from './routes/token';
import { wellKnown } from './routes/well-known';

export const app = edgeApp();
app.route('/', wellKnown);
app.route('/', credentials);
// The admin API and key sync load on their first request (the Worker's build puts them in
// modules of their own: scripts/build-worker.mjs), so a fresh isolate's first pull loads neither, nor zod.
app.all('/admin/*', async (c) => (await import('./routes/admin')).adminApp().fetch(c.req.raw, c.env, c.executionCtx));
// A cluster pushing its keys (routes/keys.ts): built on first use, like the admin API.
app.put('/v1/keys', async (c) => (await import('./routes/keys')).keysApp().fetch(c.req.raw, c.env, c.executionCtx));
app.route('/', registryToken);
