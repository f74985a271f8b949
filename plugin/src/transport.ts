/**
 * POST over node:http / node:https. The plugin starts once per image pull, and the
 * built-in fetch costs ~25 ms of start-up on every one of them (undici is loaded on first
 * use); node:http costs a few. Only what the client needs: status, headers, the body as an
 * async iterable, abort by signal, no redirects (node:http never follows them).
 * NODE_EXTRA_CA_CERTS applies as for any TLS client in Node; so does NODE_USE_ENV_PROXY on
 * the Node versions that support it for node:http (see docs/plugin.md), except for a
 * loopback edge, which is never proxied.
 */
import type { HttpPost, HttpResponse } from './client';
import { isLoopbackHost } from './options';

declare function require(id: 'node:http' | 'node:https'): {
  request(
    url: URL,
    options: { method: string; headers: Record<string, string>; signal?: AbortSignal; agent?: false },
    callback: (res: NodeIncoming) => void,
  ): { on(event: 'error', cb: (err: Error) => void): void; end(body: string): void };
};

interface NodeIncoming extends AsyncIterable<Uint8Array> {
  statusCode?: number;
  headers: Record<string, string | string[] | undefined>;
}

export const nodePost: HttpPost = (url, init) =>
  new Promise<HttpResponse>((resolve, reject) => {
    const target = typeof url === 'string' ? new URL(url) : url;
    const lib = require(target.protocol === 'https:' ? 'node:https' : 'node:http');
    const headers = { ...init.headers, 'content-length': String(new TextEncoder().encode(init.body).byteLength) };
    // The body carries the service-account token, and a proxy must not see what was meant
    // for this machine. Node (>= 24.5, 22.21) gives the proxy settings from the environment
    // to its global agents only (created with `proxyEnv: process.env`); `agent: false` makes
    // a fresh Agent with default options, which has none. Other edges keep the global agent,
    // so HTTPS_PROXY and NO_PROXY apply to them as documented.
    const agent = isLoopbackHost(target.hostname) ? { agent: false as const } : {};
    const req = lib.request(target, { method: 'POST', headers, signal: init.signal, ...agent }, (res) => {
      resolve({
        status: res.statusCode ?? 0,
        headers: {
          get(name: string) {
            const v = res.headers[name.toLowerCase()];
            return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
          },
        },
        body: res,
      });
    });
    req.on('error', reject);
    req.end(init.body);
  });
