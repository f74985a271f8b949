/**
 * Which fields of a trust record changed: paths like `rules.0.actions`, for the audit line of
 * an admin change (values are not logged: they are policy, not secrets, but a log line should
 * say what to look at, not repeat the record). Pure.
 */
import { isObject } from '../shape';

export function changedFields(before: unknown, after: unknown, path = ''): string[] {
  if (isObject(before) && isObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    return keys.flatMap((k) => changedFields(before[k], after[k], path ? `${path}.${k}` : k));
  }
  if (Array.isArray(before) && Array.isArray(after) && before.length === after.length) {
    return before.flatMap((b, i) => changedFields(b, after[i], `${path}.${i}`));
  }
  return JSON.stringify(before) === JSON.stringify(after) ? [] : [path || '(record)'];
}
