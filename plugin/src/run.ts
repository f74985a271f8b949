/**
 * The plugin as a function: everything the process offers comes in through `RunIO`, an exit
 * code comes out. `main.ts` wires it to the real process; tests may drive it directly.
 *
 * Credential mode (no subcommand): read the kubelet's request from stdin (bounded), forward
 * it to the edge, check the answer, write it to stdout once. Any failure: nothing on stdout,
 * one line on stderr, exit code 1 (2 for a misconfigured plugin).
 */
import { readBounded } from './bytes';
import { exchange, type Clock, type HttpPost } from './client';
import { generateConfig, GENERATE_CONFIG_USAGE } from './config';
import { EXIT_FAILURE, EXIT_OK, inputError, PluginError, protocolError, usageError } from './errors';
import { install, INSTALL_USAGE, uninstall, UNINSTALL_USAGE, type Files } from './install';
import { parseOptions } from './options';
import { checkResponse, parseRequest } from './protocol';
import { fingerprint, Redactor } from './redact';

declare const __PLUGIN_VERSION__: string;
export const VERSION = typeof __PLUGIN_VERSION__ === 'string' ? __PLUGIN_VERSION__ : '0.0.0-dev';
export const NAME = 'edge-credential-provider';

/** Same limit as the edge's body limit; a kubelet request is well under 8 KiB. */
export const MAX_STDIN_BYTES = 64 * 1024;

export interface Writable {
  write(chunk: string): unknown;
}

export interface RunIO {
  stdin: AsyncIterable<Uint8Array | string>;
  stdout: Writable;
  stderr: Writable;
  /** HTTP POST: node:http in main.ts (see transport.ts); anything fetch-shaped in tests. */
  post: HttpPost;
  env: Readonly<Record<string, string | undefined>>;
  /** Arguments after the program name. */
  argv: readonly string[];
  clock?: Partial<Clock>;
  /** The file system for install/uninstall: files.ts in main.ts, an in-memory one in tests. */
  files?: Files;
  /** This executable (the SEA) or script, which install --copy-binary-to copies. */
  self?: string;
}

export const USAGE = `Usage:
  ${NAME} --url https://EDGE [--attempt-timeout 10s] [--budget 45s] [--max-attempts 4] [--verbose]
      Kubelet credential provider: reads a CredentialProviderRequest on stdin, writes the
      CredentialProviderResponse on stdout. Every flag has an environment variable:
      EDGE_CREDENTIAL_PROVIDER_URL, _ATTEMPT_TIMEOUT, _BUDGET, _MAX_ATTEMPTS, _VERBOSE=1.
  ${NAME} generate-config --url https://EDGE --match-image HOST --audience AUD [...]
      Prints a kubelet CredentialProviderConfig. See "${NAME} generate-config --help".
  ${NAME} install --config FILE|DIR --url https://EDGE --match-image HOST --audience AUD [...]
      Adds or updates this provider in the node's CredentialProviderConfig, keeping the
      others; prints "changed: FILE" or "unchanged: FILE". See "${NAME} install --help".
  ${NAME} uninstall --config FILE|DIR [--name NAME]
      Removes this provider (only it) again. See "${NAME} uninstall --help".
  ${NAME} --version
Exit codes: 0 ok, 1 failed (the reason is the one line on stderr), 2 misconfigured.
`;

const realClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  random: () => Math.random(),
};

/** Reads stdin up to `max` bytes, or fails; gives up at `deadline`. */
async function readStdin(stdin: RunIO['stdin'], max: number, clock: Clock, deadline: number): Promise<string> {
  const read = (async () => {
    const all = await readBounded(stdin, max, () => inputError(`the request on stdin is larger than ${max} bytes`));
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(all);
    } catch {
      throw inputError('the request on stdin is not valid UTF-8');
    }
  })();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(inputError('no complete request on stdin within the budget')), Math.max(0, deadline - clock.now()));
  });
  try {
    return await Promise.race([read, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export async function run(io: RunIO): Promise<number> {
  const clock: Clock = { ...realClock, ...io.clock };
  const started = clock.now();
  const redactor = new Redactor();
  const fail = (line: string) => io.stderr.write(`${NAME}: ${redactor.scrub(line)}\n`);

  const [command, ...rest] = io.argv;
  try {
    if (command === '--help' || command === '-h' || command === 'help') {
      io.stdout.write(USAGE);
      return EXIT_OK;
    }
    if (command === '--version') {
      io.stdout.write(`${NAME} ${VERSION}\n`);
      return EXIT_OK;
    }
    if (command === 'generate-config') {
      if (rest.includes('--help') || rest.includes('-h')) {
        io.stdout.write(GENERATE_CONFIG_USAGE);
        return EXIT_OK;
      }
      io.stdout.write(generateConfig(rest));
      return EXIT_OK;
    }
    if (command === 'install' || command === 'uninstall') {
      if (rest.includes('--help') || rest.includes('-h')) {
        io.stdout.write(command === 'install' ? INSTALL_USAGE : UNINSTALL_USAGE);
        return EXIT_OK;
      }
      if (!io.files) throw usageError(`${command} needs a file system`);
      const outcome = command === 'install' ? install(rest, io.files, io.self) : uninstall(rest, io.files);
      for (const note of outcome.notes) io.stderr.write(`${NAME}: ${note}\n`);
      io.stdout.write(`${outcome.changed ? 'changed' : 'unchanged'}: ${outcome.path}\n`);
      return EXIT_OK;
    }

    const opts = parseOptions(io.argv, io.env);
    const debug = opts.verbose ? (line: string) => fail(`[verbose] ${line}`) : () => {};
    const deadline = started + opts.budgetMs;
    debug(
      `${NAME} ${VERSION}: edge ${opts.endpoint.origin}${opts.endpoint.pathname}, attempt timeout ${opts.attemptTimeoutMs}ms, ` +
        `budget ${opts.budgetMs}ms, at most ${opts.maxAttempts} attempts`,
    );

    const text = await readStdin(io.stdin, MAX_STDIN_BYTES, clock, deadline);
    const request = parseRequest(text);
    redactor.add(request.serviceAccountToken);
    if (opts.verbose)
      debug(
        `request: ${request.apiVersion}, image ${JSON.stringify(request.image)}, ` +
          (request.serviceAccountToken ? `service-account token ${fingerprint(request.serviceAccountToken)}` : 'no service-account token') +
          `, ${Object.keys(request.serviceAccountAnnotations ?? {}).length} annotation(s)`,
      );

    const answer = await exchange(
      JSON.stringify(request),
      opts,
      {
        post: io.post,
        clock,
        debug,
        userAgent: `${NAME}/${VERSION}`,
      },
      deadline,
    );

    let body: unknown;
    try {
      body = JSON.parse(answer);
    } catch {
      throw protocolError("the edge's response is not valid JSON");
    }
    // Passwords join the redaction list before anything about the answer is logged.
    const auth = (body as { auth?: Record<string, { password?: unknown }> } | null)?.auth;
    if (auth && typeof auth === 'object') {
      for (const entry of Object.values(auth)) redactor.add(typeof entry?.password === 'string' ? entry.password : undefined);
    }
    const response = checkResponse(body, request);
    debug(
      `response: cacheKeyType ${response.cacheKeyType}, cacheDuration ${response.cacheDuration ?? '(config default)'}, ` +
        `auth for ${JSON.stringify(Object.keys(response.auth ?? {}))}, ${clock.now() - started}ms in all`,
    );
    io.stdout.write(`${JSON.stringify(response)}\n`);
    return EXIT_OK;
  } catch (err) {
    if (err instanceof PluginError) {
      fail(err.message);
      return err.exitCode;
    }
    // A bug, not an expected failure: name it without echoing values that may be secret.
    fail(`internal error (${err instanceof Error ? err.name : typeof err}); please report it`);
    return EXIT_FAILURE;
  }
}
