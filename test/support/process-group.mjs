// Stopping a service started in its own process group (spawn with `detached: true`): the
// whole group, so that what it started (wrangler's workerd, say) ends with it. Never by name.

/** Sends `signal` to the group led by `pid`; a group already gone is not an error. */
export function signalGroup(pid, signal) {
  try {
    process.kill(-pid, signal);
  } catch {
    /* already gone */
  }
}

/**
 * SIGTERM to the group of `child`, SIGKILL if it has not exited 5 s later; resolves once it
 * has. `exited` is the promise of the child's 'exit' event.
 */
export async function stopGroup(child, exited) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  signalGroup(child.pid, 'SIGTERM');
  const timer = setTimeout(() => signalGroup(child.pid, 'SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}
