/**
 * Loopback HTTP servers that play a misbehaving edge. Each records what it was sent; every
 * server a test starts, the test closes.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
  /** performance.now() when the request arrived. */
  at: number;
}

export interface FakeEdge {
  url: string;
  port: number;
  seen: Seen[];
  close(): Promise<void>;
}

export type Handler = (req: Seen, res: ServerResponse, n: number) => void;

export async function listen(server: Server): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** An edge on 127.0.0.1 whose answers `handler` writes; `n` counts requests from 1. */
export async function fakeEdge(handler: Handler): Promise<FakeEdge> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    const at = performance.now();
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      const s: Seen = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body, at };
      seen.push(s);
      handler(s, res, seen.length);
    });
  });
  const { port, close } = await listen(server);
  return { url: `http://127.0.0.1:${port}`, port, seen, close };
}

export function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** A well-formed edge answer for `apiVersion`. */
export function grant(apiVersion: string, extra: Record<string, unknown> = {}) {
  return {
    apiVersion,
    kind: 'CredentialProviderResponse',
    cacheKeyType: 'Image',
    cacheDuration: '55m0s',
    auth: { 'registry.test:5000': { username: 'team-a/builder', password: PASSWORD } },
    ...extra,
  };
}

/** Shaped like the edge's credentials (a JWT), so the JWT mask and the exact match both count. */
export const PASSWORD = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ0ZWFtLWEvYnVpbGRlciJ9.c2lnbmF0dXJlLW9mLXRoZS1lZGdl';
/** A service-account token as the kubelet would send it. */
export const TOKEN = 'eyJhbGciOiJSUzI1NiIsImtpZCI6InJzYS0xIn0.eyJpc3MiOiJodHRwczovL2s4cy50ZXN0In0.dG9rZW4tc2lnbmF0dXJl';
