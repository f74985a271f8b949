import { describe, expect, it } from 'vitest';
import { anyOf, compileNameGlob, compileRepositoryGlob, type Matcher } from '../../../src/policy/pattern';

// Patterns of more than 31 tokens, or with a non-ASCII character, take the state-list path.
const long = 'x'.repeat(35);
const x29 = 'x'.repeat(29);
const hostileName = `${'a/'.repeat(127)}a`; // 255 characters, 127 slashes, not ending in /app

describe('compileRepositoryGlob', () => {
  it.each([
    // literal patterns
    ['team-a/app', 'team-a/app', true],
    ['team-a/app', 'team-a/app2', false],
    ['', '', true],
    ['', 'a', false],
    // `*`: within one path component, possibly empty
    ['team-a/*', 'team-a/app', true],
    ['team-a/*', 'team-a/tools/app', false],
    ['team-a/*', 'team-a', false],
    ['team-a/*', 'team-a/', true],
    ['*/app', 'x/app', true],
    ['*/app', '/app', true],
    ['*/app', 'x/y/app', false],
    ['team-a/app-*', 'team-a/app-web', true],
    ['*', '', true],
    ['*', 'app', true],
    ['*', 'a/b', false],
    ['a*', 'a', true],
    ['*a', 'ba', true],
    ['*a*', 'xay', true],
    ['a*b', 'a/b', false],
    ['a/*/b', 'a//b', true],
    ['a/*/b', 'a/x/y/b', false],
    ['*/*', 'a/b', true],
    ['*/*', 'a/b/c', false],
    // `**`: across components, at the start, the end or the middle
    ['team-a/**', 'team-a/tools/app', true],
    ['team-a/**', 'team-a/app', true],
    ['team-a/**', 'team-a/', true],
    ['team-a/**', 'team-a', false],
    ['team-a/**', 'team-ab/app', false],
    ['**', '', true],
    ['**', 'anything/at/all', true],
    ['**/app', 'x/y/app', true],
    ['**/app', '/app', true],
    ['**/app', 'app', false],
    ['**/app', 'x/app2', false],
    ['a/**/b', 'a/x/b', true],
    ['a/**/b', 'a/x/y/b', true],
    ['a/**/b', 'a//b', true],
    ['a/**/b', 'a/b', false],
    ['a**b', 'a/x/b', true],
    ['a**b', 'ab', true],
    ['**/**/**/app', 'a/b/c/app', true],
    ['**/**/**/app', '///app', true],
    ['**/**/**/app', 'a/b/app', false],
    ['**/**/**/app', hostileName, false],
    ['**/**/**/app', `${'a/'.repeat(126)}app`, true],
    ['**/*', 'a/b/c', true],
    ['**/*', 'abc', false],
    ['*/**', 'a/b/c', true],
    // longer runs of stars, which the schema refuses: `**` first, left to right
    ['a/***', 'a/b/c', true],
    ['***', '', true],
    ['a****b', 'a/x/y/b', true],
    // dots, dashes and regular-expression metacharacters are literal
    ['team.a/*', 'teamxa/app', false],
    ['team.a/*', 'team.a/app', true],
    ['a-b/*', 'a-b/c', true],
    ['a_b/*', 'a_b/c', true],
    ['a+b/*', 'aab/c', false],
    ['a+b/*', 'a+b/c', true],
    ['(a|b)/*', 'a/c', false],
    ['(a|b)/*', '(a|b)/c', true],
    ['[ab]/*', 'a/x', false],
    ['[ab]/*', '[ab]/x', true],
    ['a?/*', 'a/x', false],
    ['a{2}/*', 'aa/x', false],
    ['^a$/*', '^a$/x', true],
    ['a\\d/*', 'a1/x', false],
    ['a\\d/*', 'a\\d/x', true],
    ['.*', 'x', false],
    ['.*', '.x', true],
    // anchored at both ends
    ['app*', 'my-app', false],
    ['*app', 'app-x', false],
    // 31 tokens (the last bit of the bit path), 32 and more tokens, and non-ASCII literals
    [`${x29}/*`, `${x29}/app`, true],
    [`${x29}/*`, `${x29}/a/b`, false],
    [`${x29}x/*`, `${x29}x/app`, true],
    [`${x29}x/*`, `${x29}x/a/b`, false],
    [`${long}/*`, `${long}/app`, true],
    [`${long}/*`, `${long}/a/b`, false],
    [`**/${long}`, `a/b/${long}`, true],
    [`**/${long}`, `a/b/${long}y`, false],
    ['é/*', 'é/app', true],
    ['é/*', 'e/app', false],
  ])('%s against %s is %s', (pattern, value, expected) => {
    expect(compileRepositoryGlob(pattern)(value)).toBe(expected);
  });
});

describe('compileNameGlob', () => {
  it.each([
    ['team-a', 'team-a', true],
    ['team-a', 'team-ab', false],
    ['team-*', 'team-b', true],
    ['team-*', 'team-', true],
    ['team-*', 'xteam-b', false],
    ['*', 'anything', true],
    ['*', '', true],
    ['a.b', 'axb', false],
    ['a.b', 'a.b', true],
    ['*-prod', 'team-a-prod', true],
    ['*-prod', 'team-a-prod-x', false],
    ['*-*', '-', true],
    ['a*b*c', 'abbc', true],
    ['a*b*c', 'ac', false],
    ['a*b*c', 'acb', false],
    ['**', 'x', true],
    ['a**b', 'a/x/b', true], // a name's `*` has no components to stay within
    ['a+*', 'aa', false],
    ['a+*', 'a+', true],
    ['$*', '$x', true],
    ['[a]*', 'a', false],
    [`${x29}x*`, `${x29}x`, true],
    [`${x29}x*`, x29, false],
    [`${long}*`, `${long}yz`, true],
    [`*${long}`, `y${long.slice(1)}`, false],
    ['é*', 'éa', true],
    ['é*', 'ea', false],
  ])('%s against %s is %s', (pattern, value, expected) => {
    expect(compileNameGlob(pattern)(value)).toBe(expected);
  });
});

describe('anyOf', () => {
  it('matches when any of its matchers does, and nothing when it has none', () => {
    const m = anyOf(['team-a/*', 'shared/**'].map(compileRepositoryGlob));
    expect([m('team-a/app'), m('shared/x/y'), m('team-b/app')]).toEqual([true, true, false]);
    expect(anyOf([])('x')).toBe(false);
  });
});

// The regular-expression compilation these matchers replaced: the reference they must agree with.
const escapeRe = (s: string) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
function regexNameGlob(pattern: string): Matcher {
  const re = new RegExp(`^${pattern.split(/\*+/).map(escapeRe).join('.*')}$`);
  return (value) => re.test(value);
}
function regexRepositoryGlob(pattern: string): Matcher {
  const source = pattern
    .split('**')
    .map((part) => part.split('*').map(escapeRe).join('[^/]*'))
    .join('.*');
  const re = new RegExp(`^${source}$`);
  return (value) => re.test(value);
}

/** mulberry32: a small seeded generator, so every run checks the same cases. */
function random(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

const VALUE_CHARS = 'ab/.-+';

/**
 * Cases that exercise matches as well as misses: half the values are the pattern with each
 * star filled in (then sometimes one character changed, added or dropped), half random.
 */
function cases(seed: number, count: number, minLength: number, maxLength: number): Array<[string, string]> {
  const rnd = random(seed);
  const pick = (s: string) => s[Math.floor(rnd() * s.length)]!;
  const text = (n: number) => Array.from({ length: n }, () => pick(VALUE_CHARS)).join('');
  // Few slashes in what fills a wildcard, or a long pattern's `*`s would hardly ever match.
  const fill = (n: number) => Array.from({ length: n }, () => (rnd() < 0.1 ? '/' : pick('ab.-+'))).join('');
  const out: Array<[string, string]> = [];
  for (let k = 0; k < count; k++) {
    const length = minLength + Math.floor(rnd() * (maxLength - minLength + 1));
    const pattern = Array.from({ length }, () => (rnd() < 0.3 ? '*' : pick('ab/.-'))).join('');
    let value: string;
    if (rnd() < 0.5) {
      value = text(Math.floor(rnd() * (length + 4)));
    } else {
      value = pattern.replace(/\*/g, () => fill(Math.floor(rnd() * 4)));
      const at = Math.floor(rnd() * (value.length + 1));
      const edit = rnd();
      if (edit < 0.15) value = value.slice(0, at) + pick(VALUE_CHARS) + value.slice(at + 1);
      else if (edit < 0.3) value = value.slice(0, at) + pick(VALUE_CHARS) + value.slice(at);
      else if (edit < 0.45) value = value.slice(0, at) + value.slice(at + 1);
    }
    out.push([pattern, value]);
  }
  return out;
}

describe('the matchers agree with the regular expressions they replaced', () => {
  // Short patterns take the bit-parallel path, long ones (over 31 tokens) the state list.
  const sets = [
    ['short', cases(20251127, 6000, 0, 8)],
    ['31-token boundary', cases(31, 1500, 26, 38)],
    ['long', cases(7, 1000, 40, 56)],
  ] as const;

  it.each(sets)('on %s generated repository patterns', (_kind, list) => {
    const disagree = list.filter(([p, v]) => compileRepositoryGlob(p)(v) !== regexRepositoryGlob(p)(v));
    expect(disagree).toEqual([]);
    // The generator must produce both outcomes for the comparison to mean something.
    const matched = list.filter(([p, v]) => regexRepositoryGlob(p)(v)).length;
    expect(matched).toBeGreaterThan(list.length / 10);
    expect(matched).toBeLessThan(list.length * 0.9);
  });

  it.each(sets)('on %s generated name patterns', (_kind, list) => {
    const disagree = list.filter(([p, v]) => compileNameGlob(p)(v) !== regexNameGlob(p)(v));
    expect(disagree).toEqual([]);
    const matched = list.filter(([p, v]) => regexNameGlob(p)(v)).length;
    expect(matched).toBeGreaterThan(list.length / 10);
    expect(matched).toBeLessThan(list.length * 0.9);
  });
});
