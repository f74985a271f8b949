/**
 * What the admin writer (store/writer.ts) needs beyond the modules the exchange loads anyway:
 * scopes, key sync, history and key confirmations, and zod with them. The writer's class is
 * exported by the Worker's main module, so its static imports would load at every isolate's
 * start; it loads these on its first change instead.
 */
export { changesTrustAnchor, outOfScope } from '../policy/admin-scope';
export { acceptKeySync, sameKeys } from '../policy/key-sync';
export { appendHistory, recordEtag } from './history';
export { removeKeyConfirmation, writeKeyConfirmation } from './key-sync';
