// A loopback OIDC issuer for Node-side tests and benchmarks: real key pairs, a discovery
// document and a JWKS endpoint that count how often they are fetched, and real signed
// service-account tokens. Behaviour can be switched at run time (fail, swap keys, move the
// JWKS, answer slowly, stream a body without end).
import { createServer } from 'node:http';
import { exportJWK, generateKeyPair } from 'jose';
import { serviceAccountClaims, signServiceAccountToken } from './kit.mjs';

/**
 * @param {{ alg?: 'RS256'|'ES256' }} [opts]
 */
export async function startIssuer(opts = {}) {
  const alg = opts.alg ?? 'RS256';
  const makeKey = async (kid) => {
    const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
    return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
  };
  const state = {
    keys: [await makeKey('key-1')],
    counts: { discovery: 0, jwks: 0 },
    /** HTTP status to answer with instead of the documents, or 0 for normal. */
    failWith: 0,
    /** Override for the discovery document's `issuer` (to test mismatches). */
    discoveryIssuer: /** @type {string | undefined} */ (undefined),
    /** Path of the JWKS the discovery document names; see moveJwks. */
    jwksPath: '/openid/v1/jwks',
    /** Earlier JWKS paths, still served with the public keys they had when moved away from. */
    formerJwks: new Map(),
    /** Bytes of trailing JSON whitespace in the JWKS answer (a large document: slower to parse). */
    jwksPadding: 0,
    /** Holds every answer back this long, ms (a distant or busy API server). */
    delayMs: 0,
    /**
     * Answer 'jwks' or 'discovery' with a body that never ends: `length` 'none' streams with no
     * Content-Length, 'huge' declares 1 TiB. Each such answer adds to `streamed` a promise of the
     * bytes written before the client closed the connection.
     */
    endless: /** @type {{ target: "discovery" | "jwks", length: "none" | "huge" } | undefined} */ (undefined),
    /** @type {Promise<number>[]} */
    streamed: [],
  };
  const server = createServer((req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    const kind = path === '/.well-known/openid-configuration' ? 'discovery' : path === state.jwksPath || state.formerJwks.has(path) ? 'jwks' : undefined;
    if (kind) state.counts[kind]++;
    const answer = () => {
      if (state.failWith) {
        res.writeHead(state.failWith).end('unavailable');
      } else if (kind && state.endless?.target === kind) {
        state.streamed.push(streamWithoutEnd(res, state.endless.length));
      } else if (kind === 'discovery') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(
          JSON.stringify({
            issuer: state.discoveryIssuer ?? issuer.url,
            jwks_uri: `${issuer.url}${state.jwksPath}`,
            response_types_supported: ['id_token'],
            subject_types_supported: ['public'],
            id_token_signing_alg_values_supported: [alg],
          }),
        );
      } else if (kind === 'jwks') {
        const keys = state.formerJwks.get(path) ?? state.keys.map((k) => k.jwk);
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys }) + ' '.repeat(state.jwksPadding));
      } else {
        res.writeHead(404).end();
      }
    };
    const go = () => (state.delayMs ? setTimeout(answer, state.delayMs) : answer());
    if (held) {
      held.arrived();
      held.released.then(go);
    } else go();
  });
  /** While set, every answer waits for release(); see hold(). */
  let held;
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = {
    url: `http://127.0.0.1:${server.address().port}`,
    state,
    get jwksUri() {
      return `${issuer.url}${state.jwksPath}`;
    },
    /** Adds a key (rotation) and returns its kid. */
    async addKey(kid) {
      state.keys.push(await makeKey(kid));
      return kid;
    },
    /** Stops publishing a key (the end of a rotation); tokens it signed no longer verify. */
    removeKey(kid) {
      state.keys = state.keys.filter((k) => k.kid !== kid);
    },
    /**
     * @param {{ namespace?: string, serviceAccount?: string, audience?: string, kid?: string, lifetime?: number, now?: number }} [o]
     */
    async token(o = {}) {
      const ns = o.namespace ?? 'team-a';
      const sa = o.serviceAccount ?? 'builder';
      const key = state.keys.find((k) => k.kid === (o.kid ?? state.keys[0].kid)) ?? state.keys[0];
      const claims = serviceAccountClaims({
        issuer: issuer.url,
        namespace: ns,
        serviceAccount: sa,
        uid: '0b4a7c1e-7e0e-4f5e-9d8c-1a2b3c4d5e6f',
        pod: { name: `${sa}-7f9c`, uid: '5c3e2d1f-0a9b-4c8d-8e7f-6a5b4c3d2e1f' },
        node: { name: 'node-1', uid: '9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a' },
        audience: o.audience,
        now: o.now,
        lifetime: o.lifetime,
      });
      // An unknown kid is signed by a key the issuer never published.
      const privateKey = o.kid && !state.keys.some((k) => k.kid === o.kid) ? (await makeKey(o.kid)).privateKey : key.privateKey;
      return signServiceAccountToken(claims, { privateKey, alg, kid: o.kid ?? key.kid });
    },
    /**
     * Holds every answer back until release(). `requested` settles when the first request
     * arrives while held, so a test can act while that fetch is known to be in flight.
     */
    hold() {
      let arrived, release;
      const requested = new Promise((r) => (arrived = r));
      const released = new Promise((r) => (release = r));
      held = { arrived, released };
      return {
        requested,
        release: () => {
          held = undefined;
          release();
        },
      };
    },
    /**
     * Publishes the JWKS at a new path (and names it in discovery); the old path keeps serving
     * the keys it had, so a key added afterwards is found only at the new one.
     */
    moveJwks(path) {
      state.formerJwks.set(
        state.jwksPath,
        state.keys.map((k) => k.jwk),
      );
      state.formerJwks.delete(path);
      state.jwksPath = path;
      return issuer.jwksUri;
    },
    // closeAllConnections: an endless answer would otherwise keep close() waiting.
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(resolve);
      }),
  };
  return issuer;
}

/** 64 KiB of JSON whitespace: the endless body is valid JSON as far as it goes. */
const FILLER = Buffer.alloc(64 * 1024, 0x20);
/** 1 TiB: a Content-Length no JWKS could ever need. */
const HUGE_LENGTH = 2 ** 40;

/**
 * Writes a body without end, honouring backpressure (so what counts as written is what the
 * socket accepted, plus at most one chunk), until the client closes the connection.
 * Resolves with the bytes written by then.
 */
function streamWithoutEnd(res, length) {
  return new Promise((resolve) => {
    let written = 0;
    let closed = false;
    res.on('close', () => {
      closed = true;
      resolve(written);
    });
    res.writeHead(200, { 'content-type': 'application/json', ...(length === 'huge' ? { 'content-length': String(HUGE_LENGTH) } : {}) });
    const pump = () => {
      while (!closed) {
        written += FILLER.length;
        if (!res.write(FILLER)) return void res.once('drain', pump);
      }
    };
    const head = '{"keys":[';
    written += head.length;
    res.write(head);
    pump();
  });
}

/** A kubelet CredentialProviderRequest. */
export function kubeletRequest(token, image, apiVersion = 'credentialprovider.kubelet.k8s.io/v1') {
  return { apiVersion, kind: 'CredentialProviderRequest', image, serviceAccountToken: token, serviceAccountAnnotations: {} };
}

/** PUT a trust record through the admin API. */
export async function putTrustRecord(edge, name, record) {
  const res = await fetch(`${edge.url}/admin/v1/issuers/${name}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${edge.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify(record),
  });
  if (res.status !== 200 && res.status !== 201) throw new Error(`PUT ${name}: ${res.status} ${await res.text()}`);
  return res.json();
}
