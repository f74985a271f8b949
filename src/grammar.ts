/**
 * Pieces of distribution's reference grammar (reference/regexp.go), as regular-expression
 * sources, shared by image references, registry scopes and trust-rule registry hosts.
 */

/** One label of a host name. */
export const HOST_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
/** A host name: labels joined by '.'; callers add a port and (where allowed) IPv6 literals. */
export const HOSTNAME = `${HOST_COMPONENT}(?:\\.${HOST_COMPONENT})*`;
/**
 * One path component of a repository name. The spec writes the separator as `[_.]|__|[-]*`;
 * `-+` is the same language (an empty separator just joins two alphanumeric runs) without the
 * nested quantifier that makes a regular expression backtrack exponentially on a hostile name.
 */
export const PATH_COMPONENT = '[a-z0-9]+(?:(?:[_.]|__|-+)[a-z0-9]+)*';
/** Kubernetes' DNS-1123 label (a namespace; our record and rule names): lowercase letters, digits and '-', at most 63. */
export const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
