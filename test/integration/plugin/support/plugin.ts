/**
 * Runs the built plugin the way the kubelet does: `<bin-dir>/<name> args...`, the request on
 * stdin, the kubelet's environment plus the provider's `env`, and reads exit code, stdout
 * and stderr.
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../../..', import.meta.url));
export const PLUGIN = join(ROOT, 'plugin', 'dist', 'edge-credential-provider');
/** The pinned Node (npm devDependency `node`), whatever `node` is first on the caller's PATH. */
export const PINNED_NODE = join(ROOT, 'node_modules', 'node', 'bin', 'node');

export const V1 = 'credentialprovider.kubelet.k8s.io/v1';
export const V1BETA1 = 'credentialprovider.kubelet.k8s.io/v1beta1';
export const V1ALPHA1 = 'credentialprovider.kubelet.k8s.io/v1alpha1';
export const API_VERSIONS = [V1, V1BETA1, V1ALPHA1] as const;

export interface PluginRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Wall time from spawn to exit, ms. */
  ms: number;
}

export interface RunOptions {
  input: string | Buffer;
  args?: string[];
  env?: Record<string, string>;
  /** Run `node <file>` with this Node instead of the shebang. */
  node?: string;
  /** The executable to run. Default: the built plugin. */
  file?: string;
  /** Kill the plugin after this long (a hung plugin must fail the test, not hang it). */
  killAfterMs?: number;
}

export function runPlugin(opts: RunOptions): Promise<PluginRun> {
  const file = opts.file ?? PLUGIN;
  const [cmd, args] = opts.node ? [opts.node, [file, ...(opts.args ?? [])]] : [file, opts.args ?? []];
  // The shebang's `env node` resolves through PATH: put the pinned Node first.
  const env = { PATH: `${dirname(PINNED_NODE)}:/usr/local/bin:/usr/bin:/bin`, ...opts.env };
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(cmd, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    // The plugin may stop reading early (oversized input): a broken pipe is its right.
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input);
    const killer = setTimeout(() => child.kill('SIGKILL'), opts.killAfterMs ?? 20_000);
    child.once('error', (err) => {
      clearTimeout(killer);
      reject(err);
    });
    child.once('close', (code, signal) => {
      clearTimeout(killer);
      resolve({ code, signal, stdout, stderr, ms: performance.now() - started });
    });
  });
}

export function request(apiVersion: string = V1, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ apiVersion, kind: 'CredentialProviderRequest', image: 'registry.test:5000/team-a/app:v1', ...extra });
}
