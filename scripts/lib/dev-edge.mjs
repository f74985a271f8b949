// The local edge that `npm start` runs, as the other CLIs find it: its URL (the port follows
// `npm start -- --port N`, recorded in .wrangler/dev-edge-url) and its admin token (.dev.vars),
// and paths as the user typed them (npm runs scripts from the package root; INIT_CWD is where
// the command was typed). Pure but for reading those two files.
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Made by scripts/dev-setup.mjs; git-ignored. */
export const DEV_VARS = resolve(ROOT, '.dev.vars');
/** The URL the latest `npm start` serves; git-ignored with the rest of .wrangler/. */
export const DEV_EDGE_URL_FILE = resolve(ROOT, '.wrangler', 'dev-edge-url');
export const DEFAULT_PORT = 8787;

const readOr = (file, fallback) => {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return fallback;
  }
};

/** The local edge's URL for a port. wrangler dev listens on 127.0.0.1 (npm start says so). */
export const devEdgeUrl = (port) => `http://127.0.0.1:${port}`;

/** EDGE_URL if set, else the URL the latest `npm start` recorded, else the default port's. */
export function edgeUrl(env = process.env, file = DEV_EDGE_URL_FILE) {
  if (env.EDGE_URL) return env.EDGE_URL.replace(/\/+$/, '');
  const recorded = readOr(file, '').trim();
  return /^http:\/\/127\.0\.0\.1:\d+$/.test(recorded) ? recorded : devEdgeUrl(DEFAULT_PORT);
}

/**
 * ADMIN_TOKEN if set, else the one `npm start` wrote to .dev.vars (`devVars`; null reads none:
 * the dev token is for the local edge only), else undefined.
 * @param {Record<string, string | undefined>} [env]
 * @param {string | null} [devVars]
 * @returns {string | undefined}
 */
export function adminToken(env = process.env, devVars = DEV_VARS) {
  if (env.ADMIN_TOKEN) return env.ADMIN_TOKEN;
  return devVars ? /^ADMIN_TOKEN='?([^'\n]+)'?$/m.exec(readOr(devVars, ''))?.[1] : undefined;
}

/** Whether a URL names this machine: the only edge the dev token in .dev.vars is for. */
export function isLoopbackUrl(raw) {
  try {
    const { hostname } = new URL(raw);
    return hostname === 'localhost' || hostname === '[::1]' || /^127(\.\d{1,3}){3}$/.test(hostname);
  } catch {
    return false;
  }
}

/** A path as the user typed it: relative to the directory `npm run` was started from. */
export function fromInvocationDir(path, env = process.env) {
  return isAbsolute(path) ? path : resolve(env.INIT_CWD ?? process.cwd(), path);
}
