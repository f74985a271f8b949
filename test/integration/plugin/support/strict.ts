/**
 * What the kubelet does with the plugin's stdout, done strictly: one JSON document, only the
 * fields the request's apiVersion defines (an unknown field fails, as in the kubelet's
 * strict decoder), the right types, the same apiVersion as the request. And what it does
 * with stderr: logs it, so it must be one clean line without secrets.
 */
import { expect } from 'vitest';
import { API_VERSIONS } from './plugin';

const RESPONSE_FIELDS: Record<string, readonly string[]> = Object.fromEntries(
  API_VERSIONS.map((v) => [v, ['kind', 'apiVersion', 'cacheKeyType', 'cacheDuration', 'auth']]),
);
const AUTH_FIELDS = ['username', 'password'];
const GO_DURATION = /^(0|(\d+(\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)((\d+(\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h))*)$/;

export interface DecodedResponse {
  apiVersion: string;
  kind: string;
  cacheKeyType: 'Image' | 'Registry' | 'Global';
  cacheDuration?: string;
  auth?: Record<string, { username: string; password: string }>;
}

export function strictDecode(stdout: string, expectedApiVersion: string): DecodedResponse {
  if (!stdout.endsWith('\n') || stdout.indexOf('\n') !== stdout.length - 1) {
    throw new Error(`stdout is not exactly one line: ${JSON.stringify(stdout.slice(0, 200))}`);
  }
  const body = JSON.parse(stdout) as Record<string, unknown>;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new Error('stdout is not a JSON object');
  const allowed = RESPONSE_FIELDS[String(body.apiVersion)];
  if (!allowed) throw new Error(`unknown apiVersion ${String(body.apiVersion)}`);
  for (const key of Object.keys(body)) if (!allowed.includes(key)) throw new Error(`unknown field "${key}"`);
  if (body.apiVersion !== expectedApiVersion) throw new Error(`apiVersion ${String(body.apiVersion)}, want ${expectedApiVersion}`);
  if (body.kind !== 'CredentialProviderResponse') throw new Error(`kind ${String(body.kind)}`);
  if (!['Image', 'Registry', 'Global'].includes(body.cacheKeyType as string)) throw new Error(`cacheKeyType ${String(body.cacheKeyType)}`);
  if (body.cacheDuration !== undefined && (typeof body.cacheDuration !== 'string' || !GO_DURATION.test(body.cacheDuration))) {
    throw new Error(`cacheDuration ${String(body.cacheDuration)}`);
  }
  if (body.auth !== undefined) {
    if (typeof body.auth !== 'object' || body.auth === null || Array.isArray(body.auth)) throw new Error('auth is not a map');
    for (const [key, entry] of Object.entries(body.auth as Record<string, Record<string, unknown>>)) {
      for (const f of Object.keys(entry)) if (!AUTH_FIELDS.includes(f)) throw new Error(`unknown field auth["${key}"].${f}`);
      if (typeof entry.username !== 'string' || typeof entry.password !== 'string') throw new Error(`auth["${key}"] types`);
    }
  }
  return body as unknown as DecodedResponse;
}

/** stderr is one line from the plugin, mentioning none of the secrets. Returns the line. */
export function expectOneCleanLine(stderr: string, secrets: string[] = []): string {
  const lines = stderr.split('\n').filter((l) => l !== '');
  expect(lines, `stderr: ${stderr}`).toHaveLength(1);
  const [line = ''] = lines;
  expect(line).toMatch(/^edge-credential-provider: \S/);
  expectNoSecrets(stderr, secrets);
  return line;
}

export function expectNoSecrets(text: string, secrets: string[]): void {
  for (const s of secrets) {
    expect(s.length).toBeGreaterThan(5); // a vacuous secret would prove nothing
    expect(text).not.toContain(s);
  }
}
