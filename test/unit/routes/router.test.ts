/**
 * EdgeRouter (routes/hono.ts) matches what Hono's RegExpRouter matches: every route pattern the
 * edge registers (the app's and the admin API's, in their order), each method, and paths chosen
 * to probe the edges (trailing slashes, empty and encoded segments, prefixes, wildcards).
 */
import { RegExpRouter } from 'hono/router/reg-exp-router';
import type { Result } from 'hono/router';
import { describe, expect, it } from 'vitest';
import { EdgeRouter } from '../../../src/routes/hono';

/** The edge's routes as app.ts and routes/admin.ts register them: [method, path]. */
const ROUTES: Array<[string, string]> = [
  ['GET', '/healthz'],
  ['GET', '/readyz'],
  ['GET', '/.well-known/jwks.json'],
  ['GET', '/.well-known/registry-jwks.json'],
  ['GET', '/.well-known/openid-configuration'],
  ['GET', '/.well-known/registry-certs.pem'],
  ['POST', '/v1/credentials'],
  ['ALL', '/admin/*'],
  ['PUT', '/v1/keys'],
  ['ALL', '/token'],
  // routes/admin.ts, its own pipeline: the middleware first
  ['ALL', '/admin/*'],
  ['GET', '/admin/v1/issuers'],
  ['GET', '/admin/v1/issuers/:name'],
  ['GET', '/admin/v1/issuers/:name/history'],
  ['PUT', '/admin/v1/issuers/:name'],
  ['DELETE', '/admin/v1/issuers/:name'],
  ['GET', '/admin/v1/issuers/:name/revocations'],
  ['POST', '/admin/v1/issuers/:name/revocations'],
  ['DELETE', '/admin/v1/issuers/:name/revocations/:id'],
  ['POST', '/admin/v1/explain'],
  ['GET', '/admin/v1/issuers/:name/keys'],
  ['ALL', '*'],
];

const PATHS = [
  '/',
  '',
  '/healthz',
  '/healthz/',
  '/healthzz',
  '/HEALTHZ',
  '/.well-known/jwks.json',
  '/.well-known/jwksXjson',
  '/.well-known/jwks.json/',
  '/v1/credentials',
  '/v1/credentials/',
  '/v1/keys',
  '/token',
  '/token/',
  '/tokens',
  '/admin',
  '/admin/',
  '/adminx',
  '/admin/v1',
  '/admin/v1/issuers',
  '/admin/v1/issuers/',
  '/admin/v1/issuers/prod',
  '/admin/v1/issuers/prod/',
  '/admin/v1/issuers/prod/history',
  '/admin/v1/issuers/prod/revocations',
  '/admin/v1/issuers/prod/revocations/rv-1',
  '/admin/v1/issuers/prod/revocations/rv-1/x',
  '/admin/v1/issuers//revocations',
  '/admin/v1/issuers/a.b%2Fc/keys',
  '/admin/v1/issuers/a\nb',
  '/admin/\n',
  '/admin/v1/explain',
  '/admin/v1/issuers/prod/keys',
  '/other',
];
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'];

/** Handlers (their index in ROUTES) and params, whichever of Hono's two result forms the router answers with. */
function normalise(result: Result<number>) {
  const [matches, stash] = result as [Array<[number, Record<string, string | number>]>, string[] | undefined];
  return matches.map(([handler, params]) => [handler, Object.fromEntries(Object.entries(params).map(([k, v]) => [k, stash ? stash[v as number] : v]))]);
}

describe('EdgeRouter', () => {
  const ours = new EdgeRouter<number>();
  const hono = new RegExpRouter<number>();
  ROUTES.forEach(([method, path], i) => {
    ours.add(method, path, i);
    hono.add(method, path, i);
  });

  it.each(PATHS)('matches %j as RegExpRouter does, for every method', (path) => {
    for (const method of METHODS) expect([method, normalise(ours.match(method, path))]).toEqual([method, normalise(hono.match(method, path))]);
  });

  it.each(['/a/:name?', '/a/:name{[0-9]+}', '/a/*/b', '/a*', '/a/:na-me', '/a/x:y'])('refuses a pattern outside those it supports: %s', (path) => {
    expect(() => new EdgeRouter<number>().add('GET', path, 0)).toThrow();
  });
});
