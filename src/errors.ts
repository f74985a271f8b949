/**
 * Errors with stable codes. Every failure a client can cause is an EdgeError with a
 * `code` that never changes and an HTTP status; the message is generic and safe to
 * send on the wire (no token, password or key ever goes into one). Detail for the
 * audit log goes into `detail`, which is logged, never returned.
 */
export type ErrorStatus = 400 | 401 | 403 | 404 | 405 | 409 | 413 | 415 | 503;

export class EdgeError extends Error {
  readonly code: string;
  readonly status: ErrorStatus;
  /** Extra context for the log line only. Must not hold secrets. */
  readonly detail: string | undefined;

  constructor(code: string, status: ErrorStatus, message: string, detail?: string) {
    super(message);
    this.name = this.constructor.name;
    this.code = code;
    this.status = status;
    this.detail = detail;
  }
}

const define = (code: string, status: ErrorStatus, message: string) =>
  class extends EdgeError {
    static readonly code = code;
    constructor(detail?: string, overrideMessage?: string) {
      super(code, status, overrideMessage ?? message, detail);
    }
  };

// Request shape
export const BadRequest = define('ERR_BAD_REQUEST', 400, 'the request is malformed');
export const BadImage = define('ERR_BAD_IMAGE', 400, 'the image reference is malformed');
export const UnsupportedApiVersion = define('ERR_UNSUPPORTED_API_VERSION', 400, 'unsupported apiVersion or kind');
export const BodyTooLarge = define('ERR_BODY_TOO_LARGE', 413, 'the request body is too large');
export const UnsupportedMediaType = define('ERR_UNSUPPORTED_MEDIA_TYPE', 415, 'the request body must be JSON');
export const NotFound = define('ERR_NOT_FOUND', 404, 'not found');
export const MethodNotAllowed = define('ERR_METHOD_NOT_ALLOWED', 405, 'method not allowed');

// Service-account token
export const TokenMissing = define('ERR_TOKEN_MISSING', 401, 'a service-account token is required');
export const TokenMalformed = define('ERR_TOKEN_MALFORMED', 401, 'the service-account token is malformed');
export const UnknownIssuer = define('ERR_UNKNOWN_ISSUER', 401, 'the token issuer is not trusted');
export const IssuerDisabled = define('ERR_ISSUER_DISABLED', 401, 'the token issuer is disabled');
export const AlgorithmNotAllowed = define('ERR_ALGORITHM_NOT_ALLOWED', 401, 'the token algorithm is not allowed');
export const UnknownKey = define('ERR_UNKNOWN_KEY', 401, 'no issuer key matches the token');
export const BadSignature = define('ERR_BAD_SIGNATURE', 401, 'the token signature is invalid');
export const TokenExpired = define('ERR_TOKEN_EXPIRED', 401, 'the token has expired');
export const TokenNotYetValid = define('ERR_TOKEN_NOT_YET_VALID', 401, 'the token is not yet valid');
export const TokenLifetimeTooLong = define('ERR_TOKEN_LIFETIME', 401, 'the token lifetime exceeds the allowed maximum');
export const AudienceMismatch = define('ERR_AUDIENCE_MISMATCH', 401, 'the token audience is not accepted');
export const ClaimsInvalid = define('ERR_CLAIMS_INVALID', 401, 'the token is missing or has inconsistent Kubernetes claims');

// Policy
export const PolicyDenied = define('ERR_POLICY_DENIED', 403, 'no trust rule grants this image to this service account');

// Registry token endpoint / edge credentials
export const CredentialMissing = define('ERR_CREDENTIAL_MISSING', 401, 'credentials are required');
export const UnsupportedGrantType = define('ERR_UNSUPPORTED_GRANT_TYPE', 400, 'unsupported grant_type: only "password" is supported');
export const CredentialInvalid = define('ERR_CREDENTIAL_INVALID', 401, 'invalid credentials');
export const CredentialExpired = define('ERR_CREDENTIAL_EXPIRED', 401, 'the credential has expired');

// Administration
export const Unauthorized = define('ERR_UNAUTHORIZED', 401, 'a valid admin bearer token is required');
export const InvalidRecord = define('ERR_INVALID_RECORD', 400, 'the trust record is invalid');
export const IssuerConflict = define('ERR_ISSUER_CONFLICT', 409, 'another trust record already holds this issuer');

// Dependencies (fail closed)
export const StoreUnavailable = define('ERR_STORE_UNAVAILABLE', 503, 'the trust store is unavailable');
export const JwksUnavailable = define('ERR_JWKS_UNAVAILABLE', 503, "the issuer's keys could not be fetched");
export const NotConfigured = define('ERR_NOT_CONFIGURED', 503, 'the edge is not configured');
