import { describe, expect, it } from 'vitest';
import { compileNameGlob, compileRepositoryGlob } from '../../../src/policy/pattern';

describe('compileRepositoryGlob', () => {
  it.each([
    ['team-a/app', 'team-a/app', true],
    ['team-a/app', 'team-a/app2', false],
    ['team-a/*', 'team-a/app', true],
    ['team-a/*', 'team-a/tools/app', false],
    ['team-a/*', 'team-a', false],
    ['team-a/**', 'team-a/tools/app', true],
    ['team-a/**', 'team-ab/app', false],
    ['*/app', 'x/app', true],
    ['team-a/app-*', 'team-a/app-web', true],
    ['team.a/*', 'teamxa/app', false],
    ['**', 'anything/at/all', true],
  ])('%s against %s is %s', (pattern, value, expected) => {
    expect(compileRepositoryGlob(pattern)(value)).toBe(expected);
  });
});

describe('compileNameGlob', () => {
  it.each([
    ['team-a', 'team-a', true],
    ['team-a', 'team-ab', false],
    ['team-*', 'team-b', true],
    ['team-*', 'xteam-b', false],
    ['*', 'anything', true],
    ['a.b', 'axb', false],
  ])('%s against %s is %s', (pattern, value, expected) => {
    expect(compileNameGlob(pattern)(value)).toBe(expected);
  });
});
