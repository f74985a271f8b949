/**
 * Public, unauthenticated endpoints: health, the edge's public signing keys, and the
 * certificate bundle a registry's `auth.token.rootcertbundle` needs.
 */
import { Hono } from 'hono';
import { NotFound } from '../errors';
import { loadKeyRing } from '../signing/keys';
import type { AppEnv } from './types';

function toPem(base64Der: string): string {
  return `-----BEGIN CERTIFICATE-----\n${base64Der.match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----\n`;
}

export const wellKnown = new Hono<AppEnv>()
  .get('/healthz', (c) => c.json({ ok: true }))
  .get('/.well-known/jwks.json', async (c) => {
    const ring = await loadKeyRing(c.env.EDGE_SIGNING_KEYS);
    c.header('Cache-Control', 'public, max-age=300');
    return c.json(ring.jwks);
  })
  .get('/.well-known/registry-certs.pem', async (c) => {
    const ring = await loadKeyRing(c.env.EDGE_SIGNING_KEYS);
    // Active key first, then the retiring ones: the registry must trust all of them
    // until tokens signed by a retiring key have expired.
    const certs = ring.keys.flatMap((k) => (k.certificate ? [k.certificate] : []));
    if (certs.length === 0) throw new NotFound({ detail: 'the key ring has no certificates' });
    c.header('Content-Type', 'application/x-pem-file');
    c.header('Cache-Control', 'public, max-age=300');
    return c.body(certs.map(toPem).join(''));
  });
