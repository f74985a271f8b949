/**
 * Glob patterns used in trust rules, compiled once into matchers.
 *
 * - Names (namespaces, service accounts): `*` matches any run of characters.
 * - Repositories: `*` matches within one path component, `**` across components,
 *   so `team-a/*` matches `team-a/app` but not `team-a/tools/app`; `team-a/**` both.
 * Every other character is literal, and a pattern matches the whole value.
 *
 * Not regular expressions: a rule with three `**`, compiled to `^.*\/.*\/.*\/app$`, backtracks
 * at a cost that grows as the name's length to the power of the wildcard count, and names
 * come from clients (up to 64 per /token request). Here a pattern is a list of tokens, a
 * state is how many of them have matched so far, and a value is read once, left to right,
 * carrying the set of live states: there is never anything to undo, so the cost is at
 * most (value length) x (pattern length), linear in the value whatever the pattern.
 */
export type Matcher = (value: string) => boolean;

/** A pattern token: a character code (a literal), or one of the wildcards below. */
type Token = number;
/** Any run of characters but `/`: a repository pattern's `*`. */
const IN_COMPONENT = -1;
/** Any run of characters: a name pattern's `*`, a repository pattern's `**`. */
const ANY = -2;
/** Closes a token list in listMatcher: a state that no character leaves. */
const END = -3;
const SLASH = 0x2f;
const isWildcard = (t: Token) => t === ANY || t === IN_COMPONENT;

export function compileNameGlob(pattern: string): Matcher {
  if (pattern === '*') return () => true;
  if (!pattern.includes('*')) return (value) => value === pattern;
  const tokens: Token[] = [];
  for (let i = 0; i < pattern.length; i++) {
    if (pattern[i] !== '*') tokens.push(pattern.charCodeAt(i));
    else if (tokens[tokens.length - 1] !== ANY) tokens.push(ANY); // `**` is `*` in a name
  }
  return matcher(tokens);
}

export function compileRepositoryGlob(pattern: string): Matcher {
  if (!pattern.includes('*')) return (value) => value === pattern;
  // Left to right, `**` before `*`: `***` is `**` then `*` (the schema refuses it anyway).
  const tokens: Token[] = [];
  for (let i = 0; i < pattern.length; i++) {
    if (pattern[i] !== '*') tokens.push(pattern.charCodeAt(i));
    else if (pattern[i + 1] !== '*') tokens.push(IN_COMPONENT);
    else {
      tokens.push(ANY);
      i++;
    }
  }
  return matcher(tokens);
}

export function anyOf(matchers: Matcher[]): Matcher {
  return (value) => matchers.some((m) => m(value));
}

/**
 * Patterns of up to 31 tokens, all ASCII (every pattern a trust record holds, unless it is
 * long), keep their states in the bits of one integer; longer ones in a list.
 */
const MAX_BIT_TOKENS = 31;

function matcher(tokens: Token[]): Matcher {
  return tokens.length <= MAX_BIT_TOKENS && tokens.every((t) => t < 128) ? bitMatcher(tokens) : listMatcher(tokens);
}

/**
 * State s is bit s (state `tokens.length`: all matched). A character costs a few integer
 * operations however many states are live: the shift-and algorithm, with each wildcard a
 * state that stays live on the characters it matches.
 */
function bitMatcher(tokens: Token[]): Matcher {
  const onChar = new Int32Array(128); // per character: the states whose token it is
  let any = 0;
  let inComponent = 0;
  tokens.forEach((t, s) => {
    if (t === ANY) any |= 1 << s;
    else if (t === IN_COMPONENT) inComponent |= 1 << s;
    else onChar[t]! |= 1 << s;
  });
  // A wildcard may match nothing, so a live state before one makes the state after it live,
  // and so on along a run of wildcards: one shift per wildcard of the longest run.
  const wildcards = any | inComponent;
  let longestRun = 0;
  for (let s = 0, run = 0; s < tokens.length; s++) {
    run = isWildcard(tokens[s]!) ? run + 1 : 0;
    longestRun = Math.max(longestRun, run);
  }
  const close = (states: number) => {
    for (let k = 0; k < longestRun; k++) states |= (states & wildcards) << 1;
    return states;
  };
  const start = close(1);
  const matched = 1 << tokens.length;
  return (value) => {
    let live = start;
    for (let i = 0; i < value.length; i++) {
      const c = value.charCodeAt(i);
      live = close(((live & (c < 128 ? onChar[c]! : 0)) << 1) | (live & any) | (c === SLASH ? 0 : live & inComponent));
      if (live === 0) return false;
    }
    return (live & matched) !== 0;
  };
}

/** The same automaton for any pattern: the live states in a list, each at most once per character. */
function listMatcher(pattern: Token[]): Matcher {
  const tokens = Int32Array.from([...pattern, END]); // typed, and never read past its end
  const done = pattern.length;
  return (value) => {
    // added[s]: the character index at which state s last joined a list, so lists need no clearing.
    const added = new Int32Array(tokens.length).fill(-1);
    let live = new Int32Array(tokens.length);
    let next = new Int32Array(tokens.length);
    let liveCount = add(tokens, added, live, 0, 0, 0);
    for (let i = 0; i < value.length; i++) {
      const c = value.charCodeAt(i);
      let nextCount = 0;
      for (let k = 0; k < liveCount; k++) {
        const s = live[k]!;
        const t = tokens[s];
        if (t === ANY || (t === IN_COMPONENT && c !== SLASH)) nextCount = add(tokens, added, next, nextCount, s, i + 1);
        else if (t === c) nextCount = add(tokens, added, next, nextCount, s + 1, i + 1);
      }
      if (nextCount === 0) return false;
      const swap = live;
      live = next;
      next = swap;
      liveCount = nextCount;
    }
    return added[done] === value.length;
  };
}

/** Adds state `s` to `list` (holding `count`) at character index `at`; returns the new count. */
function add(tokens: Int32Array, added: Int32Array, list: Int32Array, count: number, s: number, at: number): number {
  // A wildcard may match nothing: the state before one is also the state after it.
  while (added[s] !== at) {
    added[s] = at;
    list[count++] = s;
    if (!isWildcard(tokens[s]!)) break;
    s++;
  }
  return count;
}
