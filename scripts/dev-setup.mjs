// `npm start [-- --port N] [-- other wrangler dev flags]`: first-run setup, then the local edge.
// Creates .dev.vars (git-ignored) with a dev signing key ring and an admin token if it does not
// exist yet, and says how to use them; later runs keep the file, so the keys and token stay
// stable across restarts. Then runs `wrangler dev --local` on 127.0.0.1:N (default 8787) with
// EDGE_ISSUER set to that URL, and records the URL for `npm run demo` and `npm run records`.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { constants } from 'node:os';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_PORT, DEV_EDGE_URL_FILE, DEV_VARS, devEdgeUrl } from './lib/dev-edge.mjs';
import { generateAdminToken, generateKeyRing } from './lib/keys.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const WRANGLER = fileURLToPath(new URL('../node_modules/wrangler/bin/wrangler.js', import.meta.url));

/**
 * `--port N` / `--port=N` taken out of the arguments (wrangler gets the rest).
 * @returns {{ port: number, rest: string[] } | { error: string }}
 */
export function startArgs(argv) {
  const rest = [];
  let port = DEFAULT_PORT;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--port' || arg.startsWith('--port=')) {
      const value = arg === '--port' ? argv[++i] : arg.slice('--port='.length);
      const n = Number(value);
      if (!/^\d+$/.test(value ?? '') || n < 1 || n > 65535) return { error: `--port takes a TCP port, 1 to 65535 (got ${value ?? 'nothing'})` };
      port = n;
    } else if (arg === '--ip' || arg.startsWith('--ip=') || arg === '--var' || arg.startsWith('--var=')) {
      return { error: `${arg.split('=')[0]} is set by npm start (127.0.0.1, EDGE_ISSUER); run wrangler dev yourself to change it` };
    } else rest.push(arg);
  }
  return { port, rest };
}

/** What to tell the user once the edge's URL is known. */
export function hints(url) {
  return [
    `The edge: ${url} (EDGE_ISSUER ${url}).`,
    'Try it, in another terminal:',
    '  npm run demo          # finds this edge by itself',
    `  curl -H "Authorization: Bearer <admin token>" ${url}/admin/v1/issuers`,
  ];
}

function setUp() {
  if (!existsSync(DEV_VARS)) {
    const ring = generateKeyRing();
    const adminToken = generateAdminToken();
    writeFileSync(
      DEV_VARS,
      [
        '# Local development secrets, made by scripts/dev-setup.mjs. Never commit this file.',
        `EDGE_SIGNING_KEYS='${JSON.stringify(ring)}'`,
        `ADMIN_TOKEN='${adminToken}'`,
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    console.log(`Created .dev.vars with a dev signing key (kid ${ring.active}) and an admin token.`);
    console.log(`Admin token (shown once; it stays in .dev.vars): ${adminToken}`);
  } else {
    console.log('Using existing .dev.vars (delete it to make new dev keys and admin token).');
    const ring = /^EDGE_SIGNING_KEYS='(.*)'$/m.exec(readFileSync(DEV_VARS, 'utf8'))?.[1];
    try {
      if (ring && JSON.parse(ring).keys.some((k) => !k.certificate)) {
        console.log('Its signing keys have no certificate, which registries need: npm run keys -- certify --ring .dev.vars');
      }
    } catch {
      console.log('Its EDGE_SIGNING_KEYS is not valid JSON; delete .dev.vars to start over.');
    }
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = startArgs(process.argv.slice(2));
  if ('error' in args) {
    console.error(`npm start: ${args.error}`);
    process.exit(2);
  }
  setUp();
  const url = devEdgeUrl(args.port);
  mkdirSync(dirname(DEV_EDGE_URL_FILE), { recursive: true });
  writeFileSync(DEV_EDGE_URL_FILE, `${url}\n`);
  for (const line of hints(url)) console.log(line);
  // wrangler's JS entry on this Node: under `npm start` that is the pinned Node 24.
  const child = spawn(
    process.execPath,
    [WRANGLER, 'dev', '--local', '--ip', '127.0.0.1', '--port', String(args.port), '--var', `EDGE_ISSUER:${url}`, ...args.rest],
    { cwd: ROOT, stdio: 'inherit', env: { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: 'false', WRANGLER_SEND_METRICS: 'false' } },
  );
  // A terminal's Ctrl-C reaches wrangler itself (same process group): passing it on too would be
  // a second Ctrl-C. Waiting for wrangler to exit is enough. Other signals are passed on.
  process.on('SIGINT', () => {});
  for (const signal of ['SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => process.exit(code ?? 128 + (constants.signals[signal] ?? 0)));
}
