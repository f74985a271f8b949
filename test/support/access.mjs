// A loopback Cloudflare Access "team": serves its signing keys at /cdn-cgi/access/certs (the
// documented shape: `keys` as JWKs, `public_cert` and `public_certs` as PEM) and signs
// application tokens as Access does: RS256, `iss` = the team domain, `aud` = [the
// application's AUD tag], `email` (users) or `common_name` (service tokens), `sub`, `exp`.
import { createServer } from 'node:http';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';

/**
 * @returns {Promise<{ url: string, aud: string, certsFetched: () => number, token: (o?: { email?: string, commonName?: string, aud?: string | string[], exp?: number, iss?: string, foreignKey?: boolean }) => Promise<string>, stop: () => Promise<void> }>}
 */
export async function startAccessTeam({ aud = `aud-${crypto.randomUUID().replaceAll('-', '')}` } = {}) {
  const key = await generateKeyPair('RS256', { extractable: true });
  const kid = crypto.randomUUID().replaceAll('-', '');
  const jwk = { ...(await exportJWK(key.publicKey)), kid, alg: 'RS256', use: 'sig' };
  let fetched = 0;
  const server = createServer((req, res) => {
    if (req.url === '/cdn-cgi/access/certs') {
      fetched++;
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ keys: [jwk], public_cert: { kid, cert: '' }, public_certs: [{ kid, cert: '' }] }));
    } else res.writeHead(404).end();
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(undefined)));
  const { port } = /** @type {import('node:net').AddressInfo} */ (server.address());
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    aud,
    certsFetched: () => fetched,
    async token(o = {}) {
      const now = Math.floor(Date.now() / 1000);
      const signer = o.foreignKey ? (await generateKeyPair('RS256')).privateKey : key.privateKey;
      return new SignJWT({
        type: 'app',
        ...(o.commonName ? { common_name: o.commonName } : { email: o.email ?? 'alice@example.com' }),
        identity_nonce: crypto.randomUUID(),
        country: 'NL',
      })
        .setProtectedHeader({ alg: 'RS256', kid })
        .setIssuer(o.iss ?? url)
        .setAudience(o.aud ?? [aud])
        .setSubject(crypto.randomUUID())
        .setIssuedAt(now)
        .setNotBefore(now)
        .setExpirationTime(o.exp ?? now + 3600)
        .sign(signer);
    },
    stop: () => new Promise((resolve) => server.close(() => resolve(undefined))),
  };
}
