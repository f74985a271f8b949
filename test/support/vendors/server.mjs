// The loopback HTTP server under each vendor fake: listens on a free port of 127.0.0.1,
// reads request bodies with a limit, and stops completely (open connections and pending
// delayed answers included), so a test that starts a fake can always stop it.
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';

/** A vendor's request is a few KiB (a JWT in a form or JSON body). */
const MAX_BODY_BYTES = 64 * 1024;

/** A marker to put into every body a fake answers with: tests check the edge never repeats it. */
export const canary = (vendor) => `${vendor}-body-${randomBytes(6).toString('hex')}`;

/**
 * @param {(req: import('node:http').IncomingMessage, body: string, res: import('node:http').ServerResponse) => void | Promise<void>} handle
 * @returns {Promise<{ url: string, port: number, later: (ms: number, fn: () => void) => void, stop: () => Promise<void> }>}
 */
export async function startServer(handle) {
  const timers = new Set();
  const server = createServer((req, res) => {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        res.writeHead(413).end();
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      Promise.resolve(handle(req, Buffer.concat(chunks).toString('utf8'), res)).catch((err) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`fake crashed: ${err instanceof Error ? err.message : String(err)}`);
      });
    });
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    /** Runs `fn` after `ms` unless the server stops first. */
    later(ms, fn) {
      const t = setTimeout(() => {
        timers.delete(t);
        fn();
      }, ms);
      timers.add(t);
    },
    async stop() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** Answers JSON with `status` and extra headers. */
export function sendJson(res, status, body, headers = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers }).end(text);
}

/**
 * The failure modes a single-endpoint fake shares (Cloudsmith, Docker Hub, Quay): 'down' (500),
 * 'throttle' (429 with Retry-After `state.retryAfter`), 'garbage' (200 with the JSON body
 * `bodies.garbage[state.garbage]`, or an HTML page when there is none: 'html'), 'slow'
 * (`answer` after `state.slowMs`); any other mode answers now. The bodies are the vendor's own
 * and carry its canary, which tests check the edge never repeats.
 * @param {{ later: (ms: number, fn: () => void) => void }} server
 * @param {{ mode: string, garbage: string, retryAfter: number, slowMs: number, canary: string }} state
 * @param {import('node:http').ServerResponse} res
 * @param {{ down: object, throttle: object, garbage: Record<string, object> }} bodies
 * @param {() => unknown} answer
 */
export function answerInMode(server, state, res, bodies, answer) {
  switch (state.mode) {
    case 'down':
      return sendJson(res, 500, bodies.down);
    case 'throttle':
      return sendJson(res, 429, bodies.throttle, { 'retry-after': String(state.retryAfter) });
    case 'garbage': {
      const body = bodies.garbage[state.garbage];
      if (body) return sendJson(res, 200, body);
      res.writeHead(200, { 'content-type': 'text/html' }).end(`<html><body>${state.canary}</body></html>`);
      return undefined;
    }
    case 'slow':
      server.later(state.slowMs, () => void answer());
      return undefined;
    default:
      return answer();
  }
}
