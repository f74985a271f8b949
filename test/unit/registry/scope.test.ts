import { describe, expect, it } from 'vitest';
import { EdgeError } from '../../../src/errors';
import type { Grant } from '../../../src/policy/grant';
import { formatScopes, intersect, MAX_SCOPES, parseResourceScope, parseScopes } from '../../../src/registry/scope';

/** distribution's RepositoryNameTotalLengthMax, pinned here rather than imported. */
const MAX_NAME_LENGTH = 255;
/** A valid repository path of exactly `n` characters: `a/a/.../a`, or `a/.../app` with `app`. */
const pathOf = (n: number, last = 'a') => `${'a/'.repeat((n - last.length) / 2)}${last}`;

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof EdgeError ? `${err.status} ${err.code}` : 'not an EdgeError';
  }
  return undefined;
}

describe('parseResourceScope', () => {
  it.each([
    ['repository:team-a/app:pull', { type: 'repository', name: 'team-a/app', actions: ['pull'] }],
    ['repository:team-a/app:pull,push', { type: 'repository', name: 'team-a/app', actions: ['pull', 'push'] }],
    ['repository:app:push', { type: 'repository', name: 'app', actions: ['push'] }],
    ['repository:127.0.0.1:5000/team-a/app:pull', { type: 'repository', name: '127.0.0.1:5000/team-a/app', actions: ['pull'] }],
    ['repository:localhost:5000/app:pull,push', { type: 'repository', name: 'localhost:5000/app', actions: ['pull', 'push'] }],
    ['repository:registry.example.com/team/app:pull', { type: 'repository', name: 'registry.example.com/team/app', actions: ['pull'] }],
    ['repository:Registry.Example.com/team/app:pull', { type: 'repository', name: 'Registry.Example.com/team/app', actions: ['pull'] }],
    ['repository(plugin):team-a/plugin:pull', { type: 'repository', class: 'plugin', name: 'team-a/plugin', actions: ['pull'] }],
    ['registry:catalog:*', { type: 'registry', name: 'catalog', actions: ['*'] }],
    ['repository:team-a/app:', { type: 'repository', name: 'team-a/app', actions: [] }],
    ['repository:team-a/app:pull,pull,push', { type: 'repository', name: 'team-a/app', actions: ['pull', 'push'] }],
    ['repository:team-a/app:delete', { type: 'repository', name: 'team-a/app', actions: ['delete'] }],
    ['repository:a/b__c/d---e.f_g/h0:pull', { type: 'repository', name: 'a/b__c/d---e.f_g/h0', actions: ['pull'] }],
  ])('parses %s', (scope, expected) => {
    expect(parseResourceScope(scope)).toEqual(expected);
  });

  it.each([
    ['no colon', 'repository'],
    ['only one colon', 'repository:team-a/app'],
    ['an empty type', ':team-a/app:pull'],
    ['an uppercase type', 'Repository:team-a/app:pull'],
    ['an unclosed class', 'repository(plugin:team-a/app:pull'],
    ['an empty class', 'repository():team-a/app:pull'],
    ['an empty name', 'repository::pull'],
    ['an uppercase path component', 'repository:team-a/App:pull'],
    ['an empty path component', 'repository:team-a//app:pull'],
    ['a leading slash', 'repository:/team-a/app:pull'],
    ['a trailing slash', 'repository:team-a/app/:pull'],
    ['a component starting with a separator', 'repository:team-a/-app:pull'],
    ['a component ending with a separator', 'repository:team-a/app.:pull'],
    ['a triple underscore', 'repository:team-a/a___b:pull'],
    ['a non-numeric port', 'repository:host:port/app:pull'],
    ['two colons in the name', 'repository:a:1:2/app:pull'],
    ['a port without a path', 'repository:localhost:5000:pull'],
    ['an uppercase action', 'repository:team-a/app:PULL'],
    ['a bad action separator', 'repository:team-a/app:pull;push'],
    ['a space inside', 'repository:team a/app:pull'],
    ['an oversized name', `repository:${'a/'.repeat(300)}a:pull`],
  ])('rejects a scope with %s as a 400 bad request', (_why, scope) => {
    expect(codeOf(() => parseResourceScope(scope))).toBe('400 ERR_BAD_REQUEST');
  });

  it.each([
    ['a plain name', ''],
    ['a name after a registry host', '127.0.0.1:5000/'],
    ['a name after localhost', 'localhost/'],
  ])('takes %s of up to 255 characters and refuses one longer as a 400', (_title, host) => {
    expect(pathOf(MAX_NAME_LENGTH)).toHaveLength(MAX_NAME_LENGTH);
    expect(pathOf(MAX_NAME_LENGTH + 1, 'ab')).toHaveLength(MAX_NAME_LENGTH + 1);
    expect(parseResourceScope(`repository:${host}${pathOf(MAX_NAME_LENGTH)}:pull`).name).toBe(`${host}${pathOf(MAX_NAME_LENGTH)}`);
    expect(codeOf(() => parseResourceScope(`repository:${host}${pathOf(MAX_NAME_LENGTH + 1, 'ab')}:pull`))).toBe('400 ERR_BAD_REQUEST');
  });

  it('says why a scope with an oversized name is refused', () => {
    expect(() => parseResourceScope(`repository:${pathOf(MAX_NAME_LENGTH + 1, 'ab')}:pull`)).toThrowError(/at most 255 characters/);
  });

  // What it costs is measured in the bench (floor: app/token/GET/64-hostile-scopes), not timed here.
  it('rejects a long name that turns illegal at its last character', () => {
    expect(codeOf(() => parseResourceScope(`repository:${'a'.repeat(250)}!:pull`))).toBe('400 ERR_BAD_REQUEST');
  });
});

describe('parseScopes', () => {
  it('splits space-separated lists and repeated parameters alike, ignoring empty entries', () => {
    const scopes = parseScopes(['repository:a/b:pull repository:a/c:push', '', 'registry:catalog:*  ']);
    expect(scopes.map((s) => s.name)).toEqual(['a/b', 'a/c', 'catalog']);
  });

  it('answers no scopes with an empty list', () => {
    expect(parseScopes([])).toEqual([]);
  });

  it('rejects a request with more than MAX_SCOPES scopes', () => {
    const many = Array.from({ length: MAX_SCOPES + 1 }, (_, i) => `repository:a/r${i}:pull`);
    expect(codeOf(() => parseScopes(many))).toBe('400 ERR_BAD_REQUEST');
    expect(parseScopes(many.slice(0, MAX_SCOPES))).toHaveLength(MAX_SCOPES);
  });

  it('rejects the whole request when any one scope is malformed', () => {
    expect(codeOf(() => parseScopes(['repository:a/b:pull', 'repository:A/B/C:pull']))).toBe('400 ERR_BAD_REQUEST');
  });
});

describe('intersect', () => {
  const pushPull: Grant[] = [{ repositories: ['team-a/*'], actions: ['pull', 'push'] }];
  const pullOnly: Grant[] = [{ repositories: ['team-a/*'], actions: ['pull'] }];
  const split: Grant[] = [
    { repositories: ['team-a/*'], actions: ['pull'] },
    { repositories: ['team-a/app', 'shared/**'], actions: ['push'] },
  ];

  it.each([
    ['grants all that is asked when the grant covers it', pushPull, ['repository:team-a/app:pull,push'], [{ name: 'team-a/app', actions: ['pull', 'push'] }]],
    ['grants only what is asked', pushPull, ['repository:team-a/app:pull'], [{ name: 'team-a/app', actions: ['pull'] }]],
    ['drops push from a pull-only grant', pullOnly, ['repository:team-a/app:pull,push'], [{ name: 'team-a/app', actions: ['pull'] }]],
    ['grants nothing for another namespace', pushPull, ['repository:team-b/app:pull'], []],
    ['grants nothing below a single-level glob', pushPull, ['repository:team-a/tools/app:pull'], []],
    ['grants nothing for a host-prefixed name the patterns do not cover', pushPull, ['repository:127.0.0.1:5000/team-a/app:pull'], []],
    ['never grants the registry catalog', pushPull, ['registry:catalog:*'], []],
    ['never grants an unknown resource type', pushPull, ['blob:team-a/app:pull'], []],
    ['never grants actions other than pull and push', pushPull, ['repository:team-a/app:delete,*'], []],
    [
      'treats repository(plugin) as repository and drops the class',
      pushPull,
      ['repository(plugin):team-a/app:pull'],
      [{ name: 'team-a/app', actions: ['pull'] }],
    ],
    [
      'merges a repository asked for twice',
      pushPull,
      ['repository:team-a/app:push', 'repository:team-a/app:pull'],
      [{ name: 'team-a/app', actions: ['pull', 'push'] }],
    ],
    [
      'unions actions across grants that match',
      split,
      ['repository:team-a/app:pull,push', 'repository:team-a/web:pull,push', 'repository:shared/x/y:push'],
      [
        { name: 'team-a/app', actions: ['pull', 'push'] },
        { name: 'team-a/web', actions: ['pull'] },
        { name: 'shared/x/y', actions: ['push'] },
      ],
    ],
    [
      'keeps what it can of a partly granted request',
      pushPull,
      ['repository:team-a/app:pull', 'repository:team-b/app:pull'],
      [{ name: 'team-a/app', actions: ['pull'] }],
    ],
    [
      'matches the longest names against many-wildcard patterns',
      [{ repositories: ['**/**/**/app'], actions: ['pull'] }],
      [`repository:${pathOf(255)}:pull`, `repository:${pathOf(255, 'app')}:pull`],
      [{ name: pathOf(255, 'app'), actions: ['pull'] }],
    ],
  ] as const)('%s', (_title, grants, scopes, expected) => {
    const access = intersect(parseScopes(scopes), grants as unknown as Grant[]);
    expect(access).toEqual(expected.map((e) => ({ type: 'repository', ...e })));
  });
});

describe('formatScopes', () => {
  it('writes granted access in the scope-list form', () => {
    expect(
      formatScopes([
        { type: 'repository', name: 'team-a/app', actions: ['pull', 'push'] },
        { type: 'repository', name: 'team-a/web', actions: ['pull'] },
      ]),
    ).toBe('repository:team-a/app:pull,push repository:team-a/web:pull');
    expect(formatScopes([])).toBe('');
  });
});
