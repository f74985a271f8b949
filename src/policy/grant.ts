/** What a rule grants: repository patterns and registry actions. The shape credentials carry. */

export const ACTIONS = ['pull', 'push'] as const;
export type Action = (typeof ACTIONS)[number];

export interface Grant {
  /** Repository patterns, at least one. */
  repositories: string[];
  /** Registry actions, at least one. */
  actions: Action[];
}
