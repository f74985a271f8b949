/**
 * Cloudsmith (docs.cloudsmith.com, "OpenID Connect"; API `openid/{owner}`): the workload
 * token for a Cloudsmith service account's API token, a JWT of about 90 to 120 minutes.
 *
 *   POST <api>/openid/<organization>/   {"oidc_token": <workload token>, "service_slug": <service account>}
 *   →    {"token": "<JWT>"}
 *
 * Docker: username `token`, password the JWT. Cloudsmith fetches the edge's discovery
 * document and JWKS itself, and matches the provider setting's required claims exactly.
 */
import type { VendorCredential } from './cache';
import { answerObject, garbage, JSON_REQUEST, jwtExpiry, stringField, vendorCall, vendorFailure } from './http';
import { cloudsmithBase, type CloudsmithUpstream } from './vendors';

const VENDOR = 'Cloudsmith';

export async function cloudsmithCredential(u: CloudsmithUpstream, workloadToken: string, fetchFn: typeof fetch): Promise<VendorCredential> {
  const url = `${cloudsmithBase(u)}/openid/${encodeURIComponent(u.organization)}/`;
  const answer = await vendorCall(
    VENDOR,
    new Request(url, {
      method: 'POST',
      headers: JSON_REQUEST,
      body: JSON.stringify({ oidc_token: workloadToken, service_slug: u.serviceAccount }),
    }),
    fetchFn,
  );
  if (answer.status !== 200 && answer.status !== 201) {
    const cause =
      answer.status === 404
        ? `no organization "${u.organization}" or service account "${u.serviceAccount}" there`
        : "check its OIDC provider setting (provider URL = the edge's issuer, required claims such as sub and aud) and the service account it maps to";
    vendorFailure(VENDOR, answer, cause);
  }
  const token = stringField(VENDOR, answerObject(VENDOR, answer.body), 'token');
  // The lifetime is the token's own `exp`, never an assumption.
  const expiresAt = jwtExpiry(token);
  if (expiresAt === undefined) garbage(VENDOR, 'token is not a JWT with exp');
  return { username: 'token', password: token, expiresAt };
}
