/**
 * `install` and `uninstall`: put this plugin's provider into a node's kubelet
 * CredentialProviderConfig, or take it out, leaving every other provider as it was. The
 * same code runs in the installer DaemonSet, by hand on a node and in the tests.
 *
 * `--config` names what the kubelet's --image-credential-provider-config names: a file
 * (YAML or JSON, created with its directory if absent) or, since Kubernetes 1.34, a
 * directory whose *.json, *.yaml and *.yml files the kubelet reads in lexical order and
 * refuses duplicate provider names across (pkg/credentialprovider/plugin/config.go). In a
 * directory install writes a drop-in file of its own, `<dir>/<name>.yaml`.
 *
 * Everything is checked before anything is written; a write is atomic (files.ts). The
 * result is one line, `changed: <path>` or `unchanged: <path>`, so an installer can
 * restart the kubelet only when the config changed (the kubelet reads it only at start).
 */
import { buildConfig } from './config';
import { inputError, PluginError, usageError } from './errors';
import { formatOf, hasComments, kubeletProblems, readConfig, removeProvider, renderConfig, upsertProvider, type NodeConfig } from './merge';
import { parseFlags } from './options';

export const DEFAULT_PROVIDER_NAME = 'edge-credential-provider';
/** Suffix of the one backup of a file install changed first; the kubelet reads no such file. */
export const BACKUP_SUFFIX = '.ecp-backup';

export interface FileInfo {
  isFile: boolean;
  isDirectory: boolean;
  /** Permission bits, kept on rewrite. */
  mode: number;
  uid: number;
  gid: number;
}

/** The file system as install needs it; files.ts on a node, an in-memory map in tests. */
export interface Files {
  /** Follows symbolic links; undefined when nothing is there. */
  stat(path: string): FileInfo | undefined;
  /** The path with symbolic links resolved (a rename must replace the file, not the link). */
  realpath(path: string): string;
  read(path: string): string;
  /** Names of the entries of `dir` that are not directories. */
  list(dir: string): string[];
  mkdirp(dir: string): void;
  /** Replaces `path` atomically: temporary file in the same directory, fsync, rename. */
  write(path: string, text: string, like: FileInfo | undefined): void;
  remove(path: string): void;
  /**
   * Copies the executable `from` to `to` (mode 0755) under a temporary name and a rename,
   * unless `to` already has the same bytes; true when it copied.
   */
  installExecutable(from: string, to: string): boolean;
}

export interface Outcome {
  changed: boolean;
  /** The file written or removed (in a directory: the drop-in). */
  path: string;
  /** Lines for stderr: what else happened, what the operator should know. */
  notes: string[];
}

export const INSTALL_USAGE = `Usage: edge-credential-provider install --config PATH [generate-config flags]
Adds this plugin's provider to the node's kubelet CredentialProviderConfig, or updates it,
keeping every other provider, its fields and the order.
  --config PATH   what --image-credential-provider-config names: a YAML or JSON file
                  (created with its directory if absent), or a directory the kubelet reads
                  (Kubernetes >= 1.34; a PATH ending in "/" is created as one), where
                  install writes its own drop-in PATH/NAME.yaml
  --copy-binary-to DIR
                  also copy this executable to DIR/NAME, the kubelet's
                  --image-credential-provider-bin-dir (created if absent), when the
                  bytes there differ: a temporary name, then a rename (no restart needed)
  --url, --match-image, --audience, --name, ... as for generate-config (not --format:
                  a file keeps its format; a new one is JSON if named *.json, else YAML)
Prints "changed: FILE" or "unchanged: FILE": restart the kubelet only after "changed".
The file as it was before install first changed it is kept as FILE${BACKUP_SUFFIX}; comments in a
YAML file are not kept. Exit codes: 0 done, 1 refused (nothing written; the reason is the
line on stderr), 2 bad flags.
`;

export const UNINSTALL_USAGE = `Usage: edge-credential-provider uninstall --config PATH [--name NAME]
Removes the provider NAME (default ${DEFAULT_PROVIDER_NAME}) from the kubelet's
CredentialProviderConfig at PATH, or its drop-in file if PATH is a directory, and nothing
else. A file left without providers is removed (the kubelet refuses an empty list).
Prints "changed: FILE" or "unchanged: FILE". Exit codes as for install.
`;

const dirOf = (path: string) => (path.includes('/') ? path.slice(0, path.lastIndexOf('/')) || '/' : '.');
const join = (dir: string, name: string) => `${dir.replace(/\/+$/, '')}/${name}`;

/** Splits `--<flag> VALUE` (or `--<flag>=VALUE`), given at most once, off the flags the command passes on. */
function takeFlag(argv: readonly string[], flag: string): { value: string | undefined; rest: string[] } {
  const rest: string[] = [];
  let value: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg !== `--${flag}` && !arg.startsWith(`--${flag}=`)) {
      rest.push(arg);
      continue;
    }
    if (value !== undefined) throw usageError(`flag --${flag} is given more than once`);
    value = arg === `--${flag}` ? argv[++i] : arg.slice(flag.length + 3);
    if (value === undefined) throw usageError(`flag --${flag} needs a value`);
  }
  return { value, rest };
}

/** Splits `--config PATH` off the flags the command passes on. */
function takeConfig(argv: readonly string[], command: string): { path: string; rest: string[] } {
  const { value: path, rest } = takeFlag(argv, 'config');
  if (!path) throw usageError(`${command} needs --config PATH (what the kubelet's --image-credential-provider-config names)`);
  return { path, rest };
}

interface Target {
  path: string;
  /** Set when `--config` is a directory: the drop-in is `path` inside it. */
  dir?: string;
  info: FileInfo | undefined;
}

function locate(configPath: string, name: string, files: Files): Target {
  const info = files.stat(configPath);
  if (info?.isDirectory || (!info && configPath.endsWith('/'))) {
    const dir = configPath.replace(/\/+$/, '') || '/';
    const path = join(dir, `${name}.yaml`);
    return { path, dir, info: files.stat(path) };
  }
  if (info && !info.isFile) throw inputError(`${configPath} is neither a file nor a directory`);
  return { path: info ? files.realpath(configPath) : configPath, info };
}

/** Files in `dir` the kubelet reads, other than our drop-in, that define provider `name`. */
function othersDefining(target: Target & { dir: string }, name: string, files: Files, notes: string[]): string[] {
  const found: string[] = [];
  if (!files.stat(target.dir)) return found;
  for (const entry of files.list(target.dir).sort()) {
    const path = join(target.dir, entry);
    if (!/\.(?:json|yaml|yml)$/.test(entry) || path === target.path) continue;
    const text = files.read(path);
    try {
      if (readConfig(text, path)?.providers.some((p) => p.name === name)) found.push(path);
    } catch (err) {
      if (!(err instanceof PluginError)) throw err;
      if (text.includes(name)) found.push(path);
      else notes.push(`${err.message}; it does not mention ${name}, so install goes on`);
    }
  }
  return found;
}

/** Writes `config` over the target, with a one-time backup of a file that was not ours. */
function replace(target: Target, before: string | undefined, config: NodeConfig, notes: string[], files: Files): void {
  const { path, info } = target;
  const format = formatOf(path, before);
  if (before !== undefined && !target.dir) {
    const backup = path + BACKUP_SUFFIX;
    if (!files.stat(backup)) {
      files.write(backup, before, info);
      notes.push(`kept the file as it was in ${backup}`);
    }
    if (format === 'yaml' && hasComments(before)) notes.push(`the comments in ${path} are not kept (they are in ${backup})`);
  }
  if (!info) files.mkdirp(dirOf(path));
  files.write(path, renderConfig(config, format), info);
}

/**
 * @param self the running executable (the SEA) or script, for --copy-binary-to.
 */
export function install(argv: readonly string[], files: Files, self?: string): Outcome {
  const { path: configPath, rest: flags } = takeConfig(argv, 'install');
  const { value: binDir, rest } = takeFlag(flags, 'copy-binary-to');
  if (binDir !== undefined && !binDir) throw usageError('flag --copy-binary-to needs a directory');
  if (rest.some((a) => a === '--format' || a.startsWith('--format='))) {
    throw usageError('install keeps the format of the file (a new file is JSON if named *.json, else YAML): drop --format');
  }
  const { config: generated, minor } = buildConfig(rest, 'install');
  const ours = generated.providers[0];
  if (!ours) throw new Error('buildConfig returned no provider');
  const notes: string[] = [];
  const target = locate(configPath, ours.name, files);
  const left = 'nothing was written';
  if (target.dir) {
    const others = othersDefining({ ...target, dir: target.dir }, ours.name, files, notes);
    if (others.length > 0) {
      throw inputError(
        `${others.join(', ')} already defines the provider ${ours.name} and the kubelet refuses a name defined twice: ` +
          `install with --config ${others[0]}, or remove it there; ${left}`,
      );
    }
  }
  if (target.info && !target.info.isFile) throw inputError(`${target.path} is not a file`);
  const before = target.info ? files.read(target.path) : undefined;
  const current = before === undefined ? undefined : readConfig(before, target.path);
  const { config, changed } = upsertProvider(current, ours);
  const problems = kubeletProblems(config.providers, minor);
  if (problems.length > 0) throw inputError(`the kubelet would not load the merged config: ${problems.join('; ')}; ${left}`);
  // The binary before the config, so a kubelet that loads the new config finds what it names.
  if (binDir) copyBinary(self, binDir, ours.name, files, notes);
  if (changed) replace(target, before, config, notes, files);
  return { changed, path: target.path, notes };
}

/** --copy-binary-to: this executable as DIR/NAME, the name the kubelet looks the provider up by. */
function copyBinary(self: string | undefined, binDir: string, name: string, files: Files, notes: string[]): void {
  if (!self || !files.stat(self)?.isFile) throw inputError('--copy-binary-to: cannot tell which file this executable is; nothing was written');
  const dirInfo = files.stat(binDir);
  if (dirInfo && !dirInfo.isDirectory) throw inputError(`--copy-binary-to: ${binDir} is not a directory; nothing was written`);
  if (!dirInfo) files.mkdirp(binDir);
  const bin = join(binDir, name);
  if (files.installExecutable(self, bin)) notes.push(`copied ${self} to ${bin}`);
  else notes.push(`${bin} is already this executable`);
}

export function uninstall(argv: readonly string[], files: Files): Outcome {
  const { path: configPath, rest } = takeConfig(argv, 'uninstall');
  const name = parseFlags(rest, { name: { takesValue: true } }).get('name')?.[0] ?? DEFAULT_PROVIDER_NAME;
  const notes: string[] = [];
  const target = locate(configPath, name, files);
  if (target.dir) {
    for (const other of othersDefining({ ...target, dir: target.dir }, name, files, [])) {
      notes.push(`${other} defines ${name} too; install did not write it, so uninstall leaves it alone`);
    }
  }
  if (!target.info) return { changed: false, path: target.path, notes: [...notes, `${target.path} does not exist`] };
  if (!target.info.isFile) throw inputError(`${target.path} is not a file`);
  const before = files.read(target.path);
  const config = removeProvider(readConfig(before, target.path), name);
  if (!config) return { changed: false, path: target.path, notes: [...notes, `${target.path} has no provider ${name}`] };
  if (config.providers.length > 0) {
    replace(target, before, config, notes, files);
    return { changed: true, path: target.path, notes };
  }
  files.remove(target.path);
  notes.push(`removed ${target.path}: it held only ${name}, and the kubelet refuses a config without providers`);
  const loadable = target.dir && files.list(target.dir).some((f) => /\.(?:json|yaml|yml)$/.test(f));
  if (!loadable) {
    notes.push(
      `--image-credential-provider-config=${configPath} now names nothing the kubelet can load: remove that flag and ` +
        '--image-credential-provider-bin-dir before the kubelet restarts',
    );
  }
  if (!target.dir && files.stat(target.path + BACKUP_SUFFIX)) notes.push(`${target.path}${BACKUP_SUFFIX} (the file before install) is left in place`);
  return { changed: true, path: target.path, notes };
}
