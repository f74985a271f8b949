/** What a rule grants: repository patterns and registry actions. The shape credentials carry. */
import * as z from '../zod';
import { deferred } from '../zod';

export const ACTIONS = ['pull', 'push'] as const;
export type Action = (typeof ACTIONS)[number];

export const GrantSchema = deferred(() =>
  z.object({
    repositories: z.array(z.string().check(z.minLength(1))).check(z.minLength(1)),
    actions: z.array(z.enum(ACTIONS)).check(z.minLength(1)),
  }),
);
export type Grant = z.infer<typeof GrantSchema>;
