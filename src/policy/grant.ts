/** What a rule grants: repository patterns and registry actions. The shape credentials carry. */
import { z } from 'zod';

export const ACTIONS = ['pull', 'push'] as const;
export type Action = (typeof ACTIONS)[number];

export const GrantSchema = z.object({
  repositories: z.array(z.string().min(1)).min(1),
  actions: z.array(z.enum(ACTIONS)).min(1),
});
export type Grant = z.infer<typeof GrantSchema>;
