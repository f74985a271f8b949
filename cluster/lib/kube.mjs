// A minimal Kubernetes API client for the harness and the cluster tests: node:https with the
// admin's client certificate, JSON in and out. Enough to create namespaces, service accounts,
// RBAC and pods, read events and raw paths (`/openid/v1/jwks`, `/metrics`); no kubectl needed.
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:https';

/**
 * @param {{ server: string, ca: string, cert: string, key: string }} opts file paths
 */
export function kubeClient({ server, ca, cert, key }) {
  const agent = new Agent({ ca: readFileSync(ca), cert: readFileSync(cert), key: readFileSync(key), keepAlive: true });
  const base = new URL(server);

  /** @returns {Promise<{ status: number, body: string, json: any }>} */
  function call(method, path, body, { contentType = 'application/json', accept = 'application/json', timeoutMs = 30_000 } = {}) {
    return new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
      const req = request(
        {
          agent,
          host: base.hostname,
          port: base.port,
          method,
          path,
          headers: { accept, ...(payload ? { 'content-type': contentType, 'content-length': Buffer.byteLength(payload) } : {}) },
          timeout: timeoutMs,
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (d) => (text += d));
          res.on('end', () => {
            let json;
            try {
              json = JSON.parse(text);
            } catch {
              json = undefined;
            }
            resolve({ status: res.statusCode ?? 0, body: text, json });
          });
        },
      );
      req.once('timeout', () => req.destroy(new Error(`${method} ${path}: no answer in ${timeoutMs} ms`)));
      req.once('error', reject);
      req.end(payload);
    });
  }

  /** Like call, but throws unless the status is 2xx (or in `ok`). */
  async function must(method, path, body, { ok = [] } = {}) {
    const res = await call(method, path, body);
    if ((res.status < 200 || res.status > 299) && !ok.includes(res.status)) {
      throw new Error(`${method} ${path}: ${res.status} ${res.body.slice(0, 2000)}`);
    }
    return res.json;
  }

  return {
    call,
    get: (path) => must('GET', path),
    /** A raw path's body, as `kubectl get --raw` reads it (any media type; /openid/v1/jwks is jwk-set+json). */
    raw: async (path) => {
      const res = await call('GET', path, undefined, { accept: '*/*' });
      if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${res.body.slice(0, 500)}`);
      return res.body;
    },
    /** Creates an object; an existing one (409) is left as it is. */
    create: (path, obj) => must('POST', path, obj, { ok: [409] }),
    replace: (path, obj) => must('PUT', path, obj),
    remove: (path, { gracePeriodSeconds } = {}) =>
      must('DELETE', path, gracePeriodSeconds === undefined ? undefined : { kind: 'DeleteOptions', apiVersion: 'v1', gracePeriodSeconds }, { ok: [404] }),
    mergePatch: (path, obj) =>
      call('PATCH', path, obj, { contentType: 'application/merge-patch+json' }).then((r) => {
        if (r.status > 299) throw new Error(`PATCH ${path}: ${r.status} ${r.body.slice(0, 500)}`);
        return r.json;
      }),
    close: () => agent.destroy(),
  };
}
