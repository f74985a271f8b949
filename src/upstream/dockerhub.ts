/**
 * Docker Hub OIDC connections (Team and Business plans), an RFC 8693 token exchange:
 *
 *   POST https://identity.docker.com/oauth/token   form
 *        grant_type=urn:ietf:params:oauth:grant-type:token-exchange,
 *        subject_token_type=urn:ietf:params:oauth:token-type:id_token,
 *        subject_token=<workload token, aud https://identity.docker.com>,
 *        connection_id=<connection>, expires_in=<300..3600>
 *   →    {"access_token"}                   4xx {"message"} when refused
 *
 * Docker: username the organisation, password the access token. The answer carries no
 * lifetime: a JWT's own `exp` is used if the token is one, else the `expires_in` the edge
 * asked for, counted from before the request was sent.
 */
import type { VendorCredential } from './cache';
import { answerObject, FORM_REQUEST, jwtExpiry, stringField, vendorCall, vendorFailure } from './http';
import { DOCKER_IDENTITY, type DockerHubUpstream } from './vendors';

const VENDOR = 'Docker Hub';

export async function dockerHubCredential(u: DockerHubUpstream, workloadToken: string, now: number, fetchFn: typeof fetch): Promise<VendorCredential> {
  const base = (u.endpoint ?? DOCKER_IDENTITY).replace(/\/+$/, '');
  const answer = await vendorCall(
    VENDOR,
    new Request(`${base}/oauth/token`, {
      method: 'POST',
      headers: FORM_REQUEST,
      body: new URLSearchParams({
        grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
        subject_token_type: 'urn:ietf:params:oauth:token-type:id_token',
        subject_token: workloadToken,
        connection_id: u.connectionId,
        expires_in: String(u.expiresIn),
      }).toString(),
    }),
    fetchFn,
  );
  if (answer.status !== 200) {
    vendorFailure(VENDOR, answer, `check OIDC connection ${u.connectionId} of ${u.organization} (issuer = the edge's issuer, its subject rules)`);
  }
  const token = stringField(VENDOR, answerObject(VENDOR, answer.body), 'access_token');
  return { username: u.organization, password: token, expiresAt: Math.min(jwtExpiry(token) ?? Infinity, now + u.expiresIn) };
}
