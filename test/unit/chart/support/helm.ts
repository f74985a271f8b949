/**
 * Runs the pinned Helm (cluster/peers/helm, built once by cluster/lib/build.mjs into
 * ~/.cache/edge-credential-provider/cluster/bin/helm-<hash>/helm) and the built plugin
 * against charts/edge-credential-provider, with Helm's own directories in a temporary one so
 * nothing on the machine (repositories, plugins, a kubeconfig) changes what it does.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';
import { buildHelm } from '../../../../cluster/lib/build.mjs';

export const ROOT = fileURLToPath(new URL('../../../..', import.meta.url));
export const CHART = join(ROOT, 'charts', 'edge-credential-provider');
export const PLUGIN = join(ROOT, 'plugin', 'dist', 'edge-credential-provider');
export const EXAMPLES = readdirSync(join(CHART, 'examples'))
  .filter((f) => f.endsWith('.yaml'))
  .sort();

/** What an API server >= 1.30 serves and the chart's admission policy is guarded by. */
export const SERVES_VAP = 'admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy';

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end; a hung one is killed after `killAfterMs` and fails the test. */
export function run(cmd: string, args: string[], env: Record<string, string> = {}, killAfterMs = 60_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export class Helm {
  private constructor(
    readonly binary: string,
    private readonly home: string,
  ) {}

  /** Builds Helm (minutes the first time, then cached) and gives it a home of its own. */
  static async start(): Promise<Helm> {
    const binary = await buildHelm({});
    return new Helm(binary, mkdtempSync(join(tmpdir(), 'ecp-helm-')));
  }

  run(args: string[]): Promise<Run> {
    return run(this.binary, args, {
      HELM_CONFIG_HOME: join(this.home, 'config'),
      HELM_CACHE_HOME: join(this.home, 'cache'),
      HELM_DATA_HOME: join(this.home, 'data'),
      KUBECONFIG: join(this.home, 'no-kubeconfig'),
    });
  }

  /**
   * `helm template` of the chart with values files (paths) and `--set` pairs, as for an API
   * server that serves `apiVersions` (default: one with ValidatingAdmissionPolicy; offline, Helm
   * knows groups and versions only, not kinds).
   */
  template(values: { files?: string[]; set?: string[]; apiVersions?: string[] } = {}): Promise<Run> {
    const args = ['template', 'ecp', CHART, '--namespace', 'kube-system'];
    for (const v of values.apiVersions ?? [SERVES_VAP]) args.push('--api-versions', v);
    for (const f of values.files ?? []) args.push('--values', f);
    for (const s of values.set ?? []) args.push('--set', s);
    return this.run(args);
  }

  stop(): void {
    rmSync(this.home, { recursive: true, force: true });
  }
}

/** A rendered object, checked field by field. */
export type Manifest = Record<string, any>;

/** The objects of a rendered chart; fails on output that is not YAML. */
export function manifests(text: string): Manifest[] {
  const docs = parseAllDocuments(text);
  if (!Array.isArray(docs)) throw new Error('helm printed no documents');
  for (const d of docs) if (d.errors.length > 0) throw new Error(`rendered YAML does not parse: ${d.errors[0]?.message}`);
  return docs.map((d) => d.toJS() as Manifest).filter((m) => m !== null);
}

export function one(objects: Manifest[], kind: string): Manifest {
  const found = objects.filter((o) => o.kind === kind);
  if (found.length !== 1) throw new Error(`expected one ${kind}, rendered ${found.length}`);
  return found[0] as Manifest;
}

/** values.yaml with an example file over it, as Helm merges them (maps merged, lists replaced). */
export function valuesOf(example?: string): Manifest {
  const merge = (a: Manifest, b: Manifest): Manifest => {
    const out: Manifest = { ...a };
    for (const [k, v] of Object.entries(b)) {
      out[k] = v && typeof v === 'object' && !Array.isArray(v) && typeof a[k] === 'object' ? merge(a[k], v) : v;
    }
    return out;
  };
  const defaults = parse(readFileSync(join(CHART, 'values.yaml'), 'utf8')) as Manifest;
  return example ? merge(defaults, parse(readFileSync(join(CHART, 'examples', example), 'utf8')) as Manifest) : defaults;
}
