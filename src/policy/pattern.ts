/**
 * Glob patterns used in trust rules, compiled once into anchored regular expressions.
 *
 * - Names (namespaces, service accounts): `*` matches any run of characters.
 * - Repositories: `*` matches within one path component, `**` across components,
 *   so `team-a/*` matches `team-a/app` but not `team-a/tools/app`; `team-a/**` both.
 * Every other character is literal.
 */
export type Matcher = (value: string) => boolean;

const escape = (s: string) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&');

export function compileNameGlob(pattern: string): Matcher {
  if (pattern === '*') return () => true;
  if (!pattern.includes('*')) return (value) => value === pattern;
  const re = new RegExp(`^${pattern.split(/\*+/).map(escape).join('.*')}$`);
  return (value) => re.test(value);
}

export function compileRepositoryGlob(pattern: string): Matcher {
  if (!pattern.includes('*')) return (value) => value === pattern;
  const source = pattern
    .split('**')
    .map((part) => part.split('*').map(escape).join('[^/]*'))
    .join('.*');
  const re = new RegExp(`^${source}$`);
  return (value) => re.test(value);
}

export function anyOf(matchers: Matcher[]): Matcher {
  return (value) => matchers.some((m) => m(value));
}
