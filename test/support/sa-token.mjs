// Service-account tokens as the API server's TokenRequest issues them, for tests and
// benchmarks, in workerd and Node alike: one claims shape, signed with real keys.
import { SignJWT } from 'jose';

export const AUDIENCE = 'edge-credential-provider';

/**
 * Claims of a token bound to a pod of `namespace/serviceAccount`. `pod` and `node` default to
 * fixed test values; pass `null` to leave either out. `now` is seconds since the epoch.
 * @param {{ issuer: string, namespace?: string, serviceAccount?: string, uid?: string,
 *   pod?: { name: string, uid: string } | null, node?: { name: string, uid: string } | null,
 *   audience?: string, now?: number, lifetime?: number }} o
 */
export function serviceAccountClaims(o) {
  const namespace = o.namespace ?? 'team-a';
  const serviceAccount = o.serviceAccount ?? 'builder';
  const now = o.now ?? Math.floor(Date.now() / 1000);
  const pod = o.pod === undefined ? { name: `${serviceAccount}-pod`, uid: '99999999-8888-7777-6666-555555555555' } : o.pod;
  const node = o.node === undefined ? { name: 'node-1', uid: 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee' } : o.node;
  return {
    iss: o.issuer,
    sub: `system:serviceaccount:${namespace}:${serviceAccount}`,
    aud: [o.audience ?? AUDIENCE],
    iat: now,
    nbf: now,
    exp: now + (o.lifetime ?? 3600),
    jti: crypto.randomUUID(),
    'kubernetes.io': {
      namespace,
      serviceaccount: { name: serviceAccount, uid: o.uid ?? '11111111-2222-3333-4444-555555555555' },
      ...(pod ? { pod } : {}),
      ...(node ? { node } : {}),
    },
  };
}

/**
 * Signs claims as a cluster issuer does (header alg, kid, typ JWT).
 * @param {Record<string, unknown>} claims
 * @param {{ privateKey: CryptoKey, alg: string, kid?: string }} key
 */
export function signServiceAccountToken(claims, key) {
  return new SignJWT(claims).setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT' }).sign(key.privateKey);
}
