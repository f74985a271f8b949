/**
 * A small YAML reader for the files `install` rewrites: kubelet CredentialProviderConfigs.
 * It reads block mappings and sequences (also a sequence at its key's indentation),
 * one-line flow sequences and maps, plain, single- and double-quoted scalars, comments and
 * a leading `---`. Everything else (anchors, aliases, tags, block scalars `|` `>`, scalars
 * over several lines, complex keys, a second document) is refused with its line number:
 * the file is about to be rewritten, and a guess would rewrite it wrong.
 *
 * The kubelet reads YAML 1.1 (sigs.k8s.io/yaml); a YAML 1.2 reader would read some plain
 * scalars differently (yes, no, on, off, y, n, 012, 0o12, 0b1, 1_000, 1:20, .inf). Those
 * are refused too ("quote it"), so what this reader returns is what the kubelet reads.
 */

export class YamlError extends Error {
  constructor(line: number, message: string) {
    super(`line ${line}: ${message}`);
    this.name = this.constructor.name;
  }
}

interface Line {
  n: number;
  indent: number;
  text: string;
}

interface Cursor {
  s: string;
  p: number;
  n: number;
}

const AMBIGUOUS =
  /^(?:[yYnN]|yes|Yes|YES|no|No|NO|on|On|ON|off|Off|OFF|[-+]?0[0-9_]+|[-+]?0(?:[xX][0-9a-fA-F_]+|[oO][0-7_]+|[bB][01_]+)|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?|[-+]?[0-9][0-9_.]*_[0-9_.]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)|<<|=)$/;
const NUMBER = /^[-+]?(?:\.[0-9]+|(?:0|[1-9][0-9]*)(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$/;
const ESCAPES: Record<string, string> = {
  '0': '\0',
  a: '\x07',
  b: '\b',
  t: '\t',
  '\t': '\t',
  n: '\n',
  v: '\v',
  f: '\f',
  r: '\r',
  e: '\x1b',
  ' ': ' ',
  '"': '"',
  '/': '/',
  '\\': '\\',
  N: '\x85',
  _: '\xa0',
  L: '\u2028',
  P: '\u2029',
};
const HEX_DIGITS: Record<string, number> = { x: 2, u: 4, U: 8 };

/** Sets a key on a plain object without letting `__proto__` reach the prototype. */
function define(obj: Record<string, unknown>, key: string, value: unknown, n: number): void {
  if (Object.hasOwn(obj, key)) throw new YamlError(n, `duplicate key ${JSON.stringify(key)}`);
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

function resolvePlain(text: string, n: number): unknown {
  if (/^(?:~|null|Null|NULL)$/.test(text)) return null;
  if (/^(?:true|True|TRUE)$/.test(text)) return true;
  if (/^(?:false|False|FALSE)$/.test(text)) return false;
  if (AMBIGUOUS.test(text)) throw new YamlError(n, `the plain value ${text} reads differently in YAML 1.1 and 1.2: quote it`);
  if (NUMBER.test(text)) return Number(text);
  return text;
}

function quoted(c: Cursor): string {
  const q = c.s[c.p];
  let out = '';
  c.p++;
  while (c.p < c.s.length) {
    const ch = c.s[c.p++] as string;
    if (q === "'") {
      if (ch !== "'") out += ch;
      else if (c.s[c.p] !== "'") return out;
      else {
        out += "'";
        c.p++;
      }
    } else if (ch === '"') {
      return out;
    } else if (ch !== '\\') {
      out += ch;
    } else {
      const e = c.s[c.p++] ?? '';
      const digits = HEX_DIGITS[e];
      if (digits) {
        const hex = c.s.slice(c.p, c.p + digits);
        if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== digits) throw new YamlError(c.n, `bad escape \\${e}${hex}`);
        out += String.fromCodePoint(Number.parseInt(hex, 16));
        c.p += digits;
      } else if (ESCAPES[e] !== undefined) {
        out += ESCAPES[e];
      } else {
        throw new YamlError(c.n, `unknown escape \\${e}`);
      }
    }
  }
  throw new YamlError(c.n, 'a quoted value must end on the line it starts on');
}

/** A plain scalar up to a comment, or (in a flow) up to `,` `[` `]` `{` `}` or `: `. */
function plain(c: Cursor, inFlow: boolean): unknown {
  const start = c.p;
  for (; c.p < c.s.length; c.p++) {
    const ch = c.s[c.p] as string;
    const next = c.s[c.p + 1];
    if (ch === '#' && /\s/.test(c.s[c.p - 1] ?? ' ')) break;
    if (ch === ':' && (next === undefined || /\s/.test(next) || (inFlow && ',[]{}'.includes(next)))) {
      if (inFlow) break;
      throw new YamlError(c.n, 'a ": " inside a plain value: quote the value');
    }
    if (inFlow && ',[]{}'.includes(ch)) break;
  }
  const text = c.s.slice(start, c.p).trimEnd();
  if (text === '') throw new YamlError(c.n, 'a value is missing');
  return resolvePlain(text, c.n);
}

function spaces(c: Cursor): void {
  while (c.s[c.p] === ' ' || c.s[c.p] === '\t') c.p++;
}

function flowValue(c: Cursor, inFlow: boolean): unknown {
  spaces(c);
  const ch = c.s[c.p] ?? '';
  if (ch === '"' || ch === "'") return quoted(c);
  if (ch === '[' || ch === '{') {
    const isMap = ch === '{';
    const close = isMap ? '}' : ']';
    const out: unknown[] | Record<string, unknown> = isMap ? {} : [];
    c.p++;
    for (;;) {
      spaces(c);
      if (c.p >= c.s.length) throw new YamlError(c.n, `a flow ${isMap ? 'map' : 'sequence'} must end on the line it starts on`);
      if (c.s[c.p] === close) break;
      const item = flowValue(c, true);
      spaces(c);
      if (isMap) {
        if (typeof item !== 'string') throw new YamlError(c.n, 'map keys must be strings');
        let value: unknown = null;
        if (c.s[c.p] === ':') {
          c.p++;
          spaces(c);
          if (c.s[c.p] !== ',' && c.s[c.p] !== '}') value = flowValue(c, true);
          spaces(c);
        }
        define(out as Record<string, unknown>, item, value, c.n);
      } else {
        (out as unknown[]).push(item);
      }
      if (c.s[c.p] === ',') c.p++;
      else if (c.s[c.p] !== close) throw new YamlError(c.n, `expected "," or "${close}"`);
    }
    c.p++;
    return out;
  }
  if ('&*!'.includes(ch) && ch !== '') throw new YamlError(c.n, 'anchors, aliases and tags are not supported');
  if ('|>'.includes(ch) && ch !== '') throw new YamlError(c.n, 'block scalars (| and >) are not supported: write the value on one line, quoted');
  if ('%@`'.includes(ch) && ch !== '') throw new YamlError(c.n, `a plain value cannot start with ${ch}: quote it`);
  if (/^[-?:](?:\s|$)/.test(c.s.slice(c.p, c.p + 2))) throw new YamlError(c.n, `unexpected "${ch}" (a nested block cannot start after a key on the same line)`);
  return plain(c, inFlow);
}

/** The value on the rest of a line: a scalar or a one-line flow collection, then maybe a comment. */
function inline(text: string, n: number): unknown {
  const c: Cursor = { s: text, p: 0, n };
  const value = flowValue(c, false);
  spaces(c);
  if (c.p < c.s.length && !(c.s[c.p] === '#' && /\s/.test(c.s[c.p - 1] ?? ''))) throw new YamlError(n, 'unexpected text after the value');
  return value;
}

/** `key: rest` on a block line, or undefined when the line is not a mapping entry. */
function keyOf(text: string, n: number): { key: string; rest: string } | undefined {
  if (/^\?(?:\s|$)/.test(text)) throw new YamlError(n, 'complex keys ("? ") are not supported');
  let key: string;
  let end: number;
  if (text[0] === '"' || text[0] === "'") {
    const c: Cursor = { s: text, p: 0, n };
    key = quoted(c);
    spaces(c);
    if (c.s[c.p] !== ':' || !/^(?:\s|$)/.test(c.s.slice(c.p + 1, c.p + 2))) return undefined;
    end = c.p;
  } else {
    if ('[{'.includes(text[0] ?? '[')) return undefined;
    const m = /:(?:\s|$)/.exec(text);
    const comment = /\s#/.exec(text);
    if (!m || (comment && comment.index < m.index)) return undefined;
    end = m.index;
    key = text.slice(0, end).trimEnd();
    if (key !== '' && '&*!|>%@`'.includes(key[0] as string)) throw new YamlError(n, 'anchors, aliases, tags and block scalars are not supported');
  }
  let rest = text.slice(end + 1).trim();
  if (rest.startsWith('#')) rest = '';
  return { key, rest };
}

const isItem = (text: string) => /^-(?:\s|$)/.test(text);

/** Parses a YAML document of the subset above; undefined for an empty document. */
export function parseYaml(source: string): unknown {
  const lines: Line[] = [];
  let started = false;
  const raws = source.replace(/^\uFEFF/, '').split(/\r?\n/);
  for (const [index, raw] of raws.entries()) {
    const n = index + 1;
    const text = raw.trim();
    if (text === '' || text.startsWith('#')) continue;
    const indent = raw.length - raw.trimStart().length;
    if (/^ *\t/.test(raw)) throw new YamlError(n, 'tabs are not allowed in indentation');
    if (indent === 0 && /^(?:---|\.\.\.)(?:\s|$)/.test(text)) {
      const tail = text.slice(3).trim();
      if (started || text.startsWith('...')) throw new YamlError(n, 'only one YAML document is supported');
      if (tail !== '' && !tail.startsWith('#')) throw new YamlError(n, 'content after "---" is not supported');
      started = true;
      continue;
    }
    if (indent === 0 && text.startsWith('%')) throw new YamlError(n, 'YAML directives are not supported');
    started = true;
    lines.push({ n, indent, text });
  }

  let i = 0;
  const after = (indent: number) => {
    const next = lines[i];
    if (next && next.indent > indent) throw new YamlError(next.n, 'unexpected indentation (a value over several lines is not supported)');
  };
  const child = (indent: number): unknown => {
    const next = lines[i];
    return next && next.indent > indent ? node(next) : null;
  };
  const seq = (indent: number): unknown[] => {
    const out: unknown[] = [];
    for (let line = lines[i]; line && line.indent === indent && isItem(line.text); line = lines[i]) {
      const rest = line.text.slice(1).trimStart();
      if (rest === '' || rest.startsWith('#')) {
        i++;
        out.push(child(indent));
      } else {
        const moved = { n: line.n, indent: indent + line.text.length - rest.length, text: rest };
        lines[i] = moved;
        out.push(node(moved));
      }
      after(indent);
    }
    return out;
  };
  const map = (indent: number): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    for (let line = lines[i]; line && line.indent === indent; line = lines[i]) {
      const entry = keyOf(line.text, line.n);
      if (!entry) throw new YamlError(line.n, 'expected "key: value"');
      i++;
      let value: unknown;
      if (entry.rest !== '') value = inline(entry.rest, line.n);
      else if (lines[i]?.indent === indent && isItem(lines[i]?.text ?? '')) value = seq(indent);
      else value = child(indent);
      define(out, entry.key, value, line.n);
      after(indent);
    }
    return out;
  };
  function node(line: Line): unknown {
    if (isItem(line.text)) return seq(line.indent);
    if (keyOf(line.text, line.n)) return map(line.indent);
    i++;
    return inline(line.text, line.n);
  }

  const first = lines[0];
  if (!first) return undefined;
  const value = node(first);
  const rest = lines[i];
  if (rest) throw new YamlError(rest.n, 'unexpected indentation');
  return value;
}
