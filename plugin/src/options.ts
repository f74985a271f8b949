/**
 * The plugin's settings, from the kubelet's provider config: `args` (flags) win over `env`
 * (environment variables), which win over defaults. Pure: takes argv and env, returns
 * options or throws a usage error.
 */
import { parseGoDuration } from './duration';
import { usageError } from './errors';

export interface Options {
  /** The edge's POST endpoint, `<url>/v1/credentials`. */
  endpoint: URL;
  /** Per-attempt limit in ms, covering connect, headers and body. Default 10 s. */
  attemptTimeoutMs: number;
  /** Overall limit in ms for the whole run, waits between attempts included. Default 45 s. */
  budgetMs: number;
  /** Most attempts made, the first included. Default 4. */
  maxAttempts: number;
  /** Diagnostics on stderr (never secrets). Default off. */
  verbose: boolean;
}

export const ENV_PREFIX = 'EDGE_CREDENTIAL_PROVIDER_';
/** 10 s per attempt: a healthy edge answers in well under a second. */
export const DEFAULT_ATTEMPT_TIMEOUT_MS = 10_000;
/** 45 s in all: the kubelet kills the plugin at 1 minute; the rest is slack for a slow node. */
export const DEFAULT_BUDGET_MS = 45_000;
/** The budget may not come closer than this to the kubelet's 60 s exec limit. */
export const MAX_BUDGET_MS = 55_000;
/** Four attempts: enough to ride out a blip, few enough not to pile onto an edge in trouble. */
export const DEFAULT_MAX_ATTEMPTS = 4;
export const MAX_ATTEMPTS_LIMIT = 10;

const FLAGS: Record<string, { env: string; takesValue: boolean }> = {
  url: { env: 'URL', takesValue: true },
  'attempt-timeout': { env: 'ATTEMPT_TIMEOUT', takesValue: true },
  budget: { env: 'BUDGET', takesValue: true },
  'max-attempts': { env: 'MAX_ATTEMPTS', takesValue: true },
  verbose: { env: 'VERBOSE', takesValue: false },
};

/** Splits `--name value`, `--name=value` and bare `--flag` into a map; unknown flags are errors. */
export function parseFlags(argv: readonly string[], known: Record<string, { takesValue: boolean; repeat?: boolean }>) {
  const values = new Map<string, string[]>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (!arg.startsWith('--')) throw usageError(`unexpected argument ${JSON.stringify(arg)}`);
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    const spec = known[name];
    if (!spec) throw usageError(`unknown flag --${name}`);
    let value: string;
    if (!spec.takesValue) {
      value = eq === -1 ? 'true' : arg.slice(eq + 1);
    } else if (eq !== -1) {
      value = arg.slice(eq + 1);
    } else {
      const next = argv[i + 1];
      if (next === undefined) throw usageError(`flag --${name} needs a value`);
      value = next;
      i++;
    }
    const list = values.get(name) ?? [];
    if (list.length > 0 && !spec.repeat) throw usageError(`flag --${name} is given more than once`);
    list.push(value);
    values.set(name, list);
  }
  return values;
}

export function parseBoolean(name: string, value: string): boolean {
  if (/^(1|true|yes|on)$/i.test(value)) return true;
  if (/^(0|false|no|off|)$/i.test(value)) return false;
  throw usageError(`${name} must be true or false, got ${JSON.stringify(value)}`);
}

function parseDurationSetting(name: string, value: string): number {
  const ms = parseGoDuration(value);
  if (ms === undefined || ms <= 0) {
    throw usageError(`${name} must be a positive duration such as "300ms" or "10s", got ${JSON.stringify(value)}`);
  }
  return ms;
}

/** True for hosts that never leave the machine: 127.0.0.0/8, ::1 and localhost. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase();
  return host === 'localhost' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** Validates the edge URL: HTTPS, or plain HTTP to loopback only; no credentials in it. */
export function parseEdgeUrl(text: string, source: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw usageError(`${source} is not a URL`);
  }
  if (url.username || url.password) throw usageError(`${source} must not carry credentials`);
  if (url.search || url.hash) throw usageError(`${source} must not have a query or fragment`);
  if (url.protocol === 'http:') {
    if (!isLoopbackHost(url.hostname)) {
      throw usageError(`${source} must use https:// (plain http:// is allowed only to 127.0.0.0/8, ::1 and localhost), got ${url.origin}`);
    }
  } else if (url.protocol !== 'https:') {
    throw usageError(`${source} must use https://, got ${url.protocol}`);
  }
  const base = new URL(url.href.endsWith('/') ? url.href : `${url.href}/`);
  return new URL('v1/credentials', base);
}

/**
 * Node reads NODE_TLS_REJECT_UNAUTHORIZED=0 (exactly "0") as "accept any certificate" for
 * every TLS connection in the process: the token would go to whoever answers. Refused
 * outright rather than warned about; a private CA belongs in NODE_EXTRA_CA_CERTS.
 */
function checkTlsEnvironment(env: Readonly<Record<string, string | undefined>>): void {
  if (env.NODE_TLS_REJECT_UNAUTHORIZED === '0') {
    throw usageError(
      'NODE_TLS_REJECT_UNAUTHORIZED=0 turns off TLS certificate checks, so the token could reach anyone; ' +
        'remove it from the provider env (for a private CA set NODE_EXTRA_CA_CERTS)',
    );
  }
}

export function parseOptions(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): Options {
  checkTlsEnvironment(env);
  const flags = parseFlags(argv, FLAGS);
  const setting = (name: keyof typeof FLAGS): [string, string] | undefined => {
    const fromFlag = flags.get(name)?.[0];
    if (fromFlag !== undefined) return [`--${name}`, fromFlag];
    const envName = ENV_PREFIX + (FLAGS[name]?.env ?? '');
    const fromEnv = env[envName];
    if (fromEnv !== undefined && fromEnv !== '') return [envName, fromEnv];
    return undefined;
  };

  const url = setting('url');
  if (!url) throw usageError(`no edge URL: set --url or ${ENV_PREFIX}URL in the provider config`);
  const endpoint = parseEdgeUrl(url[1], url[0]);

  const budget = setting('budget');
  const budgetMs = budget ? parseDurationSetting(budget[0], budget[1]) : DEFAULT_BUDGET_MS;
  if (budgetMs > MAX_BUDGET_MS) {
    throw usageError(`${budget?.[0]} must be at most 55s: the kubelet kills the plugin after 1 minute`);
  }
  const timeout = setting('attempt-timeout');
  const attemptTimeoutMs = timeout ? parseDurationSetting(timeout[0], timeout[1]) : Math.min(DEFAULT_ATTEMPT_TIMEOUT_MS, budgetMs);
  if (attemptTimeoutMs > budgetMs) throw usageError(`${timeout?.[0]} must not exceed the budget (${budgetMs}ms)`);

  const attempts = setting('max-attempts');
  let maxAttempts = DEFAULT_MAX_ATTEMPTS;
  if (attempts) {
    maxAttempts = Number(attempts[1]);
    if (!/^\d+$/.test(attempts[1]) || maxAttempts < 1 || maxAttempts > MAX_ATTEMPTS_LIMIT) {
      throw usageError(`${attempts[0]} must be a whole number from 1 to ${MAX_ATTEMPTS_LIMIT}, got ${JSON.stringify(attempts[1])}`);
    }
  }

  const verbose = setting('verbose');
  return {
    endpoint,
    attemptTimeoutMs,
    budgetMs,
    maxAttempts,
    verbose: verbose ? parseBoolean(verbose[0], verbose[1]) : false,
  };
}
