/**
 * The issue messages of src/zod.ts read as zod's own English locale would write them: each
 * schema below fails, and every issue's message is compared with what `zod/locales` `en()`
 * says for the same issue. (The Worker carries our short copy, not the locale.)
 */
import { en } from 'zod/locales';
import { describe, expect, it } from 'vitest';
import * as zodMini from 'zod/mini';
import * as z from '../../src/zod';

const locale = en().localeError as (issue: unknown) => string;

const cases: Array<[string, z.ZodMiniType, unknown]> = [
  ['wrong type', z.string(), 5],
  ['null for an object', z.strictObject({ a: z.string() }), null],
  ['an array for a string', z.string(), []],
  ['missing field', z.strictObject({ a: z.string() }), {}],
  ['string too long', z.string().check(z.maxLength(3)), 'abcd'],
  ['string too short', z.string().check(z.minLength(2)), 'a'],
  ['array too long', z.array(z.string()).check(z.maxLength(1)), ['a', 'b']],
  ['array too short', z.array(z.string()).check(z.minLength(1)), []],
  ['number too small', z.number().check(z.gte(60)), 5],
  ['number too big', z.number().check(z.lte(10)), 50],
  ['not an integer', z.number().check(z.int()), 1.5],
  ['not in an enum', z.enum(['a', 'b']), 'c'],
  ['not the literal', z.literal('x'), 'y'],
  ['unknown key', z.strictObject({ a: z.optional(z.string()) }), { b: 1 }],
  ['unknown keys', z.strictObject({}), { b: 1, c: 2 }],
  ['no regex match', z.string().check(z.regex(/^a+$/)), 'b'],
  ['unknown discriminator', z.discriminatedUnion('type', [z.strictObject({ type: z.literal('a') }), z.strictObject({ type: z.literal('b') })]), { type: 'c' }],
  ['a bad record key', z.record(z.string().check(z.maxLength(1)), z.string()), { ab: 'x' }],
];

describe('zod issue messages', () => {
  it.each(cases)('%s: as zod English locale words it', (_what, schema, input) => {
    const result = schema.safeParse(input, { reportInput: true });
    expect(result.success).toBe(false);
    for (const issue of result.error!.issues) expect(issue.message).toBe(locale(issue));
  });

  it('names the expected and received types', () => {
    expect(z.string().safeParse(5).error!.issues[0]!.message).toBe('Invalid input: expected string, received number');
    expect(z.string().check(z.maxLength(3)).safeParse('abcd').error!.issues[0]!.message).toBe('Too big: expected string to have <=3 characters');
  });
});

/** What a parse says, as describeIssues and the routes read it: success, the value, each issue's path and message. */
const outcome = (r: { success: boolean; data?: unknown; error?: { issues: Array<{ path: PropertyKey[]; message: string }> } }) =>
  r.success ? { data: r.data } : { issues: r.error!.issues.map((i) => ({ path: i.path, message: i.message })) };

describe('our stand-ins for zod schemas parse as zod does', () => {
  it.each([
    'https://example.com',
    'http://127.0.0.1:8080/openid/v1/jwks',
    'HTTPS://Example.COM/a?b#c',
    '  https://example.com/jwks  ',
    'https://exa\nmple.com/\tx',
    'https:/example.com',
    'http:example.com',
    'ftp://example.com',
    'https://',
    'https://exa mple.com',
    'not a url',
    '',
    'javascript:alert(1)',
    'https://[::1]:443/x',
    'https://user:pw@example.com',
  ])('httpUrl() as z.url({ protocol: /^https?$/ }): %j', (input) => {
    const check = (s: z.ZodMiniString<string>) => s.check(z.refine((u) => !u.includes('127.'), 'no loopback here'));
    expect(outcome(check(z.httpUrl()).safeParse(input))).toEqual(outcome(check(z.url({ protocol: /^https?$/ })).safeParse(input)));
  });

  it.each([0, 1, -1, 60, 43200, 1.5, -0.5, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 2 ** 53, -(2 ** 53), 2 ** 53 - 1, 1e300, '5', null])(
    "int() as zod's z.int() check, before and after other checks: %s",
    (input) => {
      const zods = z.number().check(zodMini.int(), z.gte(0), z.lte(43200));
      const ours = z.number().check(z.int(), z.gte(0), z.lte(43200));
      expect(outcome(ours.safeParse(input))).toEqual(outcome(zods.safeParse(input)));
      expect(outcome(z.number().check(z.gte(1), z.int()).safeParse(input))).toEqual(outcome(z.number().check(z.gte(1), zodMini.int()).safeParse(input)));
    },
  );

  const options = () =>
    [
      z.strictObject({ type: z.literal('a'), n: z.number().check(z.gte(1)), d: z._default(z.string(), 'x') }),
      z.strictObject({ type: z.literal(['b', 'c']), s: z.optional(z.string()) }),
    ] as const;
  it.each<[string, unknown]>([
    ['the first option', { type: 'a', n: 2 }],
    ['the second option, by its second value', { type: 'c', s: 'x' }],
    ['an option with a bad field', { type: 'a', n: 0, d: 5 }],
    ['an option with an unknown key', { type: 'b', z: 1 }],
    ['an unknown discriminator', { type: 'z' }],
    ['no discriminator', { n: 2 }],
    ['a discriminator of another type', { type: 5 }],
    ['a discriminator from the prototype', JSON.parse('{"type": "constructor"}')],
    ['an array', [{ type: 'a', n: 2 }]],
    ['null', null],
    ['a string', 'a'],
    ['undefined', undefined],
  ])("discriminatedUnion as zod's: %s", (_what, input) => {
    expect(outcome(z.discriminatedUnion('type', options()).safeParse(input))).toEqual(outcome(zodMini.discriminatedUnion('type', options()).safeParse(input)));
    const nested = (u: z.ZodMiniType) => z.strictObject({ list: z.array(u), one: u });
    expect(outcome(nested(z.discriminatedUnion('type', options())).safeParse({ list: [input], one: input }))).toEqual(
      outcome(nested(zodMini.discriminatedUnion('type', options())).safeParse({ list: [input], one: input })),
    );
  });

  it.each<[string, unknown]>([
    ['all absent', {}],
    ['all undefined', { o: undefined, d: undefined, a: undefined, n: undefined }],
    ['all present', { o: 'x', d: 'y', a: ['b'], n: 5, r: 1 }],
    ['invalid values', { o: 5, d: 'too long', a: [1], n: 0.5, r: 1 }],
    ['null values', { o: null, d: null, a: null, n: null, r: 1 }],
    ['a required field absent', { o: 'x' }],
    ['not an object', 'x'],
  ])("optional() and _default() in an object as zod's: %s", (_what, input) => {
    const shape = (zz: { optional: typeof z.optional; _default: typeof z._default }) =>
      z.strictObject({
        o: zz.optional(z.string()),
        d: zz._default(z.string().check(z.maxLength(3)), 'def'),
        a: zz._default(z.array(z.string()), ['x']),
        n: zz.optional(z.number().check(z.int())),
        r: z.number(),
      });
    const ours = outcome(shape(z).safeParse(input));
    expect(ours).toEqual(outcome(shape(zodMini as never).safeParse(input)));
    if ('data' in ours) expect(Object.keys(ours.data as object)).toEqual(Object.keys(outcome(shape(zodMini as never).safeParse(input)).data as object));
  });

  it('_default() hands out a copy of an array default, as zod does', () => {
    const schema = z.strictObject({ a: z._default(z.array(z.string()), ['x']) });
    const first = schema.parse({});
    first.a.push('mutated');
    expect(schema.parse({}).a).toEqual(['x']);
  });

  it.each([0, 60, 59, 43200, 43201, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, '60', null, undefined, true])(
    "gte(), lte() and boolean() as zod's: %s",
    (input) => {
      const range = (zz: typeof zodMini) => z.number().check(zz.gte(60), zz.lte(43200));
      expect(outcome(range(z as never).safeParse(input))).toEqual(outcome(range(zodMini).safeParse(input)));
      const afterInt = (zz: typeof zodMini) => z.number().check(z.int(), zz.lte(100), zz.gte(1));
      expect(outcome(afterInt(z as never).safeParse(input))).toEqual(outcome(afterInt(zodMini).safeParse(input)));
      const flag = (zz: typeof zodMini) => z.strictObject({ b: zz.boolean(), d: z._default(zz.boolean(), false) });
      expect(outcome(flag(z as never).safeParse({ b: input, d: input }))).toEqual(outcome(flag(zodMini).safeParse({ b: input, d: input })));
      expect(outcome(flag(z as never).safeParse({}))).toEqual(outcome(flag(zodMini).safeParse({})));
    },
  );

  it.each(['abc', 'ABC', '', 'a-b', 'ab\n', 5, null])("regex() as zod's, with and without a message: %j", (input) => {
    const re = /^[a-z]+(-[a-z]+)?$/;
    const g = /b/g;
    for (const build of [
      (zz: typeof zodMini) => z.string().check(zz.regex(re)),
      (zz: typeof zodMini) => z.string().check(zz.regex(re, 'must be lowercase words'), z.maxLength(2)),
      (zz: typeof zodMini) => z.string().check(zz.regex(g, 'has a b'), zz.regex(g, 'has a b again')),
    ])
      expect(outcome(build(z as never).safeParse(input))).toEqual(outcome(build(zodMini).safeParse(input)));
  });

  const key = z.string().check(z.minLength(1), z.maxLength(3));
  const value = z.string().check(z.maxLength(2));
  it.each<[string, unknown]>([
    ['an empty object', {}],
    ['good entries', { a: 'x', bc: 'yz' }],
    ['a bad key', { abcd: 'x', a: 'y' }],
    ['an empty key', { '': 'x' }],
    ['a bad value', { a: 'xyz' }],
    ['a value of another type', { a: 5 }],
    ['bad keys and values', { abcd: 'xyz', b: 1, c: 'ok' }],
    ['__proto__ from JSON', JSON.parse('{"__proto__": "xyz", "a": "x"}')],
    ['constructor as a key', { constructor: 'x' }],
    ['an array', ['x']],
    ['null', null],
    ['a string', 'x'],
    ['a number', 5],
    ['a null-prototype object', Object.assign(Object.create(null), { a: 'x' })],
    ['a class instance', new URL('https://example.com')],
  ])('recordOf(key, value) as z.record(key, value): %s', (_what, input) => {
    expect(outcome(z.recordOf(key, value).safeParse(input))).toEqual(outcome(z.record(key, value).safeParse(input)));
    expect(outcome(z.optional(z.recordOf(z.string(), z.unknown())).safeParse(input))).toEqual(
      outcome(z.optional(z.record(z.string(), z.unknown())).safeParse(input)),
    );
  });

  it("discriminatedUnion as a required field that is absent: as zod's", () => {
    expect(outcome(z.strictObject({ one: z.discriminatedUnion('type', options()) }).safeParse({}))).toEqual(
      outcome(z.strictObject({ one: zodMini.discriminatedUnion('type', options()) }).safeParse({})),
    );
  });

  it('recordOf nests in an object as z.record does (paths from the root)', () => {
    const input = { m: { ab: 'xyz', abcd: 'x' } };
    expect(outcome(z.strictObject({ m: z.recordOf(key, value) }).safeParse(input))).toEqual(
      outcome(z.strictObject({ m: z.record(key, value) }).safeParse(input)),
    );
  });
});
