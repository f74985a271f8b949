/** Public, unauthenticated endpoints: health and the edge's public signing keys. */
import { Hono } from 'hono';
import { loadKeyRing } from '../signing/keys';
import type { AppEnv } from './types';

export const wellKnown = new Hono<AppEnv>()
  .get('/healthz', (c) => c.json({ ok: true }))
  .get('/.well-known/jwks.json', async (c) => {
    const ring = await loadKeyRing(c.env.EDGE_SIGNING_KEYS);
    c.header('Cache-Control', 'public, max-age=300');
    return c.json(ring.jwks);
  });
