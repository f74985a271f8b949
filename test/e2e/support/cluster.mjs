// The Kubernetes side, simulated with real keys (the fixture kit's cluster): service-account
// tokens shaped like the API server's TokenRequest output, the kubelet's
// request to the exec plugin, and the plugin run as the kubelet runs it.
import { spawn } from 'node:child_process';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { importJWK, SignJWT } from 'jose';
import { AUDIENCE, API_VERSION, kubeletRequest, makeCluster as makeTestCluster } from '../../support/kit.mjs';

export const PLUGIN = fileURLToPath(new URL('../../../plugin/dist/edge-credential-provider', import.meta.url));
export { AUDIENCE, API_VERSION, kubeletRequest };

/** The kit's cluster, with per-account uids and no node claim (a static pod's shape is elsewhere). */
export async function makeCluster(issuer = 'https://cluster.e2e.test') {
  const cluster = await makeTestCluster({ issuer });
  return {
    issuer,
    jwks: cluster.jwks,
    /** A bound service-account token for a pod of `namespace/serviceAccount`. */
    token({ namespace, serviceAccount, lifetime = 3600 }) {
      return cluster.token({
        namespace,
        serviceAccount,
        uid: `uid-${namespace}-${serviceAccount}`,
        pod: { name: `${serviceAccount}-pod`, uid: `pod-uid-${namespace}-${serviceAccount}` },
        node: null,
        lifetime,
      });
    },
  };
}

/**
 * Executes the built plugin as the kubelet does: the file itself (shebang, mode 0755), the
 * request on stdin, the provider config's args. Node on PATH is the one running this suite.
 * @returns {Promise<{ code: number | null, stdout: string, stderr: string }>}
 */
export function runPlugin(edgeUrl, request) {
  return new Promise((resolve, reject) => {
    const child = spawn(PLUGIN, ['--url', edgeUrl], {
      env: { PATH: `${dirname(process.execPath)}:${process.env.PATH}` },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000); // the kubelet's hard limit
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.on('error', () => {}); // a command that exits without reading its stdin: its exit code tells
    child.stdin.end(JSON.stringify(request));
  });
}

/**
 * An edge credential signed with the edge's own key but already expired: the same header
 * and claims shape as src/registry/credential.ts mints (typ ecp-credential+jwt, kid, iss,
 * sub, aud = the edge's token endpoint, iat, nbf, exp, jti, ecp.{identity, registry, service, rule, grants}).
 */
export async function forgeCredential(keyRing, { edgeIssuer, cluster, rule, service, registry, namespace, serviceAccount, grants, iat, exp }) {
  const active = keyRing.keys.find((k) => k.kid === keyRing.active);
  const key = await importJWK({ ...active.privateJwk, alg: 'ES256' }, 'ES256');
  const password = await new SignJWT({
    ecp: {
      cluster,
      namespace,
      serviceaccount: { name: serviceAccount, uid: `uid-${namespace}-${serviceAccount}` },
      registry,
      service,
      rule,
      grants,
    },
  })
    .setProtectedHeader({ alg: 'ES256', kid: active.kid, typ: 'ecp-credential+jwt' })
    .setIssuer(edgeIssuer)
    .setSubject(`system:serviceaccount:${namespace}:${serviceAccount}`)
    .setAudience('urn:edge-credential-provider:token-endpoint')
    .setIssuedAt(iat)
    .setNotBefore(iat)
    .setExpirationTime(exp)
    .setJti(crypto.randomUUID())
    .sign(key);
  return { username: `${namespace}/${serviceAccount}`, password };
}
