/**
 * POST over node:http / node:https. The plugin starts once per image pull, and the
 * built-in fetch costs ~25 ms of start-up on every one of them (undici is loaded on first
 * use); node:http costs a few. Only what the client needs: status, headers, the body as an
 * async iterable, abort by signal, no redirects (node:http never follows them).
 * NODE_EXTRA_CA_CERTS applies as for any TLS client in Node; so does NODE_USE_ENV_PROXY on
 * the Node versions that support it for node:http (see docs/plugin.md).
 */
import type { HttpPost, HttpResponse } from './client';

declare function require(id: 'node:http' | 'node:https'): {
  request(
    url: URL,
    options: { method: string; headers: Record<string, string>; signal?: AbortSignal },
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
    const req = lib.request(target, { method: 'POST', headers, signal: init.signal }, (res) => {
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
