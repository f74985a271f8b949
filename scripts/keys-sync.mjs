#!/usr/bin/env node
// `npm run keys-sync`: push a cluster's service-account keys to its trust record on the edge
// (PUT /v1/keys, docs/trust-records.md "Key sync"), once. For CI and for the in-cluster
// CronJob (examples/key-sync/). No admin secret: the push is authenticated by a projected token
// of the record's keySync service account, read from a file.
//
// Node >= 18 built-ins only; the chart's CronJob runs it inside the bundled CLI
// (`ecp keys-sync`, dist/cli/ecp.mjs). Exit codes: 0 pushed (changed or confirmed), 1 error or refusal.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { parseArgs } from 'node:util';

/** Where a pod's own service-account credentials are (the API server's CA and a token that may read /openid/v1/jwks). */
const POD_SA = '/var/run/secrets/kubernetes.io/serviceaccount';
const DEFAULT_TOKEN_FILE = '/var/run/secrets/edge-key-sync/token';
/** The API server's JWKS is a few KiB; the edge takes at most 32 KiB. */
const MAX_JWKS_BYTES = 32 * 1024;
/** A projected token is 1-2 KiB; the edge reads at most 16 KiB. */
const MAX_TOKEN_BYTES = 16 * 1024;
/** Each request may take this long, ms. */
const TIMEOUT_MS = 15_000;

const USAGE = `usage: npm run keys-sync -- [--jwks-from in-cluster|kubectl|FILE] [--token-file FILE] [--edge URL]

Reads the cluster's keys (the API server's /openid/v1/jwks) and pushes them to the edge.

  --jwks-from   in-cluster  GET https://$KUBERNETES_SERVICE_HOST/openid/v1/jwks with the pod's
                            service-account token and CA (default inside a pod)
                kubectl     kubectl get --raw /openid/v1/jwks (default elsewhere; KUBECONFIG applies)
                FILE        a JWKS file ({"keys": [...]})
  --token-file  a token of the record's keySync account with its audience: a projected token
                (default $KEY_SYNC_TOKEN_FILE, else ${DEFAULT_TOKEN_FILE}),
                or in CI: kubectl create token NAME -n NAMESPACE --audience AUDIENCE > FILE
  --edge        the edge's URL (default $EDGE_URL); https, plain http only to loopback`;

class Failure extends Error {}

/** Text from elsewhere (the edge, the API server), printable on one line. */
const printable = (v, max = 300) =>
  String(v)
    .replace(/[^\x20-\x7e]/g, '?')
    .slice(0, max);

function edgeUrl(raw) {
  if (!raw) throw new Failure('set EDGE_URL or --edge (the edge, e.g. https://ecp.example.com)');
  let url;
  try {
    url = new URL(raw);
  } catch {
    throw new Failure('the edge URL is not a URL');
  }
  const loopback = ['127.0.0.1', '[::1]', 'localhost'].includes(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback))
    throw new Failure('the edge URL must be https (plain http only to loopback): the token is sent to it');
  if (url.username || url.password || url.search) throw new Failure('the edge URL may hold no credentials or query');
  return url.href.replace(/\/+$/, '');
}

function readBounded(file, max, what) {
  let text;
  try {
    text = readFileSync(file);
  } catch (err) {
    throw new Failure(`${what} ${file}: ${err.code ?? err.message}`);
  }
  if (text.length > max) throw new Failure(`${what} ${file} is over ${max} bytes`);
  return text.toString('utf8');
}

/** GET /openid/v1/jwks from inside a pod, with its own token and the cluster's CA. */
function inClusterJwks(env) {
  const host = env.KUBERNETES_SERVICE_HOST;
  if (!host) throw new Failure('--jwks-from in-cluster: KUBERNETES_SERVICE_HOST is not set (not in a pod?)');
  const token = readBounded(`${POD_SA}/token`, MAX_TOKEN_BYTES, "the pod's token").trim();
  const ca = readBounded(`${POD_SA}/ca.crt`, 1024 * 1024, 'the cluster CA');
  return new Promise((resolve, reject) => {
    const req = request(
      { host, port: env.KUBERNETES_SERVICE_PORT ?? 443, path: '/openid/v1/jwks', ca, headers: { authorization: `Bearer ${token}` }, timeout: TIMEOUT_MS },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d) => {
          body += d;
          if (body.length > MAX_JWKS_BYTES) req.destroy(new Failure(`the API server's JWKS is over ${MAX_JWKS_BYTES} bytes`));
        });
        res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Failure(`GET /openid/v1/jwks: ${res.statusCode} ${printable(body, 200)}`))));
      },
    );
    req.on('timeout', () => req.destroy(new Failure('GET /openid/v1/jwks timed out')));
    req.on('error', (err) => reject(err instanceof Failure ? err : new Failure(`GET /openid/v1/jwks: ${err.code ?? err.message}`)));
    req.end();
  });
}

function kubectlJwks() {
  try {
    return execFileSync('kubectl', ['get', '--raw', '/openid/v1/jwks'], {
      encoding: 'utf8',
      maxBuffer: MAX_JWKS_BYTES,
      timeout: TIMEOUT_MS,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (err) {
    throw new Failure(`kubectl get --raw /openid/v1/jwks: ${printable(err.stderr || err.code || err.message)}`);
  }
}

async function readJwks(source, env) {
  const text = source === 'in-cluster' ? await inClusterJwks(env) : source === 'kubectl' ? kubectlJwks() : readBounded(source, MAX_JWKS_BYTES, 'JWKS file');
  let jwks;
  try {
    jwks = JSON.parse(text);
  } catch {
    throw new Failure(`the JWKS from ${source} is not JSON`);
  }
  if (!Array.isArray(jwks?.keys) || jwks.keys.length === 0) throw new Failure(`the JWKS from ${source} holds no keys`);
  return { keys: jwks.keys };
}

async function run(argv, env = process.env, out = process.stdout) {
  const { values } = parseArgs({
    args: argv,
    options: { 'jwks-from': { type: 'string' }, 'token-file': { type: 'string' }, edge: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    out.write(`${USAGE}\n`);
    return 0;
  }
  const edge = edgeUrl(values.edge ?? env.EDGE_URL);
  const tokenFile = values['token-file'] ?? env.KEY_SYNC_TOKEN_FILE ?? DEFAULT_TOKEN_FILE;
  // Read each time: the kubelet rotates a projected token's file in place.
  const token = readBounded(tokenFile, MAX_TOKEN_BYTES, 'token file').trim();
  if (!token) throw new Failure(`token file ${tokenFile} is empty`);
  const source = values['jwks-from'] ?? (env.KUBERNETES_SERVICE_HOST ? 'in-cluster' : 'kubectl');
  const jwks = await readJwks(source, env);

  let res;
  try {
    res = await fetch(`${edge}/v1/keys`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ jwks }),
      redirect: 'error',
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (err) {
    throw new Failure(`PUT ${edge}/v1/keys: ${err.cause?.code ?? err.name}`);
  }
  let body;
  try {
    body = await res.json();
  } catch {
    body = undefined;
  }
  if (res.status !== 200) {
    const issues = Array.isArray(body?.issues)
      ? `\n    ${body.issues
          .slice(0, 20)
          .map((i) => printable(i))
          .join('\n    ')}`
      : '';
    throw new Failure(`the edge refused the keys: ${res.status} ${printable(body?.error ?? '')} ${printable(body?.message ?? '')}${issues}`);
  }
  const kids = Array.isArray(body?.keys) ? body.keys.map((k) => printable(k, 80)).join(', ') : '';
  const what = body?.changed ? `keys changed${body.version ? ` (version ${printable(body.version, 12)})` : ''}` : 'keys unchanged, confirmed';
  out.write(`keys-sync: record ${printable(body?.record ?? '?', 63)}: ${what}; keys: ${kids}\n`);
  return 0;
}

// Runs when loaded, as records.mjs does: the bundled CLI (scripts/ecp.mjs) loads it to run it. No
// check that this file is argv[1]: from a ConfigMap volume (a symlink into ..data/) the module's
// URL is the real path and argv[1] the link, and such a check would exit 0 having done nothing.
run(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`keys-sync: ${err instanceof Failure ? err.message : (err?.message ?? err)}\n`);
    process.exit(1);
  },
);
