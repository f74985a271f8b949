/**
 * A private CA and a server certificate for loopback HTTPS tests, made with the openssl CLI
 * in a temporary directory (Node has no X.509 issuing API). Missing openssl fails the test.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestPki {
  dir: string;
  caFile: string;
  key: string;
  cert: string;
  cleanup(): void;
}

export function makePki(hostnames: string[]): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'ecp-pki-'));
  const f = (name: string) => join(dir, name);
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  ssl(
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    f('ca.key'),
    '-out',
    f('ca.pem'),
    '-days',
    '2',
    '-subj',
    '/CN=edge-credential-provider test CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign',
  );
  ssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', '/CN=edge');
  const san = hostnames.map((h) => (/^[\d.]+$/.test(h) ? `IP:${h}` : `DNS:${h}`)).join(',');
  writeFileSync(f('ext.cnf'), `subjectAltName=${san}\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n`);
  ssl(
    'x509',
    '-req',
    '-in',
    f('server.csr'),
    '-CA',
    f('ca.pem'),
    '-CAkey',
    f('ca.key'),
    '-CAcreateserial',
    '-out',
    f('server.pem'),
    '-days',
    '2',
    '-extfile',
    f('ext.cnf'),
  );
  return {
    dir,
    caFile: f('ca.pem'),
    key: readFileSync(f('server.key'), 'utf8'),
    cert: readFileSync(f('server.pem'), 'utf8'),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** An HTTPS edge on 127.0.0.1 that grants `body()` to every request, counting them. */
export async function startTlsEdge(pki: TestPki, body: () => unknown) {
  const { createServer } = await import('node:https');
  const { listen } = await import('./servers');
  const state = { requests: 0 };
  const server = createServer({ key: pki.key, cert: pki.cert }, (req, res) => {
    state.requests++;
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body()));
    });
  });
  return { state, ...(await listen(server)) };
}

/**
 * An HTTP proxy on 127.0.0.1 that records everything sent to it: every CONNECT is tunnelled
 * to 127.0.0.1:`targetPort`; a plain proxied request ("POST http://host/path", what
 * HTTP_PROXY gets) is recorded and answered 502, never forwarded.
 */
export async function startConnectProxy(targetPort: number) {
  const { createServer } = await import('node:http');
  const { connect } = await import('node:net');
  const { listen } = await import('./servers');
  const connects: string[] = [];
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    req.resume();
    res.writeHead(502);
    res.end();
  });
  server.on('connect', (req, client, head) => {
    connects.push(req.url ?? '');
    const upstream = connect(targetPort, '127.0.0.1', () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  return { connects, requests, ...(await listen(server)) };
}
