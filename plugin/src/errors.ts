/**
 * Failures of the exec plugin. Each carries the exit code the kubelet sees and one line
 * for stderr, which the kubelet copies into its log: the line names what failed and, for a
 * denial, the edge's reason code. It never holds a token, a password or the request body.
 */

/** Exit codes. The kubelet only tells zero from non-zero; operators read the rest. */
export const EXIT_OK = 0;
/** Denied, network, protocol or input failure: the pull goes on without our credentials. */
export const EXIT_FAILURE = 1;
/** The plugin itself is misconfigured (bad flag, bad environment variable, bad URL). */
export const EXIT_USAGE = 2;

export class PluginError extends Error {
  /** Short machine-readable kind, for verbose output and tests. */
  readonly kind: 'input' | 'denied' | 'network' | 'protocol' | 'usage';
  readonly exitCode: number;

  constructor(kind: PluginError['kind'], message: string) {
    super(message);
    this.name = this.constructor.name;
    this.kind = kind;
    this.exitCode = kind === 'usage' ? EXIT_USAGE : EXIT_FAILURE;
  }
}

/** The request on stdin is not one the plugin can forward. */
export const inputError = (message: string) => new PluginError('input', message);
/** The edge refused (4xx other than 429): never retried. */
export const deniedError = (message: string) => new PluginError('denied', message);
/** The edge could not be reached or kept failing within the budget. */
export const networkError = (message: string) => new PluginError('network', message);
/** The edge answered something the kubelet must not see. */
export const protocolError = (message: string) => new PluginError('protocol', message);
/** A flag or environment variable is wrong. */
export const usageError = (message: string) => new PluginError('usage', message);
