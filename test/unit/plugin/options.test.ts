import { describe, expect, it } from 'vitest';
import {
  DEFAULT_ATTEMPT_TIMEOUT_MS,
  DEFAULT_BUDGET_MS,
  DEFAULT_MAX_ATTEMPTS,
  isLoopbackHost,
  parseBoolean,
  parseEdgeUrl,
  parseFlags,
  parseOptions,
} from '../../../plugin/src/options';
import { failureOf } from './support/failure';

const URL_ENV = 'EDGE_CREDENTIAL_PROVIDER_URL';
const EDGE = 'https://edge.example.com';

describe('isLoopbackHost', () => {
  // Hostnames as URL.hostname gives them: IPv6 in brackets, IPv4 in dotted-quad form.
  it.each(['127.0.0.1', '127.1.2.3', '127.255.255.255', 'localhost', 'LocalHost', '[::1]'])('counts %s as loopback', (host) => {
    expect(isLoopbackHost(host)).toBe(true);
  });

  it.each(['128.0.0.1', '10.0.0.1', '0.0.0.0', '[::2]', 'localhost.example.com', 'mylocalhost', '127.0.0.1.nip.io', 'edge.example.com'])(
    'does not count %s as loopback',
    (host) => {
      expect(isLoopbackHost(host)).toBe(false);
    },
  );
});

describe('parseEdgeUrl', () => {
  it.each([
    ['https://edge.example.com', 'https://edge.example.com/v1/credentials'],
    ['https://edge.example.com/', 'https://edge.example.com/v1/credentials'],
    ['https://edge.example.com/base', 'https://edge.example.com/base/v1/credentials'],
    ['https://edge.example.com:8443/base/', 'https://edge.example.com:8443/base/v1/credentials'],
    ['http://127.0.0.1:8787', 'http://127.0.0.1:8787/v1/credentials'],
    ['http://127.1:8787', 'http://127.0.0.1:8787/v1/credentials'],
    ['http://localhost:8787', 'http://localhost:8787/v1/credentials'],
    ['http://[::1]:8787', 'http://[::1]:8787/v1/credentials'],
  ])('turns %s into the endpoint %s', (text, endpoint) => {
    expect(parseEdgeUrl(text, '--url').href).toBe(endpoint);
  });

  it.each([
    ['text that is not a URL', 'edge.example.com'],
    ['plain http to a remote host', 'http://edge.example.com'],
    ['plain http to a private address', 'http://10.0.0.1:8787'],
    ['plain http to a name that only starts with localhost', 'http://localhost.example.com'],
    ['a scheme other than http and https', 'ftp://edge.example.com'],
    ['credentials in the URL', 'https://user:secret@edge.example.com'],
    ['a query', 'https://edge.example.com/?tenant=a'],
    ['a fragment', 'https://edge.example.com/#x'],
  ])('refuses %s as a usage error (exit 2)', (_what, text) => {
    expect(failureOf(() => parseEdgeUrl(text, '--url'))).toBe('usage 2');
  });
});

describe('parseFlags', () => {
  const KNOWN = { url: { takesValue: true }, verbose: { takesValue: false }, tag: { takesValue: true, repeat: true } };

  it.each([
    [['--url', 'x'], { url: ['x'] }],
    [['--url=x'], { url: ['x'] }],
    [['--url=a=b'], { url: ['a=b'] }],
    [['--url='], { url: [''] }],
    [['--verbose'], { verbose: ['true'] }],
    [['--verbose=false'], { verbose: ['false'] }],
    [['--tag', 'a', '--tag=b'], { tag: ['a', 'b'] }],
    [[], {}],
  ])('reads %j', (argv, expected) => {
    expect(Object.fromEntries(parseFlags(argv, KNOWN))).toEqual(expected);
  });

  it.each([
    ['a positional argument', ['x']],
    ['a single-dash flag', ['-url', 'x']],
    ['an unknown flag', ['--nope']],
    ['a flag missing its value', ['--url']],
    ['a flag given twice', ['--url', 'a', '--url', 'b']],
  ])('refuses %s as a usage error', (_what, argv) => {
    expect(failureOf(() => parseFlags(argv, KNOWN))).toBe('usage 2');
  });
});

describe('parseBoolean', () => {
  it.each([
    ['1', true],
    ['true', true],
    ['YES', true],
    ['on', true],
    ['0', false],
    ['false', false],
    ['No', false],
    ['off', false],
    ['', false],
  ])('reads %j as %s', (text, value) => {
    expect(parseBoolean('X', text)).toBe(value);
  });

  it.each(['2', 'y', 'enabled', ' true'])('refuses %j as a usage error', (text) => {
    expect(failureOf(() => parseBoolean('X', text))).toBe('usage 2');
  });
});

describe('parseOptions', () => {
  it('uses the defaults when only the URL is given', () => {
    expect(parseOptions(['--url', EDGE], {})).toEqual({
      endpoint: new URL(`${EDGE}/v1/credentials`),
      attemptTimeoutMs: DEFAULT_ATTEMPT_TIMEOUT_MS,
      budgetMs: DEFAULT_BUDGET_MS,
      maxAttempts: DEFAULT_MAX_ATTEMPTS,
      verbose: false,
    });
  });

  it.each([
    ['the URL from the environment', [], { [URL_ENV]: EDGE }, { endpoint: new URL(`${EDGE}/v1/credentials`) }],
    ['a flag over its variable', ['--url', EDGE], { [URL_ENV]: 'https://other.example.com' }, { endpoint: new URL(`${EDGE}/v1/credentials`) }],
    ['an empty variable as unset', ['--url', EDGE], { EDGE_CREDENTIAL_PROVIDER_BUDGET: '' }, { budgetMs: DEFAULT_BUDGET_MS }],
    [
      'every setting from the environment',
      [],
      {
        [URL_ENV]: EDGE,
        EDGE_CREDENTIAL_PROVIDER_ATTEMPT_TIMEOUT: '2s',
        EDGE_CREDENTIAL_PROVIDER_BUDGET: '30s',
        EDGE_CREDENTIAL_PROVIDER_MAX_ATTEMPTS: '2',
        EDGE_CREDENTIAL_PROVIDER_VERBOSE: '1',
      },
      { attemptTimeoutMs: 2_000, budgetMs: 30_000, maxAttempts: 2, verbose: true },
    ],
    [
      'a budget shorter than the default attempt timeout as the attempt timeout',
      ['--url', EDGE, '--budget', '3s'],
      {},
      { attemptTimeoutMs: 3_000, budgetMs: 3_000 },
    ],
    ['the longest budget allowed', ['--url', EDGE, '--budget=55s'], {}, { budgetMs: 55_000 }],
    ['ten attempts', ['--url', EDGE, '--max-attempts', '10'], {}, { maxAttempts: 10 }],
    ['NODE_TLS_REJECT_UNAUTHORIZED=1, which keeps checks on', ['--url', EDGE], { NODE_TLS_REJECT_UNAUTHORIZED: '1' }, {}],
    ['NODE_TLS_REJECT_UNAUTHORIZED=false, which Node does not read as "off"', ['--url', EDGE], { NODE_TLS_REJECT_UNAUTHORIZED: 'false' }, {}],
  ])('takes %s', (_what, argv, env, expected) => {
    expect(parseOptions(argv, env)).toMatchObject(expected);
  });

  it.each([
    ['no URL at all', [], {}],
    ["a budget over 55s, past the kubelet's one-minute limit", ['--url', EDGE, '--budget', '56s'], {}],
    ['a zero budget', ['--url', EDGE, '--budget', '0s'], {}],
    ['an attempt timeout longer than the budget', ['--url', EDGE, '--budget', '5s', '--attempt-timeout', '6s'], {}],
    ['an attempt timeout that is not a Go duration', ['--url', EDGE, '--attempt-timeout', '10'], {}],
    ['zero attempts', ['--url', EDGE, '--max-attempts', '0'], {}],
    ['eleven attempts', ['--url', EDGE, '--max-attempts', '11'], {}],
    ['a fractional attempt count', ['--url', EDGE, '--max-attempts', '2.5'], {}],
    ['a verbose variable that is not a boolean', [], { [URL_ENV]: EDGE, EDGE_CREDENTIAL_PROVIDER_VERBOSE: 'loud' }],
    ['NODE_TLS_REJECT_UNAUTHORIZED=0, which turns off certificate checks process-wide', ['--url', EDGE], { NODE_TLS_REJECT_UNAUTHORIZED: '0' }],
    ['NODE_TLS_REJECT_UNAUTHORIZED=0 even for a loopback edge', ['--url', 'http://127.0.0.1:8787'], { NODE_TLS_REJECT_UNAUTHORIZED: '0' }],
  ])('refuses %s as a usage error (exit 2)', (_what, argv, env) => {
    expect(failureOf(() => parseOptions(argv, env))).toBe('usage 2');
  });
});
