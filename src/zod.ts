/**
 * zod for every schema in src/: `zod/mini`, the tree-shakable build (functional checks:
 * `z.string().check(z.maxLength(n))`), so the bundle carries only what the schemas use. The
 * classic `zod` puts ~450 KB (minified) in the Worker, all of it parsed at cold start.
 *
 * Import it as a namespace, `import * as z from './zod'`: esbuild drops the unused parts of a
 * namespace import, but `import { z } from 'zod/mini'` binds zod's own namespace object and
 * keeps all of zod (locales, JSON Schema, the compiler) in the bundle.
 *
 * `zod/mini` loads no locale: without one every issue's message is "Invalid input". The
 * messages below are those of zod's English locale, in the words it uses, for the issues our
 * schemas raise (its dictionaries of string formats, 2.7 KB, are left out: our schemas check
 * formats with regexes and say what they expect). Schemas import zod from here, not from
 * 'zod/mini', so that none parses before this has run.
 */
import {
  config,
  type core,
  type input,
  type output,
  overwrite,
  string,
  superRefine,
  transform,
  type ZodMiniLiteral,
  type ZodMiniObject,
  type ZodMiniDefault,
  type ZodMiniOptional,
  type ZodMiniString,
  type util,
  type ZodMiniType,
} from 'zod/mini';

const UNITS: Record<string, string> = { string: 'characters', array: 'items', set: 'items', map: 'entries', file: 'bytes' };
const typeName = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : Number.isNaN(v) ? 'NaN' : typeof v);
const show = (v: unknown) => (typeof v === 'string' ? `"${v}"` : String(v));

export function english(issue: core.$ZodRawIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return `Invalid input: expected ${issue.expected}, received ${typeName(issue.input)}`;
    case 'invalid_value':
      return issue.values.length === 1
        ? `Invalid input: expected ${show(issue.values[0])}`
        : `Invalid option: expected one of ${issue.values.map(show).join('|')}`;
    case 'too_big':
    case 'too_small': {
      const big = issue.code === 'too_big';
      const bound = big ? issue.maximum : issue.minimum;
      const op = issue.exact ? 'exactly ' : big ? (issue.inclusive ? '<=' : '<') : issue.inclusive ? '>=' : '>';
      const unit = UNITS[issue.origin];
      return `Too ${big ? 'big' : 'small'}: expected ${issue.origin ?? 'value'} to ${unit ? `have ${op}${bound} ${unit}` : `be ${op}${bound}`}`;
    }
    case 'invalid_format':
      return issue.format === 'regex' ? `Invalid string: must match pattern ${issue.pattern}` : `Invalid ${issue.format}`;
    case 'not_multiple_of':
      return `Invalid number: must be a multiple of ${issue.divisor}`;
    case 'unrecognized_keys':
      return `Unrecognized key${issue.keys.length > 1 ? 's' : ''}: ${issue.keys.map(show).join(', ')}`;
    case 'invalid_key':
      return `Invalid key in ${issue.origin}`;
    case 'invalid_element':
      return `Invalid value in ${issue.origin}`;
    case 'invalid_union': {
      const options = (issue as { options?: unknown[] }).options;
      if (options?.length) return `Invalid discriminator value. Expected ${options.map((o) => `'${o}'`).join(' | ')}`;
      return issue.inclusive === false ? 'Invalid input: more than one option matched' : 'Invalid input';
    }
    default:
      return 'Invalid input';
  }
}

config({ localeError: english });

export * from 'zod/mini';
/**
 * `z.enum([...])` is zod's `z.literal([...])`: the same check, issue (`invalid_value` with the
 * values) and output for the arrays of strings our schemas list, without a second schema class
 * in the bundle (0.8 KB).
 */
export { literal as enum } from 'zod/mini';

/**
 * `z.int()` as a check, as zod's is: a number that is not an integer is `invalid_type` (expected
 * int), which stops the checks after it; one outside the safe integer range is too big or too
 * small. zod's number formats (float32, uint32, ...) cost 1.4 KB of the bundle for this one.
 */
export function int() {
  return superRefine((value: number, ctx) => {
    if (!Number.isInteger(value)) ctx.addIssue({ code: 'invalid_type', expected: 'int', input: value, continue: false });
    else if (value > Number.MAX_SAFE_INTEGER) ctx.addIssue({ code: 'too_big', origin: 'int', maximum: Number.MAX_SAFE_INTEGER, inclusive: true, input: value });
    else if (value < Number.MIN_SAFE_INTEGER)
      ctx.addIssue({ code: 'too_small', origin: 'int', minimum: Number.MIN_SAFE_INTEGER, inclusive: true, input: value });
  });
}

/**
 * `z.gte(n)`, `z.lte(n)` and `z.regex(pattern, message?)` as checks raising zod's own issues
 * (too small / too big for numbers, inclusive; `invalid_format` regex with the pattern), and
 * `z.boolean()`: 1.6 KB of zod's check and schema classes less.
 */
export const gte = (minimum: number) =>
  superRefine((value: number, ctx) => {
    if (!(value >= minimum)) ctx.addIssue({ code: 'too_small', origin: 'number', minimum, inclusive: true, input: value });
  });
export const lte = (maximum: number) =>
  superRefine((value: number, ctx) => {
    if (!(value <= maximum)) ctx.addIssue({ code: 'too_big', origin: 'number', maximum, inclusive: true, input: value });
  });
export const regex = (pattern: RegExp, message?: string) =>
  superRefine((value: string, ctx) => {
    pattern.lastIndex = 0;
    if (!pattern.test(value))
      ctx.addIssue({
        code: 'invalid_format',
        origin: 'string',
        format: 'regex',
        pattern: `${pattern}`,
        input: value,
        ...(message === undefined ? {} : { message }),
      });
  });
export const boolean = () =>
  transform((value: unknown, ctx) => {
    if (typeof value !== 'boolean') ctx.issues.push({ code: 'invalid_type', expected: 'boolean', input: value });
    return value;
  }) as unknown as ZodMiniType<boolean, boolean>;

/**
 * The inner schema's parse, its issues pushed where `ctx` (the outer parse) collects them with
 * their messages; its output, or undefined when it failed.
 */
function parseInto<T extends ZodMiniType>(schema: T, value: unknown, ctx: { issues: core.$ZodRawIssue[] }): output<T> | undefined {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues) ctx.issues.push(issue as core.$ZodRawIssue);
  return undefined;
}

/** A schema of ours that an object treats as zod's optional (`optional`) or defaulted (`defaulted`) fields. */
function marked<T>(schema: ZodMiniType, optin: 'optional' | 'defaulted', optout?: 'optional'): T {
  Object.assign(schema._zod, { optin, optout });
  return schema as unknown as T;
}

/**
 * `z.optional(inner)` as zod's: undefined passes (an absent key stays absent), anything else is
 * `inner`'s parse. (zod's also serves defaulted inners, which none of ours is.) 0.8 KB less.
 */
export function optional<T extends ZodMiniType>(inner: T): ZodMiniOptional<T> {
  return marked(
    transform((input: unknown, ctx) => (input === undefined ? undefined : parseInto(inner, input, ctx))),
    'optional',
    'optional',
  );
}

/**
 * `z._default(inner, value)` as zod's: undefined (or an absent key) is a shallow copy of `value`,
 * not parsed; anything else is `inner`'s parse. 0.9 KB less.
 */
export function _default<T extends ZodMiniType>(inner: T, value: util.NoUndefined<output<T>>): ZodMiniDefault<T> {
  const copy = () => (Array.isArray(value) ? [...value] : value);
  return marked(
    transform((input: unknown, ctx) => (input === undefined ? copy() : parseInto(inner, input, ctx))),
    'defaulted',
  );
}

/**
 * `z.discriminatedUnion(key, options)` as zod's parses: not an object is `invalid_type`
 * (expected object); a `key` no option's literal names is `invalid_union` at `key`, listing the
 * values ("Invalid discriminator value. Expected ..."); otherwise the option's own parse, its
 * issues and output. zod's builds on its general union: 3 KB of the bundle.
 */
export function discriminatedUnion<const O extends readonly ZodMiniObject[]>(key: string, options: O): ZodMiniType<output<O[number]>, input<O[number]>> {
  const byValue = new Map<unknown, ZodMiniObject>();
  for (const option of options) for (const value of (option.def.shape[key] as ZodMiniLiteral).def.values) byValue.set(value, option);
  return transform((input: unknown, ctx) => {
    if (typeof input !== 'object' || input === null || Array.isArray(input)) {
      ctx.issues.push({ code: 'invalid_type', expected: 'object', input });
      return;
    }
    const option = byValue.get((input as Record<string, unknown>)[key]);
    if (!option) {
      const options = [...byValue.keys()];
      ctx.issues.push({
        code: 'invalid_union',
        errors: [],
        note: 'No matching discriminator',
        discriminator: key,
        options,
        input,
        path: [key],
      } as core.$ZodRawIssue);
      return;
    }
    return parseInto(option, input, ctx);
  }) as unknown as ZodMiniType<output<O[number]>, input<O[number]>>;
}

/**
 * zod's `z.url({ protocol: /^https?$/ })`, as it behaves: `http://` or `https://` (any case)
 * followed by what the URL parser takes, after trimming; the issue an invalid value raises
 * ("Invalid url"); the value trimmed and without tabs and newlines (which the parser drops).
 * zod's own URL format costs 1.9 KB of the bundle for this one field.
 */
export function httpUrl(): ZodMiniString<string> {
  const parses = (raw: string) => /^https?:\/\//i.test(raw.trim()) && URL.parse(raw.trim()) !== null;
  return string().check(
    superRefine((raw, ctx) => {
      if (!parses(raw)) ctx.addIssue({ code: 'invalid_format', format: 'url', input: raw });
    }),
    overwrite((raw) => (parses(raw) ? raw.trim().replace(/[\t\n\r]/g, '') : raw)),
  );
}

/**
 * zod's `z.record(key, value)` for string keys, as it behaves: a plain object (else "expected
 * record"), every key checked by `key` (else an `invalid_key` issue at that key) and every
 * value by `value` (its issues under the key), `__proto__` left out, a new object out. zod's
 * own record schema costs 2.5 KB of the bundle for four annotation maps.
 */
export function recordOf<V extends ZodMiniType>(key: ZodMiniType<string>, value: V): ZodMiniType<Record<string, output<V>>, Record<string, input<V>>> {
  const plain = (v: unknown): v is Record<string, unknown> =>
    typeof v === 'object' && v !== null && (Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null);
  return transform((input: unknown, ctx) => {
    const out: Record<string, output<V>> = {};
    if (!plain(input)) {
      ctx.issues.push({ code: 'invalid_type', expected: 'record', input });
      return out;
    }
    for (const k of Object.keys(input)) {
      if (k === '__proto__') continue;
      const keyed = key.safeParse(k);
      if (!keyed.success) {
        ctx.issues.push({ code: 'invalid_key', origin: 'record', issues: keyed.error.issues, input: k, path: [k] });
        continue;
      }
      const valued = value.safeParse(input[k]);
      if (valued.success) out[k] = valued.data as output<V>;
      else for (const issue of valued.error.issues) ctx.issues.push({ ...issue, path: [k, ...issue.path] } as core.$ZodRawIssue); // finalized: its message stays
    }
    return out;
  }) as unknown as ZodMiniType<Record<string, output<V>>, Record<string, input<V>>>;
}

/**
 * A schema built on its first use instead of when its module loads. zod builds a schema by
 * running its constructors, which on a fresh isolate run as cold code: every schema of the
 * edge built at start-up cost ~20 ms of CPU, most of it for schemas a pull never uses (the
 * admin API's, explain's). Every module-level schema in src/ is declared through this
 * (test/unit/layout.test.ts checks), so an isolate builds only the schemas its requests need.
 *
 * The value stands in for the schema itself (same type, same methods): `X.safeParse(v)`,
 * `z.array(X)` and `z.infer<typeof X>` work unchanged. Reading any property builds it once.
 */
export function deferred<T extends object>(build: () => T): T {
  let schema: T | undefined;
  const built = () => (schema ??= build());
  return new Proxy({} as T, {
    get: (_, key) => Reflect.get(built(), key),
    has: (_, key) => Reflect.has(built(), key),
    set: (_, key, value) => Reflect.set(built(), key, value),
    ownKeys: () => Reflect.ownKeys(built()),
    getOwnPropertyDescriptor: (_, key) => {
      const d = Reflect.getOwnPropertyDescriptor(built(), key);
      // A proxy may not report a property as non-configurable unless its target has it so.
      return d && { ...d, configurable: true };
    },
    getPrototypeOf: () => Reflect.getPrototypeOf(built()),
  });
}
