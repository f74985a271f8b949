/**
 * What "loopback" means, once for the edge (the plugin holds the same rule in
 * plugin/src/options.ts; test/unit/net.test.ts runs both over one table). Plain http is
 * allowed only to hosts that never leave the machine: 127.0.0.0/8, ::1 and localhost.
 */

const IPV4_LOOPBACK = /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;

/** A URL's `hostname` (IPv6 in brackets, as WHATWG URL gives it) that never leaves the machine. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase();
  return host === 'localhost' || host === '[::1]' || IPV4_LOOPBACK.test(host);
}

/** https, or plain http to a loopback host (local development). Any string; false if not a URL. */
export function isHttpsOrLoopback(u: string): boolean {
  const url = URL.parse(u);
  return url !== null && (url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackHost(url.hostname)));
}

/**
 * Why `issuer` cannot serve as the edge's OpenID Connect issuer, or undefined. Vendors fetch
 * `<iss>/.well-known/openid-configuration`, and the edge serves it at the root only: an https
 * origin (http for loopback, in development), with no path, query or fragment.
 */
export function oidcIssuerProblem(issuer: string): string | undefined {
  if (!isHttpsOrLoopback(issuer)) return 'EDGE_ISSUER is not an https URL';
  const url = new URL(issuer);
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash || url.username || url.password)
    return 'EDGE_ISSUER has a path, query or credentials';
  return undefined;
}
