/**
 * What a plugin function threw, as `kind exitCode` ("usage 2", "input 1"), so tables assert
 * on the failure's class and the exit code the kubelet sees rather than on message text.
 */
import { PluginError } from '../../../../plugin/src/errors';

export function failureOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return err instanceof PluginError ? `${err.kind} ${err.exitCode}` : `not a PluginError: ${String(err)}`;
  }
  return 'no failure';
}

/** The message of the PluginError `fn` throws (for checking what it must not contain). */
export function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof PluginError) return err.message;
    throw err;
  }
  throw new Error('no failure');
}
