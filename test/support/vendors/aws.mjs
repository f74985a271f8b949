// Loopback fakes of AWS STS and Amazon ECR, written from the API references:
//
// STS AssumeRoleWithWebIdentity (API version 2011-06-15, query protocol, unsigned):
//   POST /  form Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn&RoleSessionName
//           &WebIdentityToken[&DurationSeconds]
//   200  <AssumeRoleWithWebIdentityResponse>…<Credentials>{AccessKeyId, SecretAccessKey,
//        SessionToken, Expiration}…
//   4xx  <ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>
//        InvalidIdentityToken 400, ExpiredTokenException 400, IDPCommunicationError 400,
//        AccessDenied 403 (the role's trust policy), ValidationError / MissingParameter 400,
//        Throttling 400.
// The web identity token is verified as STS does: the IAM OIDC identity provider whose URL is
// the token's iss (discovery and JWKS fetched from it, oidc.mjs), aud among the provider's
// client IDs, then the role's trust policy: the provider as federated principal and its
// conditions on `<provider>:sub` / `<provider>:aud` (StringEquals, or StringLike with * and ?).
//
// ECR GetAuthorizationToken (JSON 1.1 protocol, SigV4, service `ecr`):
//   POST /  X-Amz-Target: AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken,
//           Content-Type: application/x-amz-json-1.1, X-Amz-Security-Token, body {"registryIds"?: [...]}
//   200  {"authorizationData": [{"authorizationToken": base64("AWS:<password>"), "expiresAt": <epoch s>, "proxyEndpoint"}]}
//   400  {"__type", "message"}  InvalidSignatureException, UnrecognizedClientException,
//        IncompleteSignatureException, ExpiredTokenException, AccessDeniedException, ThrottlingException, …
// The signature is checked by AWS's own signer (@smithy/signature-v4 with @aws-crypto/sha256-js):
// the request is rebuilt from what arrived (method, host, path, query, the signed headers, the
// body), signed again with the secret of the session STS issued for that access key, and the
// two signatures compared. The edge's signer (src/upstream/sigv4.ts) is thus checked by an independent one.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import { decodeJwt } from 'jose';
import { relyingParty, RelyingPartyError } from './oidc.mjs';
import { canary, sendJson, startServer } from './server.mjs';

const STS_NS = 'https://sts.amazonaws.com/doc/2011-06-15/';
const ECR_TARGET = 'AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken';
/** ECR authorization tokens last 12 hours. */
const ECR_TOKEN_SECONDS = 12 * 60 * 60;
/** SigV4: a request signed more than this long ago (or ahead) is refused, seconds. */
const SIGV4_SKEW = 15 * 60;

const xmlEscape = (s) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]);
const requestId = () => crypto.randomUUID();
const alnum = (n, alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567') => Array.from(randomBytes(n), (b) => alphabet[b % alphabet.length]).join('');

/** IAM condition StringLike: `*` any run, `?` one character, everything else literal. */
function stringLike(pattern, value) {
  const re = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${re}$`, 's').test(value);
}

/** Every condition key must hold for some listed value (IAM: AND across keys, OR within values). */
function conditionsHold(conditions, context) {
  for (const [operator, block] of Object.entries(conditions ?? {})) {
    for (const [key, want] of Object.entries(block)) {
      const values = Array.isArray(want) ? want : [want];
      const got = context[key];
      if (typeof got !== 'string') return false;
      const ok = operator === 'StringEquals' ? values.includes(got) : operator === 'StringLike' ? values.some((v) => stringLike(v, got)) : false; // an operator this fake does not know never matches: fail closed
      if (!ok) return false;
    }
  }
  return true;
}

/**
 * @param {{
 *   region?: string,
 *   accountId?: string,
 *   providers?: Array<{ url: string, clientIds: string[] }>,
 *   roles?: Record<string, { provider: string, conditions?: Record<string, Record<string, string | string[]>>, maxSessionDuration?: number, ecr?: boolean }>,
 *   algorithms?: string[],
 * }} [opts]
 *   providers: the account's IAM OIDC identity providers (url = the issuer, clientIds = accepted audiences).
 *   roles: by ARN; `provider` is the URL of the provider the trust policy names as federated
 *   principal; conditions use keys `<provider host/path>:sub` and `:aud`; maxSessionDuration
 *   seconds (default 3600); ecr false denies ecr:GetAuthorizationToken.
 *   algorithms: default ['RS256', 'ES256'] (STS takes both).
 */
export async function startAws(opts = {}) {
  const region = opts.region ?? 'eu-west-1';
  const accountId = opts.accountId ?? '123456789012';
  const rp = relyingParty({ algorithms: opts.algorithms ?? ['RS256', 'ES256'] });
  /** accessKeyId → { secretAccessKey, sessionToken, roleArn, sessionName, expiresAt } */
  const sessions = new Map();
  const state = {
    providers: opts.providers ?? [],
    roles: opts.roles ?? {},
    canary: canary('aws'),
    sts: {
      /** 'ok' | 'throttle' | 'down' */
      mode: 'ok',
      calls: 0,
      /** Accepted: { token, header, payload, roleArn, sessionName, durationSeconds, accessKeyId } */
      accepted: [],
      /** Refused: { code, reason } */
      refused: [],
    },
    ecr: {
      /** 'ok' | 'throttle' */
      mode: 'ok',
      calls: 0,
      /** Requests whose SigV4 signature AWS's signer reproduced. */
      verified: 0,
      /** Refused: { code, reason } */
      refused: [],
      /** Passwords handed out. */
      issued: [],
    },
  };

  // ---- STS ----------------------------------------------------------------------------------

  function stsError(res, status, type, code, message) {
    state.sts.refused.push({ code, reason: message });
    const xml =
      `<ErrorResponse xmlns="${STS_NS}">\n  <Error>\n    <Type>${type}</Type>\n    <Code>${code}</Code>\n` +
      `    <Message>${xmlEscape(`${message} (${state.canary})`)}</Message>\n  </Error>\n  <RequestId>${requestId()}</RequestId>\n</ErrorResponse>\n`;
    res.writeHead(status, { 'content-type': 'text/xml' }).end(xml);
  }

  async function assumeRoleWithWebIdentity(req, body, res) {
    state.sts.calls++;
    if (state.sts.mode === 'throttle') return stsError(res, 400, 'Sender', 'Throttling', 'Rate exceeded');
    if (state.sts.mode === 'down') return stsError(res, 500, 'Receiver', 'InternalFailure', 'An internal error occurred');
    if (req.method !== 'POST' || !String(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) {
      return stsError(res, 400, 'Sender', 'InvalidAction', 'Could not find operation for this request');
    }
    const form = new URLSearchParams(body);
    if (form.get('Action') !== 'AssumeRoleWithWebIdentity')
      return stsError(res, 400, 'Sender', 'InvalidAction', `Could not find operation ${form.get('Action')}`);
    if (form.get('Version') !== '2011-06-15') return stsError(res, 400, 'Sender', 'InvalidAction', `Unsupported Version ${form.get('Version')}`);
    for (const p of ['RoleArn', 'RoleSessionName', 'WebIdentityToken']) {
      if (!form.get(p)) return stsError(res, 400, 'Sender', 'MissingParameter', `The request must contain the parameter ${p}`);
    }
    const roleArn = form.get('RoleArn');
    const sessionName = form.get('RoleSessionName');
    const token = form.get('WebIdentityToken');
    if (!/^[\w+=,.@-]{2,64}$/.test(sessionName)) {
      return stsError(res, 400, 'Sender', 'ValidationError', "1 validation error detected: Value at 'roleSessionName' failed to satisfy constraint");
    }
    const role = state.roles[roleArn];
    const durationSeconds = form.has('DurationSeconds') ? Number(form.get('DurationSeconds')) : 3600;
    if (!Number.isInteger(durationSeconds) || durationSeconds < 900 || durationSeconds > (role?.maxSessionDuration ?? 3600)) {
      return stsError(res, 400, 'Sender', 'ValidationError', 'The requested DurationSeconds exceeds the MaxSessionDuration set for this role.');
    }

    let iss;
    try {
      iss = decodeJwt(token).iss;
    } catch {
      return stsError(res, 400, 'Sender', 'InvalidIdentityToken', "Couldn't parse the web identity token");
    }
    const provider = state.providers.find((p) => p.url === iss);
    if (!provider) return stsError(res, 400, 'Sender', 'InvalidIdentityToken', `No OpenIDConnect provider found in your account for ${iss}`);

    let verified;
    try {
      verified = await rp.verify(token, { issuer: provider.url, audience: provider.clientIds });
    } catch (err) {
      if (!(err instanceof RelyingPartyError)) throw err;
      if (err.reason === 'exp') return stsError(res, 400, 'Sender', 'ExpiredTokenException', 'Token expired');
      if (err.reason === 'unreachable')
        return stsError(res, 400, 'Sender', 'IDPCommunicationError', "Couldn't retrieve verification key from your identity provider");
      if (err.reason === 'aud') return stsError(res, 400, 'Sender', 'InvalidIdentityToken', 'Incorrect token audience');
      return stsError(res, 400, 'Sender', 'InvalidIdentityToken', `The web identity token could not be validated (${err.reason})`);
    }

    // Authorization: the role's trust policy. Any failure is the same AccessDenied, as in STS.
    const key = iamProviderKey(provider.url);
    const aud = verified.payload.aud;
    const context = { [`${key}:sub`]: verified.payload.sub, [`${key}:aud`]: Array.isArray(aud) ? aud[0] : aud };
    if (!role || iamProviderKey(role.provider) !== key || !conditionsHold(role.conditions, context)) {
      return stsError(res, 403, 'Sender', 'AccessDenied', 'Not authorized to perform sts:AssumeRoleWithWebIdentity');
    }

    const accessKeyId = `ASIA${alnum(16)}`;
    const secretAccessKey = randomBytes(30).toString('base64');
    const sessionToken = randomBytes(256).toString('base64');
    const expiresAt = Math.floor(Date.now() / 1000) + durationSeconds;
    sessions.set(accessKeyId, { secretAccessKey, sessionToken, roleArn, sessionName, expiresAt });
    state.sts.accepted.push({ token, header: verified.header, payload: verified.payload, roleArn, sessionName, durationSeconds, accessKeyId });
    const roleName = roleArn.split('/').pop();
    const xml = `<AssumeRoleWithWebIdentityResponse xmlns="${STS_NS}">
  <AssumeRoleWithWebIdentityResult>
    <SubjectFromWebIdentityToken>${xmlEscape(verified.payload.sub)}</SubjectFromWebIdentityToken>
    <Audience>${xmlEscape(context[`${key}:aud`])}</Audience>
    <AssumedRoleUser>
      <Arn>arn:aws:sts::${accountId}:assumed-role/${xmlEscape(roleName)}/${xmlEscape(sessionName)}</Arn>
      <AssumedRoleId>AROA${alnum(17)}:${xmlEscape(sessionName)}</AssumedRoleId>
    </AssumedRoleUser>
    <Credentials>
      <SessionToken>${xmlEscape(sessionToken)}</SessionToken>
      <SecretAccessKey>${xmlEscape(secretAccessKey)}</SecretAccessKey>
      <Expiration>${new Date(expiresAt * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z')}</Expiration>
      <AccessKeyId>${accessKeyId}</AccessKeyId>
    </Credentials>
    <Provider>${xmlEscape(key)}</Provider>
  </AssumeRoleWithWebIdentityResult>
  <ResponseMetadata>
    <RequestId>${requestId()}</RequestId>
  </ResponseMetadata>
</AssumeRoleWithWebIdentityResponse>
`;
    res.writeHead(200, { 'content-type': 'text/xml' }).end(xml);
    return undefined;
  }

  // ---- ECR ----------------------------------------------------------------------------------

  function ecrError(res, type, message, status = 400) {
    state.ecr.refused.push({ code: type, reason: message });
    sendJson(res, status, { __type: type, message: `${message} (${state.canary})` }, { 'content-type': 'application/x-amz-json-1.1' });
  }

  const AUTH =
    /^AWS4-HMAC-SHA256 Credential=([^/,\s]+)\/(\d{8})\/([^/,\s]+)\/([^/,\s]+)\/aws4_request,\s*SignedHeaders=([a-z0-9;-]+),\s*Signature=([0-9a-f]{64})$/;

  /** SigV4 as AWS checks it; answers the session or an error [type, message]. */
  async function checkSignature(req, body) {
    const auth = req.headers.authorization;
    if (!auth) return { error: ['MissingAuthenticationTokenException', 'Missing Authentication Token'] };
    const m = AUTH.exec(auth);
    if (!m) return { error: ['IncompleteSignatureException', 'Authorization header requires Credential, SignedHeaders and Signature'] };
    const [, accessKeyId, scopeDate, scopeRegion, scopeService, signedHeaderList, signature] = m;
    const session = sessions.get(accessKeyId);
    if (!session) return { error: ['UnrecognizedClientException', 'The security token included in the request is invalid.'] };
    if (req.headers['x-amz-security-token'] !== session.sessionToken)
      return { error: ['UnrecognizedClientException', 'The security token included in the request is invalid.'] };
    if (session.expiresAt <= Date.now() / 1000) return { error: ['ExpiredTokenException', 'The security token included in the request is expired'] };
    if (scopeRegion !== region) return { error: ['InvalidSignatureException', `Credential should be scoped to a valid region, not '${scopeRegion}'.`] };
    if (scopeService !== 'ecr') return { error: ['InvalidSignatureException', `Credential should be scoped to correct service: 'ecr'.`] };
    const amzDate = String(req.headers['x-amz-date'] ?? '');
    const d = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate);
    if (!d) return { error: ['IncompleteSignatureException', 'X-Amz-Date is missing or malformed'] };
    const signingDate = new Date(Date.UTC(+d[1], +d[2] - 1, +d[3], +d[4], +d[5], +d[6]));
    if (amzDate.slice(0, 8) !== scopeDate)
      return { error: ['InvalidSignatureException', 'Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP'] };
    if (Math.abs(signingDate.getTime() - Date.now()) > SIGV4_SKEW * 1000) return { error: ['InvalidSignatureException', 'Signature expired'] };
    const signed = signedHeaderList.split(';');
    // Host and date must be signed; so must the session token, or it could be swapped for another.
    for (const h of ['host', 'x-amz-date', 'x-amz-security-token']) {
      if (!signed.includes(h)) return { error: ['IncompleteSignatureException', `Header ${h} must be signed`] };
    }

    // The request as it arrived, with exactly the headers the client says it signed.
    const url = new URL(req.url ?? '/', 'http://placeholder');
    const headers = {};
    for (const name of signed) {
      const value = req.headers[name];
      if (value === undefined) return { error: ['IncompleteSignatureException', `Signed header ${name} is missing`] };
      headers[name] = Array.isArray(value) ? value.join(',') : value;
    }
    const [hostname, port] = String(req.headers.host).split(':');
    const query = {};
    for (const [k, v] of url.searchParams) query[k] = v;
    const signer = new SignatureV4({
      credentials: { accessKeyId, secretAccessKey: session.secretAccessKey, sessionToken: session.sessionToken },
      region,
      service: 'ecr',
      sha256: Sha256,
      applyChecksum: false, // x-amz-content-sha256 is signed only if the client sent it
    });
    const resigned = await signer.sign(
      { method: req.method ?? 'GET', protocol: 'http:', hostname, port: port ? Number(port) : undefined, path: url.pathname, query, headers, body },
      { signingDate },
    );
    const again = AUTH.exec(resigned.headers.authorization);
    if (!again || again[5] !== signedHeaderList || !timingSafeEqual(Buffer.from(again[6], 'hex'), Buffer.from(signature, 'hex'))) {
      return {
        error: [
          'InvalidSignatureException',
          'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.',
        ],
      };
    }
    return { session };
  }

  async function getAuthorizationToken(req, body, res) {
    state.ecr.calls++;
    if (req.method !== 'POST') return ecrError(res, 'UnknownOperationException', 'Unknown operation');
    if (req.headers['x-amz-target'] !== ECR_TARGET)
      return ecrError(res, 'UnknownOperationException', `Unknown operation ${String(req.headers['x-amz-target'])}`);
    if (req.headers['content-type'] !== 'application/x-amz-json-1.1')
      return ecrError(res, 'SerializationException', 'Content-Type must be application/x-amz-json-1.1');
    const checked = await checkSignature(req, body);
    if (checked.error) return ecrError(res, ...checked.error);
    state.ecr.verified++;
    if (state.ecr.mode === 'throttle') return ecrError(res, 'ThrottlingException', 'Rate exceeded');

    const { session } = checked;
    const role = state.roles[session.roleArn];
    if (role?.ecr === false) {
      return ecrError(
        res,
        'AccessDeniedException',
        `User: arn:aws:sts::${accountId}:assumed-role/${session.roleArn.split('/').pop()}/${session.sessionName} is not authorized to perform: ecr:GetAuthorizationToken`,
      );
    }
    let input;
    try {
      input = JSON.parse(body);
    } catch {
      return ecrError(res, 'SerializationException', 'Request body is not JSON');
    }
    const ids = input?.registryIds ?? [accountId];
    if (
      typeof input !== 'object' ||
      input === null ||
      !Array.isArray(ids) ||
      ids.length === 0 ||
      !ids.every((id) => typeof id === 'string' && /^\d{12}$/.test(id))
    ) {
      return ecrError(res, 'InvalidParameterException', 'registryIds must be a list of 12-digit account ids');
    }
    // Epoch seconds with a fraction, as the JSON protocol writes timestamps.
    const expiresAt = Math.round((Date.now() / 1000 + ECR_TOKEN_SECONDS) * 1000) / 1000;
    const authorizationData = ids.map((id) => {
      const password = randomBytes(384).toString('base64');
      state.ecr.issued.push(password);
      return {
        authorizationToken: Buffer.from(`AWS:${password}`).toString('base64'),
        expiresAt,
        proxyEndpoint: `https://${id}.dkr.ecr.${region}.amazonaws.com`,
      };
    });
    return sendJson(res, 200, { authorizationData }, { 'content-type': 'application/x-amz-json-1.1' });
  }

  const sts = await startServer(assumeRoleWithWebIdentity);
  let ecr;
  try {
    ecr = await startServer(getAuthorizationToken);
  } catch (err) {
    await sts.stop();
    throw err;
  }
  return {
    region,
    accountId,
    stsUrl: sts.url,
    ecrUrl: ecr.url,
    state,
    rp,
    /** Live STS sessions (for tests that sign ECR requests themselves). */
    sessions,
    async stop() {
      await Promise.all([sts.stop(), ecr.stop()]);
    },
  };
}

/** How IAM names an OIDC provider in ARNs and condition keys: the issuer URL without its scheme. */
export const iamProviderKey = (issuerUrl) => issuerUrl.replace(/^https?:\/\//, '').replace(/\/+$/, '');
