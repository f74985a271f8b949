import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config';
import type { Env } from '../../src/env';
import { EdgeError } from '../../src/errors';

const env = (vars: Partial<Env>) => ({ TRUST: {} as KVNamespace, ...vars }) as Env;

describe('loadConfig', () => {
  it('fills documented defaults', () => {
    expect(loadConfig(env({}))).toEqual({
      edgeIssuer: 'edge-credential-provider',
      registryTokenIssuer: 'edge-credential-provider/registry-token',
      jwksCooldownMs: 30_000,
      log: true,
      allowEndpointOverrides: false,
    });
  });

  it('reads every setting', () => {
    expect(
      loadConfig(
        env({
          EDGE_ISSUER: 'https://e.test',
          REGISTRY_TOKEN_ISSUER: 'https://r.test',
          JWKS_COOLDOWN_SECONDS: '5',
          AUDIT_LOG: 'off',
          ALLOW_ENDPOINT_OVERRIDES: 'on',
        }),
      ),
    ).toEqual({
      edgeIssuer: 'https://e.test',
      registryTokenIssuer: 'https://r.test',
      jwksCooldownMs: 5000,
      log: false,
      allowEndpointOverrides: true,
    });
  });

  it('gives registry tokens an issuer of their own by default: EDGE_ISSUER + /registry-token', () => {
    expect(loadConfig(env({ EDGE_ISSUER: 'https://ecp.example.com/' }))).toMatchObject({
      edgeIssuer: 'https://ecp.example.com/',
      registryTokenIssuer: 'https://ecp.example.com/registry-token',
    });
    expect(loadConfig(env({ EDGE_ISSUER: 'https://e.test', REGISTRY_TOKEN_ISSUER: 'https://e.test' }))).toMatchObject({
      registryTokenIssuer: 'https://e.test',
    });
  });

  it('keeps ACCESS_WRITERS lowercase, so that writers compare case-insensitively', () => {
    const config = loadConfig(env({ ACCESS_TEAM_DOMAIN: 'https://t.cloudflareaccess.com', ACCESS_AUD: 'a', ACCESS_WRITERS: ' Alice@Example.COM ,ci.access' }));
    expect(config.access?.writers).toEqual(['alice@example.com', 'ci.access']);
  });

  it('treats an empty value as unset', () => {
    expect(loadConfig(env({ JWKS_COOLDOWN_SECONDS: '', EDGE_ISSUER: '' }))).toMatchObject({ jwksCooldownMs: 30_000, edgeIssuer: 'edge-credential-provider' });
  });

  it.each([
    ['a cooldown that is not a number', { JWKS_COOLDOWN_SECONDS: 'abc' }, 'JWKS_COOLDOWN_SECONDS'],
    ['a negative cooldown', { JWKS_COOLDOWN_SECONDS: '-1' }, 'JWKS_COOLDOWN_SECONDS'],
    ['a fractional cooldown', { JWKS_COOLDOWN_SECONDS: '1.5' }, 'JWKS_COOLDOWN_SECONDS'],
    ['an AUDIT_LOG that is neither on nor off', { AUDIT_LOG: 'false' }, 'AUDIT_LOG'],
    ['a cooldown of six digits', { JWKS_COOLDOWN_SECONDS: '100000' }, 'JWKS_COOLDOWN_SECONDS'],
    ['an ALLOW_ENDPOINT_OVERRIDES of yes', { ALLOW_ENDPOINT_OVERRIDES: 'yes' }, 'ALLOW_ENDPOINT_OVERRIDES'],
    ['an EDGE_ISSUER over 2,048 characters', { EDGE_ISSUER: `https://${'e'.repeat(2041)}` }, 'EDGE_ISSUER'],
    ['an ACCESS_AUD over 1,024 characters', { ACCESS_AUD: 'a'.repeat(1025) }, 'ACCESS_AUD'],
    ['a setting bound to something other than text', { AUDIT_LOG: 1 as unknown as string }, 'AUDIT_LOG'],
  ])('refuses %s with ERR_NOT_CONFIGURED naming the setting', (_t, vars, name) => {
    let err: unknown;
    try {
      loadConfig(env(vars));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(EdgeError);
    expect((err as EdgeError).code).toBe('ERR_NOT_CONFIGURED');
    expect((err as EdgeError).status).toBe(503);
    expect((err as EdgeError).detail).toContain(name);
  });
});
