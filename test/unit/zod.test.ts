/**
 * The issue messages of src/zod.ts read as zod's own English locale would write them: each
 * schema below fails, and every issue's message is compared with what `zod/locales` `en()`
 * says for the same issue. (The Worker carries our short copy, not the locale.)
 */
import { en } from 'zod/locales';
import { describe, expect, it } from 'vitest';
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
