import { app } from './app';
import type { Env } from './env';
import { sealWith } from './store/seal';

export default {
  fetch(req, env, ctx) {
    // What this edge writes to KV is sealed under its secret, and sealed reads trusted (store/seal.ts).
    sealWith(env.TRUST, env.EDGE_SIGNING_KEYS);
    return app.fetch(req, env, ctx);
  },
} satisfies ExportedHandler<Env>;
// The admin writer Durable Object (wrangler.toml): the runtime finds its class here.
export { AdminWriter } from './store/writer';
