/**
 * Azure Container Registry through Entra ID workload identity federation (the client
 * credentials grant with a federated client assertion), then ACR's own token exchange:
 *
 *   POST https://login.microsoftonline.com/<tenant>/oauth2/v2.0/token   form client_id,
 *        scope=https://containerregistry.azure.net/.default, grant_type=client_credentials,
 *        client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer,
 *        client_assertion=<workload token: aud api://AzureADTokenExchange, RS256>
 *   →    {token_type: "Bearer", expires_in, access_token}
 *   POST https://<name>.azurecr.io/oauth2/exchange   form grant_type=access_token,
 *        service=<name>.azurecr.io, tenant=<tenant>, access_token=<Entra token>
 *   →    {refresh_token}
 *
 * Docker: username `00000000-0000-0000-0000-000000000000`, password the refresh token.
 * Entra matches a federated credential on the app by issuer and subject exactly, and
 * verifies RSA signatures only (the schema refuses ES256 on an ACR upstream).
 */
import type { VendorCredential } from './cache';
import { answerObject, errorObject, FORM_REQUEST, garbage, jwtExpiry, safeCode, stringField, vendorCall, vendorFailure } from './http';
import type { AcrUpstream } from './vendors';

const ENTRA = 'Entra ID';
const ACR = 'Azure Container Registry';
/** The username ACR expects with a refresh token. */
export const ACR_USERNAME = '00000000-0000-0000-0000-000000000000';
const ACR_SCOPE = 'https://containerregistry.azure.net/.default';
/**
 * How long an ACR refresh token is used when it is not a JWT whose `exp` can be read: an hour,
 * and never past the Entra token it came from. ACR documents 3 hours; a guess errs short, so
 * the kubelet asks again early rather than hold a dead credential.
 */
export const ACR_FALLBACK_LIFETIME = 3600;

/** Entra's error, as a loggable code: `AADSTS70021` from error_codes, else the OAuth error. */
function entraCode(body: string): string | undefined {
  const error = errorObject(body);
  const codes = error.error_codes;
  if (Array.isArray(codes) && Number.isInteger(codes[0])) return `AADSTS${codes[0] as number}`;
  return typeof error.error === 'string' ? safeCode(error.error) : undefined;
}

/** ACR's error code: `{"errors": [{"code": "UNAUTHORIZED"}]}`. */
function acrCode(body: string): string | undefined {
  const errors = errorObject(body).errors;
  return Array.isArray(errors) ? safeCode(String((errors[0] as { code?: unknown } | undefined)?.code ?? '')) : undefined;
}

async function entraToken(u: AcrUpstream, workloadToken: string, now: number, fetchFn: typeof fetch): Promise<{ token: string; expiresAt: number }> {
  const base = (u.entraEndpoint ?? 'https://login.microsoftonline.com').replace(/\/+$/, '');
  const answer = await vendorCall(
    ENTRA,
    new Request(`${base}/${u.tenantId}/oauth2/v2.0/token`, {
      method: 'POST',
      headers: FORM_REQUEST,
      body: new URLSearchParams({
        client_id: u.clientId,
        scope: ACR_SCOPE,
        grant_type: 'client_credentials',
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: workloadToken,
      }).toString(),
    }),
    fetchFn,
  );
  if (answer.status !== 200) {
    const code = entraCode(answer.body);
    vendorFailure(
      ENTRA,
      answer,
      `check the federated credential on application ${u.clientId} (issuer = the edge's issuer, subject, audience) in tenant ${u.tenantId}`,
      code,
      code === 'temporarily_unavailable',
    );
  }
  const body = answerObject(ENTRA, answer.body);
  const token = stringField(ENTRA, body, 'access_token');
  const expiresIn = body.expires_in;
  // Entra's v1 endpoint wrote expires_in as a string; accept both, seconds either way.
  const seconds = typeof expiresIn === 'string' && /^\d{1,6}$/.test(expiresIn) ? Number(expiresIn) : expiresIn;
  if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds <= 0) garbage(ENTRA, 'answer has no expires_in');
  return { token, expiresAt: now + Math.floor(seconds) };
}

export async function acrCredential(u: AcrUpstream, registry: string, workloadToken: string, now: number, fetchFn: typeof fetch): Promise<VendorCredential> {
  const entra = await entraToken(u, workloadToken, now, fetchFn);
  const base = (u.registryEndpoint ?? `https://${registry}`).replace(/\/+$/, '');
  const answer = await vendorCall(
    ACR,
    new Request(`${base}/oauth2/exchange`, {
      method: 'POST',
      headers: FORM_REQUEST,
      body: new URLSearchParams({ grant_type: 'access_token', service: registry, tenant: u.tenantId, access_token: entra.token }).toString(),
    }),
    fetchFn,
  );
  if (answer.status !== 200) {
    vendorFailure(ACR, answer, `check that application ${u.clientId} has a pull role (AcrPull) on ${registry}`, acrCode(answer.body));
  }
  const refreshToken = stringField(ACR, answerObject(ACR, answer.body), 'refresh_token');
  const expiresAt = jwtExpiry(refreshToken) ?? Math.min(entra.expiresAt, now + ACR_FALLBACK_LIFETIME);
  return { username: ACR_USERNAME, password: refreshToken, expiresAt };
}
