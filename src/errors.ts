/**
 * Errors with stable codes. Every failure a client can cause is an EdgeError with a
 * `code` that never changes and an HTTP status; the message is generic and safe to
 * send on the wire (no token, password or key ever goes into one). Detail for the
 * audit log goes into `detail`, which is logged, never returned.
 */
export type ErrorStatus = 400 | 401 | 403 | 404 | 405 | 409 | 412 | 413 | 503;

export class EdgeError extends Error {
  readonly code: string;
  readonly status: ErrorStatus;
  /** Extra context for the log line only. Must not hold secrets. */
  readonly detail: string | undefined;
  /** Field-level problems (`path: message`) safe to send, e.g. for an invalid trust record. */
  readonly issues: string[] | undefined;
  /** Seconds before a retry may succeed; sent as `Retry-After`. */
  readonly retryAfter: number | undefined;

  constructor(code: string, status: ErrorStatus, message: string, options: EdgeErrorOptions = {}) {
    super(message);
    this.name = this.constructor.name;
    this.code = code;
    this.status = status;
    this.detail = options.detail;
    this.issues = options.issues;
    this.retryAfter = options.retryAfter;
  }
}

export interface EdgeErrorOptions {
  /** For the log line only; never sent. Must not hold secrets. */
  detail?: string;
  /** Replaces the class's generic wire message; must be as safe to send as it. */
  message?: string;
  /** Field-level problems, sent with the error. */
  issues?: string[];
  /** Seconds the client should wait before retrying (a `Retry-After` header). */
  retryAfter?: number;
}

/**
 * The base of one error class: `class TokenExpired extends define(...) {}` keeps the
 * subclass's own name (jose's errors do the same by hand), so `err.name` says what failed.
 */
function define(code: string, status: ErrorStatus, message: string) {
  return class extends EdgeError {
    static readonly code = code;
    constructor(options: EdgeErrorOptions = {}) {
      super(code, status, options.message ?? message, options);
    }
  };
}

// Request shape
export class BadRequest extends define('ERR_BAD_REQUEST', 400, 'the request is malformed') {}
export class BadImage extends define('ERR_BAD_IMAGE', 400, 'the image reference is malformed') {}
export class UnsupportedApiVersion extends define('ERR_UNSUPPORTED_API_VERSION', 400, 'unsupported apiVersion or kind') {}
export class BodyTooLarge extends define('ERR_BODY_TOO_LARGE', 413, 'the request body is too large') {}
export class NotFound extends define('ERR_NOT_FOUND', 404, 'not found') {}
export class MethodNotAllowed extends define('ERR_METHOD_NOT_ALLOWED', 405, 'method not allowed') {}

// Service-account token
export class TokenMissing extends define('ERR_TOKEN_MISSING', 401, 'a service-account token is required') {}
export class TokenMalformed extends define('ERR_TOKEN_MALFORMED', 401, 'the service-account token is malformed') {}
export class UnknownIssuer extends define('ERR_UNKNOWN_ISSUER', 401, 'the token issuer is not trusted') {}
export class IssuerDisabled extends define('ERR_ISSUER_DISABLED', 401, 'the token issuer is disabled') {}
export class AlgorithmNotAllowed extends define('ERR_ALGORITHM_NOT_ALLOWED', 401, 'the token algorithm is not allowed') {}
export class UnknownKey extends define('ERR_UNKNOWN_KEY', 401, 'no issuer key matches the token') {}
export class BadSignature extends define('ERR_BAD_SIGNATURE', 401, 'the token signature is invalid') {}
export class TokenExpired extends define('ERR_TOKEN_EXPIRED', 401, 'the token has expired') {}
export class TokenNotYetValid extends define('ERR_TOKEN_NOT_YET_VALID', 401, 'the token is not yet valid') {}
export class TokenLifetimeTooLong extends define('ERR_TOKEN_LIFETIME', 401, 'the token lifetime exceeds the allowed maximum') {}
export class AudienceMismatch extends define('ERR_AUDIENCE_MISMATCH', 401, 'the token audience is not accepted') {}
export class ClaimsInvalid extends define('ERR_CLAIMS_INVALID', 401, 'the token is missing or has inconsistent Kubernetes claims') {}

// Policy
export class PolicyDenied extends define('ERR_POLICY_DENIED', 403, 'no trust rule grants this image to this service account') {}

// Registry token endpoint / edge credentials
export class CredentialMissing extends define('ERR_CREDENTIAL_MISSING', 401, 'credentials are required') {}
export class UnsupportedGrantType extends define('ERR_UNSUPPORTED_GRANT_TYPE', 400, 'unsupported grant_type: only "password" is supported') {}
export class CredentialInvalid extends define('ERR_CREDENTIAL_INVALID', 401, 'invalid credentials') {}
export class CredentialExpired extends define('ERR_CREDENTIAL_EXPIRED', 401, 'the credential has expired') {}
/** A credential, service account or credential id an administrator revoked, or a credential its record no longer backs. */
export class Revoked extends define('ERR_REVOKED', 401, 'the credential or service account has been revoked') {}

// Administration
export class Unauthorized extends define('ERR_UNAUTHORIZED', 401, 'a valid admin bearer token or Access token is required') {}
/** The caller is known but may only read. */
export class Forbidden extends define('ERR_FORBIDDEN', 403, 'this identity may read but not change trust records') {}
/** If-Match / If-None-Match did not hold: someone changed the record since it was read. */
export class PreconditionFailed extends define('ERR_PRECONDITION_FAILED', 412, 'the record changed since it was read; read it again and retry') {}
export class InvalidRecord extends define('ERR_INVALID_RECORD', 400, 'the trust record is invalid') {}
export class IssuerConflict extends define('ERR_ISSUER_CONFLICT', 409, 'another trust record already holds this issuer') {}

// Key sync (PUT /v1/keys): a cluster replacing its record's inline keys
/** The record names no keySync service account (or its keys are not inline). */
export class KeySyncDisabled extends define('ERR_KEY_SYNC_DISABLED', 403, 'this trust record does not accept pushed keys') {}
/** A valid token, but not of the record's keySync service account. */
export class KeySyncForbidden extends define('ERR_KEY_SYNC_FORBIDDEN', 403, "this service account may not change its trust record's keys") {}
export class InvalidJwks extends define('ERR_INVALID_JWKS', 400, 'the key set is invalid') {}
/** The pushed set drops the key that signed the push's own token. */
export class KeyContinuity extends define('ERR_KEY_CONTINUITY', 409, 'the new key set must hold the key that signed the token') {}

// Upstream registry vendors (federation)
/** The vendor refused the workload token (its 4xx): a trust-policy, audience or subject problem on the vendor's side. */
export class UpstreamDenied extends define('ERR_UPSTREAM_DENIED', 403, 'the registry vendor refused the workload token') {}
/** The vendor could not answer (429, 5xx, timeout, garbage): worth retrying. */
export class UpstreamUnavailable extends define('ERR_UPSTREAM_UNAVAILABLE', 503, 'the registry vendor is unavailable; retry later') {}

// Dependencies (fail closed)
export class StoreUnavailable extends define('ERR_STORE_UNAVAILABLE', 503, 'the trust store is unavailable') {}
export class JwksUnavailable extends define('ERR_JWKS_UNAVAILABLE', 503, "the issuer's keys could not be fetched") {}
export class NotConfigured extends define('ERR_NOT_CONFIGURED', 503, 'the edge is not configured') {}
