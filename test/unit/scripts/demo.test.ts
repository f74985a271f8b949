/**
 * `npm run demo` with no edge to talk to: one line that says where it looked and how to start
 * the edge, exit code 1, never a stack trace.
 */
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SCRIPT = fileURLToPath(new URL('../../../scripts/demo.mjs', import.meta.url));

/** A loopback port nothing listens on: one the kernel handed out and was closed again. */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as { port: number };
  await new Promise((r) => srv.close(r));
  return port;
}

describe('npm run demo', () => {
  it('says there is no edge at the URL and how to start one, instead of a stack trace', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const r = spawnSync(process.execPath, [SCRIPT], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '', EDGE_URL: url, ADMIN_TOKEN: 'x' },
      timeout: 30_000,
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`demo: no edge at ${url} (ECONNREFUSED); start it with \`npm start\`, or set EDGE_URL to where it runs\n`);
    expect(r.stdout).toBe('');
  });
});
