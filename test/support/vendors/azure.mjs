// Loopback fakes of Entra ID's token endpoint (client credentials with a federated client
// assertion) and of an Azure Container Registry's token exchange, written from Microsoft's
// documentation (workload identity federation; "Azure Container Registry authentication:
// OAuth2 exchange") and the errors Entra is known to send:
//
// Entra ID:
//   POST /<tenant>/oauth2/v2.0/token  form client_id, scope=https://containerregistry.azure.net/.default,
//        grant_type=client_credentials, client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer,
//        client_assertion=<JWT>
//   200  {token_type: "Bearer", expires_in, ext_expires_in, access_token}
//   4xx  {error, error_description: "AADSTS<n>: …", error_codes: [n], timestamp, trace_id, correlation_id}
// The assertion is checked as Entra checks it: RSA signatures only (AADSTS5002738 "'ES256' is
// not a supported signature algorithm"); a federated credential of the application whose
// issuer (AADSTS700211), subject (AADSTS700213) and audience (AADSTS700212) match the token
// exactly; then the issuer's discovery document and JWKS, RSA keys only (oidc.mjs): signature
// (AADSTS700027), time (AADSTS700024). An application holds at most 20 federated credentials,
// each subject at most 600 characters (addCredential refuses more, as Entra does).
//
// ACR:
//   POST /oauth2/exchange  form grant_type=access_token, service=<login server>, tenant, access_token
//   200  {refresh_token}            (a JWT that lives 3 hours, as ACR's do)
//   POST /oauth2/token     form grant_type=refresh_token, service, scope=repository:<repo>:pull, refresh_token
//   200  {access_token}             what docker does with the password; the application needs AcrPull here
//   401  {errors: [{code: "UNAUTHORIZED", message}]}
//
// Modes (state.entra.mode, state.acr.mode): 'deny', 'down' (500), 'throttle' (429 with
// Retry-After state.retryAfter), 'slow' (after slowMs), 'garbage' (state.garbage: 'html' or
// 'no-token'). state.acr.refreshTokens = 'opaque' answers a refresh token that is not a JWT.
import { randomBytes, randomUUID } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader, generateKeyPair, jwtVerify, SignJWT } from 'jose';
import { relyingParty, RelyingPartyError } from './oidc.mjs';
import { canary, sendJson, startServer } from './server.mjs';

const ACR_RESOURCE = 'https://containerregistry.azure.net';
const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
/** What Entra verifies: the RSA family. Elliptic curves are refused by name. */
const ENTRA_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'];
export const MAX_FEDERATED_CREDENTIALS = 20;
export const MAX_SUBJECT_LENGTH = 600;
/** ACR refresh tokens live 3 hours. */
const REFRESH_TOKEN_SECONDS = 3 * 60 * 60;

/**
 * @param {{
 *   tenantId: string,
 *   registry: string,
 *   applications?: Record<string, { credentials?: Array<{ name: string, issuer: string, subject: string, audiences: string[] }>, acrPull?: boolean }>,
 *   tokenLifetime?: number,
 *   slowMs?: number,
 * }} opts
 *   registry: the login server this ACR answers for (`<name>.azurecr.io`).
 *   applications: by client id; acrPull: the application may pull (checked at /oauth2/token).
 *   tokenLifetime: seconds Entra's access tokens live. Default 3599.
 */
export async function startAzure(opts) {
  const rp = relyingParty({ algorithms: ENTRA_ALGORITHMS, keyTypes: ['RSA'] });
  const entraKey = await generateKeyPair('RS256');
  const acrKey = randomBytes(32);
  const mode = () => ({ mode: 'ok', calls: 0, refused: [] });
  const state = {
    tenantId: opts.tenantId,
    registry: opts.registry,
    applications: {},
    tokenLifetime: opts.tokenLifetime ?? 3599,
    garbage: 'html',
    retryAfter: 7,
    slowMs: opts.slowMs ?? 6000,
    canary: canary('azure'),
    /** Entra: accepted { token, header, payload, clientId, credential } */
    entra: { ...mode(), accepted: [] },
    /** ACR: refresh tokens issued { refreshToken, clientId }; pulls authorised at /oauth2/token. */
    acr: { ...mode(), issued: [], refreshTokens: 'jwt', pulls: [] },
  };

  /** Adds a federated credential as Entra's API does: at most 20 per application, subject at most 600 characters. */
  function addCredential(clientId, credential) {
    state.applications[clientId] ??= { credentials: [], acrPull: false };
    const app = state.applications[clientId];
    if (app.credentials.length >= MAX_FEDERATED_CREDENTIALS)
      throw new Error(`application ${clientId} already has ${MAX_FEDERATED_CREDENTIALS} federated credentials`);
    if (credential.subject.length > MAX_SUBJECT_LENGTH) throw new Error(`subject longer than ${MAX_SUBJECT_LENGTH} characters`);
    if (app.credentials.some((c) => c.issuer === credential.issuer && c.subject === credential.subject)) throw new Error('duplicate issuer and subject');
    app.credentials.push({ name: credential.name, issuer: credential.issuer, subject: credential.subject, audiences: [...credential.audiences] });
  }
  for (const [clientId, app] of Object.entries(opts.applications ?? {})) {
    state.applications[clientId] = { credentials: [], acrPull: app.acrPull ?? false };
    for (const c of app.credentials ?? []) addCredential(clientId, c);
  }

  function entraError(res, status, error, code, text) {
    state.entra.refused.push({ code: `AADSTS${code}`, error, reason: text });
    sendJson(res, status, {
      error,
      error_description: `AADSTS${code}: ${text} Trace ID: ${randomUUID()} (${state.canary})`,
      error_codes: [code],
      timestamp: new Date().toISOString(),
      trace_id: randomUUID(),
      correlation_id: randomUUID(),
    });
  }
  const acrError = (res, status, code, text) => {
    state.acr.refused.push({ code, reason: text });
    sendJson(res, status, { errors: [{ code, message: `${text} (${state.canary})` }] });
  };

  function misbehave(which, server, res, run) {
    const m = state[which].mode;
    if (m === 'down') {
      sendJson(res, 500, { error: 'server_error', error_description: `AADSTS90033: A transient error has occurred. (${state.canary})` });
      return true;
    }
    if (m === 'throttle') {
      sendJson(res, 429, { error: 'temporarily_unavailable', error_description: `throttled (${state.canary})` }, { 'retry-after': String(state.retryAfter) });
      return true;
    }
    if (m === 'garbage') {
      if (state.garbage === 'no-token') sendJson(res, 200, { token_type: 'Bearer', expires_in: 3599, note: state.canary });
      else res.writeHead(200, { 'content-type': 'text/html' }).end(`<html>${state.canary}</html>`);
      return true;
    }
    if (m === 'slow') {
      server.later(state.slowMs, () => void run());
      return true;
    }
    return false;
  }

  // ---- Entra ID ---------------------------------------------------------------------------

  async function token(tenant, req, body, res) {
    if (!String(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded'))
      return entraError(res, 400, 'invalid_request', 900144, "The request body must contain the following parameter: 'grant_type'.");
    if (tenant !== state.tenantId) return entraError(res, 400, 'invalid_request', 90002, `Tenant '${tenant}' not found.`);
    const form = new URLSearchParams(body);
    if (form.get('grant_type') !== 'client_credentials')
      return entraError(res, 400, 'unsupported_grant_type', 70003, 'The app requested an unsupported grant type.');
    const clientId = form.get('client_id');
    if (!clientId) return entraError(res, 400, 'invalid_request', 900144, "The request body must contain the following parameter: 'client_id'.");
    const app = state.applications[clientId];
    if (!app) return entraError(res, 400, 'unauthorized_client', 700016, `Application with identifier '${clientId}' was not found in the directory.`);
    if (form.get('scope') !== `${ACR_RESOURCE}/.default`) return entraError(res, 400, 'invalid_scope', 1002012, 'The provided value for scope is not valid.');
    if (form.get('client_assertion_type') !== JWT_BEARER)
      return entraError(
        res,
        400,
        'invalid_request',
        7000216,
        "'client_assertion', 'client_secret' or 'request' is required for the 'client_credentials' grant type.",
      );
    const assertion = form.get('client_assertion') ?? '';
    if (state.entra.mode === 'deny') return entraError(res, 400, 'invalid_client', 7000215, 'Invalid client secret provided.');

    let header;
    let claims;
    try {
      header = decodeProtectedHeader(assertion);
      claims = decodeJwt(assertion);
    } catch {
      return entraError(res, 400, 'invalid_client', 50027, 'JWT token is invalid or malformed.');
    }
    if (!ENTRA_ALGORITHMS.includes(header.alg))
      return entraError(res, 400, 'invalid_client', 5002738, `Invalid JWT token. '${header.alg}' is not a supported signature algorithm.`);
    const byIssuer = app.credentials.filter((c) => c.issuer === claims.iss);
    if (!byIssuer.length)
      return entraError(res, 400, 'invalid_client', 700211, `No matching federated identity record found for presented assertion issuer '${claims.iss}'.`);
    const bySubject = byIssuer.filter((c) => c.subject === claims.sub);
    if (!bySubject.length)
      return entraError(res, 400, 'invalid_client', 700213, `No matching federated identity record found for presented assertion subject '${claims.sub}'.`);
    const auds = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    const credential = bySubject.find((c) => c.audiences.some((a) => auds.includes(a)));
    if (!credential)
      return entraError(
        res,
        400,
        'invalid_client',
        700212,
        `No matching federated identity record found for presented assertion audience '${auds.join(',')}'.`,
      );
    let verified;
    try {
      verified = await rp.verify(assertion, { issuer: credential.issuer, audience: credential.audiences });
    } catch (err) {
      if (!(err instanceof RelyingPartyError)) throw err;
      if (err.reason === 'exp' || err.reason === 'nbf' || err.reason === 'iat')
        return entraError(res, 400, 'invalid_client', 700024, 'Client assertion is not within its valid time range.');
      if (err.reason === 'unreachable') return entraError(res, 400, 'invalid_client', 50166, 'Request to External OIDC endpoint failed.');
      return entraError(res, 401, 'invalid_client', 700027, `Client assertion failed signature validation (${err.reason}).`);
    }
    state.entra.accepted.push({ token: assertion, header: verified.header, payload: verified.payload, clientId, credential: credential.name });
    const now = Math.floor(Date.now() / 1000);
    const accessToken = await new SignJWT({ tid: state.tenantId, appid: clientId, oid: randomUUID(), idtyp: 'app' })
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT' })
      .setIssuer(`https://sts.windows.net/${state.tenantId}/`)
      .setAudience(ACR_RESOURCE)
      .setSubject(clientId)
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(now + state.tokenLifetime)
      .sign(entraKey.privateKey);
    return sendJson(res, 200, { token_type: 'Bearer', expires_in: state.tokenLifetime, ext_expires_in: state.tokenLifetime, access_token: accessToken });
  }

  function entra(req, body, res) {
    const m = /^\/([^/]+)\/oauth2\/v2\.0\/token$/.exec(new URL(req.url ?? '/', 'http://x').pathname);
    if (req.method !== 'POST' || !m) return sendJson(res, 404, { error: 'not_found' });
    state.entra.calls++;
    const run = () =>
      token(decodeURIComponent(m[1]), req, body, res).catch((err) => sendJson(res, 500, { error: 'server_error', error_description: String(err) }));
    if (misbehave('entra', entraServer, res, run)) return undefined;
    return run();
  }

  // ---- ACR --------------------------------------------------------------------------------

  async function exchange(req, body, res) {
    if (!String(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded'))
      return acrError(res, 400, 'UNSUPPORTED', 'form body required');
    const form = new URLSearchParams(body);
    if (form.get('grant_type') !== 'access_token') return acrError(res, 400, 'UNSUPPORTED', 'grant_type must be access_token');
    if (form.get('service') !== state.registry) return acrError(res, 400, 'UNSUPPORTED', `service must be ${state.registry}`);
    if (state.acr.mode === 'deny') return acrError(res, 401, 'UNAUTHORIZED', 'denied (mode)');
    let payload;
    try {
      ({ payload } = await jwtVerify(form.get('access_token') ?? '', entraKey.publicKey, {
        audience: ACR_RESOURCE,
        issuer: `https://sts.windows.net/${state.tenantId}/`,
      }));
    } catch {
      return acrError(res, 401, 'UNAUTHORIZED', 'the AAD access token is invalid');
    }
    if (form.get('tenant') !== payload.tid) return acrError(res, 401, 'UNAUTHORIZED', 'tenant does not match the token');
    const now = Math.floor(Date.now() / 1000);
    const refreshToken =
      state.acr.refreshTokens === 'opaque'
        ? `acr-refresh-${randomBytes(32).toString('hex')}`
        : await new SignJWT({ tenant: payload.tid, appid: payload.appid, grant_type: 'refresh_token', version: '1.0' })
            .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
            .setIssuer('Azure Container Registry')
            .setAudience(state.registry)
            .setSubject(String(payload.appid))
            .setJti(randomUUID())
            .setIssuedAt(now)
            .setNotBefore(now)
            .setExpirationTime(now + REFRESH_TOKEN_SECONDS)
            .sign(acrKey);
    state.acr.issued.push({ refreshToken, clientId: payload.appid });
    return sendJson(res, 200, { refresh_token: refreshToken });
  }

  /** What docker does with the credential: a repository-scoped access token, which needs AcrPull. */
  function accessToken(body, res) {
    const form = new URLSearchParams(body);
    const issued = state.acr.issued.find((i) => i.refreshToken === form.get('refresh_token'));
    if (form.get('grant_type') !== 'refresh_token' || form.get('service') !== state.registry || !issued)
      return acrError(res, 401, 'UNAUTHORIZED', 'authentication required');
    if (!state.applications[issued.clientId]?.acrPull) return acrError(res, 401, 'UNAUTHORIZED', 'the principal has no pull role on this registry');
    state.acr.pulls.push({ clientId: issued.clientId, scope: form.get('scope') });
    return sendJson(res, 200, { access_token: randomBytes(32).toString('hex') });
  }

  function acr(req, body, res) {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (req.method === 'POST' && path === '/oauth2/token') return accessToken(body, res);
    if (req.method !== 'POST' || path !== '/oauth2/exchange') return acrError(res, 404, 'NOT_FOUND', 'not found');
    state.acr.calls++;
    const run = () => exchange(req, body, res).catch((err) => acrError(res, 500, 'INTERNAL', String(err)));
    if (misbehave('acr', acrServer, res, run)) return undefined;
    return run();
  }

  const entraServer = await startServer(entra);
  let acrServer;
  try {
    acrServer = await startServer(acr);
  } catch (err) {
    await entraServer.stop();
    throw err;
  }
  return {
    entraUrl: entraServer.url,
    acrUrl: acrServer.url,
    state,
    rp,
    addCredential,
    async stop() {
      await Promise.all([entraServer.stop(), acrServer.stop()]);
    },
  };
}
