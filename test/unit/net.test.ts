/** The edge and the exec plugin agree on what "loopback" means (plain http is allowed only there). */
import { describe, expect, it } from 'vitest';
import { isLoopbackHost as pluginLoopback } from '../../plugin/src/options';
import { isHttpsOrLoopback, isLoopbackHost as edgeLoopback, oidcIssuerProblem } from '../../src/net';

describe('loopback', () => {
  it.each([
    ['127.0.0.1', true],
    ['127.1.2.3', true],
    ['localhost', true],
    ['LOCALHOST', true],
    ['[::1]', true],
    ['128.0.0.1', false],
    ['10.0.0.1', false],
    ['localhost.example', false],
    ['example.com', false],
    ['[::ffff:127.0.0.1]', false],
    ['127.0.0.1.nip.io', false],
    ['0.0.0.0', false],
  ])('%s is loopback: %s, for the edge and the plugin alike', (host, expected) => {
    expect(edgeLoopback(host)).toBe(expected);
    expect(pluginLoopback(host)).toBe(expected);
  });

  it.each([
    ['https://issuer.example/jwks', true],
    ['http://127.0.0.1:8080/jwks', true],
    ['http://127.1/jwks', true],
    ['http://localhost/jwks', true],
    ['http://[::1]:9/jwks', true],
    ['http://issuer.example/jwks', false],
    ['ftp://127.0.0.1/x', false],
    ['not a url', false],
  ])('%s may serve keys: %s', (url, expected) => {
    expect(isHttpsOrLoopback(url)).toBe(expected);
  });
});

describe('oidcIssuerProblem (EDGE_ISSUER as an OpenID Connect issuer)', () => {
  it.each([
    ['https://ecp.example.com', undefined],
    ['https://ecp.example.com/', undefined],
    ['http://127.0.0.1:8787', undefined],
    ['edge-credential-provider', 'EDGE_ISSUER is not an https URL'],
    ['http://ecp.example.com', 'EDGE_ISSUER is not an https URL'],
    ['https://ecp.example.com/edge', 'EDGE_ISSUER has a path, query or credentials'],
    ['https://ecp.example.com/?a=1', 'EDGE_ISSUER has a path, query or credentials'],
    ['https://user:pw@ecp.example.com', 'EDGE_ISSUER has a path, query or credentials'],
  ])('%s', (issuer, problem) => {
    expect(oidcIssuerProblem(issuer)).toBe(problem);
  });
});
