/**
 * Google Artifact Registry through Workload Identity Federation (Google STS, RFC 8693), with
 * optional service-account impersonation (IAM Credentials generateAccessToken):
 *
 *   POST https://sts.googleapis.com/v1/token   JSON {grant_type: token-exchange, audience:
 *        //iam.googleapis.com/<provider>, scope: cloud-platform, requested_token_type: access_token,
 *        subject_token: <workload token>, subject_token_type: jwt}          (no Authorization)
 *   →    {access_token, issued_token_type, token_type: "Bearer", expires_in}
 *   POST https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/<sa>:generateAccessToken
 *        Authorization: Bearer <federated token>   {scope: [cloud-platform], lifetime: "<n>s"}
 *   →    {accessToken, expireTime (RFC 3339)}
 *
 * Docker: username `oauth2accesstoken`, password the access token. Without a service account
 * the federated token itself is the password: Artifact Registry grants federated principals
 * (`principal://iam.googleapis.com/…/subject/<sub>`) directly.
 */
import type { VendorCredential } from './cache';
import { answerObject, errorObject, garbage, JSON_REQUEST, safeCode, stringField, vendorCall, vendorFailure } from './http';
import { garProviderAudience, type GarUpstream } from './vendors';

const STS = 'Google STS';
const IAM = 'Google IAM Credentials';
const CLOUD_PLATFORM = 'https://www.googleapis.com/auth/cloud-platform';
export const GAR_USERNAME = 'oauth2accesstoken';

const stsBase = (u: GarUpstream) => (u.stsEndpoint ?? 'https://sts.googleapis.com').replace(/\/+$/, '');
const iamBase = (u: GarUpstream) => (u.iamEndpoint ?? 'https://iamcredentials.googleapis.com').replace(/\/+$/, '');

/** Google's error code: `{"error": "invalid_grant"}` (STS) or `{"error": {"status": "PERMISSION_DENIED"}}` (IAM). */
function googleCode(body: string): string | undefined {
  const error = errorObject(body).error;
  if (typeof error === 'string') return safeCode(error);
  if (typeof error === 'object' && error !== null) return safeCode(String((error as { status?: unknown }).status ?? ''));
  return undefined;
}

/** RFC 3339 with up to nanoseconds, as Google writes it, to seconds since the epoch. */
export function rfc3339Seconds(text: string): number | undefined {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(text)) return undefined;
  const ms = Date.parse(text.replace(/(\.\d{3})\d+/, '$1'));
  return Number.isFinite(ms) ? Math.floor(ms / 1000) : undefined;
}

async function exchange(u: GarUpstream, workloadToken: string, now: number, fetchFn: typeof fetch): Promise<{ token: string; expiresAt: number }> {
  const answer = await vendorCall(
    STS,
    new Request(`${stsBase(u)}/v1/token`, {
      method: 'POST',
      headers: JSON_REQUEST,
      body: JSON.stringify({
        grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
        audience: garProviderAudience(u),
        scope: CLOUD_PLATFORM,
        requested_token_type: 'urn:ietf:params:oauth:token-type:access_token',
        subject_token: workloadToken,
        subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
      }),
    }),
    fetchFn,
  );
  if (answer.status !== 200) {
    vendorFailure(
      STS,
      answer,
      `check the workload identity provider ${u.workloadIdentityProvider} (issuer = the edge's issuer, allowed audiences, attribute condition)`,
      googleCode(answer.body),
    );
  }
  const body = answerObject(STS, answer.body);
  const token = stringField(STS, body, 'access_token');
  const expiresIn = body.expires_in;
  if (typeof expiresIn !== 'number' || !Number.isFinite(expiresIn) || expiresIn <= 0) garbage(STS, 'answer has no expires_in');
  return { token, expiresAt: now + Math.floor(expiresIn) };
}

async function impersonate(u: GarUpstream, serviceAccount: string, federated: string, fetchFn: typeof fetch): Promise<{ token: string; expiresAt: number }> {
  // The schema's pattern for the e-mail ([a-z0-9.-@] only) keeps it a single path segment as written.
  const answer = await vendorCall(
    IAM,
    new Request(`${iamBase(u)}/v1/projects/-/serviceAccounts/${serviceAccount}:generateAccessToken`, {
      method: 'POST',
      headers: { authorization: `Bearer ${federated}`, ...JSON_REQUEST },
      body: JSON.stringify({ scope: [CLOUD_PLATFORM], lifetime: `${u.tokenLifetime}s` }),
    }),
    fetchFn,
  );
  if (answer.status !== 200) {
    vendorFailure(IAM, answer, `check that the federated principal has roles/iam.workloadIdentityUser on ${serviceAccount}`, googleCode(answer.body));
  }
  const body = answerObject(IAM, answer.body);
  const token = stringField(IAM, body, 'accessToken');
  const expiresAt = rfc3339Seconds(stringField(IAM, body, 'expireTime'));
  if (expiresAt === undefined) garbage(IAM, 'expireTime is not RFC 3339');
  return { token, expiresAt };
}

export async function garCredential(u: GarUpstream, workloadToken: string, now: number, fetchFn: typeof fetch): Promise<VendorCredential> {
  const federated = await exchange(u, workloadToken, now, fetchFn);
  const final = u.serviceAccount ? await impersonate(u, u.serviceAccount, federated.token, fetchFn) : federated;
  return { username: GAR_USERNAME, password: final.token, expiresAt: final.expiresAt };
}
