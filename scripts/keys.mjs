#!/usr/bin/env node
// `npm run keys -- <command>`: the edge's signing keys and the certificate bundle that
// registries trust. The key ring (src/signing/keys.ts) lives in a file given by --ring:
// either JSON (for `wrangler secret put EDGE_SIGNING_KEYS < FILE`) or a dotenv file such
// as .dev.vars with an EDGE_SIGNING_KEYS='...' line. Private keys are written only to that
// file (mode 0600), never printed. The PEM bundle goes to stdout, guidance to stderr, so
// `npm run -s keys -- bundle --ring FILE > registry-certs.pem` gives a clean file.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { fromInvocationDir } from './lib/dev-edge.mjs';
import { certificateBundle, certifyKeyRing, checkKeyRing, generateKeyRing, retireKey, rotateKeyRing } from './lib/keys.mjs';

const USAGE = `usage: npm run keys -- <command> [options]

  generate --ring FILE [--days N] [--force]  new key ring: a credential key (ES256, with certificate), workload keys (ES256, RS256)
  rotate   --ring FILE [--days N]            add a new active ES256 key; the old ones stay, retiring
  rotate   --rsa --ring FILE                 the same for the RS256 workload-token key (adds one to an older ring)
  rotate   --workload --ring FILE            the same for the ES256 workload-token key (adds one to an older ring)
  retire   KID --ring FILE                   remove a retiring key of either kind (never an active one)
  certify  --ring FILE [--days N]            give keys without a certificate a self-signed one
  bundle   [--ring FILE]                     print the PEM bundle for the registry's rootcertbundle
  check    [--ring FILE]                     validate the key ring

FILE is JSON, or a dotenv file (.dev.vars) holding EDGE_SIGNING_KEYS='...'. bundle and check
read EDGE_SIGNING_KEYS from the environment when --ring is not given. --days is the
certificate validity in days (default 3650).`;

const DOTENV_LINE = /^EDGE_SIGNING_KEYS=(['"]?)(.*)\1\s*$/m;

function fail(message) {
  process.stderr.write(`keys: ${message}\n`);
  process.exit(2);
}

const isDotenv = (file) => !file.endsWith('.json') && existsSync(file) && !readFileSync(file, 'utf8').trimStart().startsWith('{');

function readRing(file) {
  let text;
  if (file) {
    if (!existsSync(file)) fail(`${file} does not exist (make one with: npm run keys -- generate --ring ${file})`);
    const content = readFileSync(file, 'utf8');
    const line = DOTENV_LINE.exec(content);
    text = content.trimStart().startsWith('{') ? content : line?.[2];
    if (text === undefined) fail(`${file} is neither a JSON key ring nor a dotenv file with EDGE_SIGNING_KEYS`);
  } else {
    text = process.env.EDGE_SIGNING_KEYS;
    if (!text) fail('give --ring FILE or set EDGE_SIGNING_KEYS');
  }
  try {
    return JSON.parse(text);
  } catch {
    return fail(`${file ?? 'EDGE_SIGNING_KEYS'} does not hold valid JSON`);
  }
}

function writeRing(file, ring) {
  const problems = checkKeyRing(ring);
  if (problems.length) fail(`refusing to write an unsound key ring:\n  ${problems.join('\n  ')}`);
  const json = JSON.stringify(ring);
  let content = JSON.stringify(ring, null, 2) + '\n';
  if (isDotenv(file)) {
    const old = readFileSync(file, 'utf8');
    content = DOTENV_LINE.test(old) ? old.replace(DOTENV_LINE, () => `EDGE_SIGNING_KEYS='${json}'`) : `${old.trimEnd()}\nEDGE_SIGNING_KEYS='${json}'\n`;
  }
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, content, { mode: 0o600 });
  renameSync(tmp, file); // whole file or nothing: a half-written key ring would lock the edge out
}

function nextSteps(file, ring, what, { registryFirst = true } = {}) {
  const edge = isDotenv(file) ? `restart \`npm start\` to load ${file}` : `npx wrangler secret put EDGE_SIGNING_KEYS < ${file}`;
  const registry = "put the certificate bundle (printed on stdout) into each registry's auth.token.rootcertbundle and restart it";
  // A new key must be trusted by the registries before the edge signs with it; a retired
  // key leaves the edge first and the registries after.
  const steps = registryFirst ? [registry, `then load the key ring into the edge: ${edge}`] : [`load the key ring into the edge: ${edge}`, `then ${registry}`];
  const plural = ring.keys.length === 1 ? '' : 's';
  process.stderr.write(`${what}\nActive key: ${ring.active} (${ring.keys.length} key${plural} in ${file}).\nNext:\n  1. ${steps[0]};\n  2. ${steps[1]}.\n`);
  process.stdout.write(certificateBundle(ring));
}

function main(argv) {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        ring: { type: 'string' },
        days: { type: 'string' },
        force: { type: 'boolean' },
        rsa: { type: 'boolean' },
        workload: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    fail(`${err.message}\n${USAGE}`);
  }
  const { values, positionals } = parsed;
  // FILE as typed: relative to where `npm run` was started, like the shell's `> bundle.pem` beside it.
  if (values.ring) values.ring = fromInvocationDir(values.ring);
  const [command, ...rest] = positionals;
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    return;
  }
  if (!command) fail(`a command is needed\n${USAGE}`);
  const days = values.days === undefined ? undefined : Number(values.days);
  if (days !== undefined && !(Number.isInteger(days) && days > 0 && days <= 36500)) fail('--days must be a whole number of days, 1 to 36500');
  const needRing = () => values.ring ?? fail(`${command} needs --ring FILE`);

  switch (command) {
    case 'generate': {
      const file = needRing();
      if (existsSync(file) && !values.force && !isDotenv(file)) fail(`${file} exists; rotate it, or pass --force to replace it`);
      if (isDotenv(file) && DOTENV_LINE.test(readFileSync(file, 'utf8')) && !values.force)
        fail(`${file} already has EDGE_SIGNING_KEYS; rotate it, or pass --force`);
      const ring = generateKeyRing({ days });
      writeRing(file, ring);
      nextSteps(file, ring, 'Generated a key ring.');
      return;
    }
    case 'rotate': {
      const file = needRing();
      if (values.rsa && values.workload) fail('rotate takes --rsa or --workload, not both');
      const { ring, added } = rotateKeyRing(readRing(file), { days, rsa: values.rsa, workload: values.workload });
      writeRing(file, ring);
      if (values.rsa || values.workload) {
        // Workload keys are for vendors, who refetch the JWKS: no registry bundle to update.
        const edge = isDotenv(file) ? `restart \`npm start\` to load ${file}` : `npx wrangler secret put EDGE_SIGNING_KEYS < ${file}`;
        process.stderr.write(
          `Added ${values.rsa ? 'RS256' : 'ES256'} workload key ${added}; the previous ones are retiring (retire them once every workload token they signed has expired, 5 min).\nNext: ${edge}.\n`,
        );
        return;
      }
      nextSteps(
        file,
        ring,
        `Added ${added}; the previous keys are retiring (retire them once every credential and token they signed has expired, 12 h at most).`,
      );
      return;
    }
    case 'retire': {
      const file = needRing();
      if (rest.length !== 1) fail('retire takes exactly one KID');
      let ring;
      try {
        ring = retireKey(readRing(file), rest[0]);
      } catch (err) {
        fail(err.message);
      }
      writeRing(file, ring);
      nextSteps(file, ring, `Retired ${rest[0]}.`, { registryFirst: false });
      return;
    }
    case 'certify': {
      const file = needRing();
      const { ring, added } = certifyKeyRing(readRing(file), { days });
      if (added.length === 0) process.stderr.write('Every key already has a certificate.\n');
      else writeRing(file, ring);
      nextSteps(file, ring, added.length ? `Certified ${added.join(', ')}.` : 'Nothing changed.');
      return;
    }
    case 'bundle': {
      const ring = readRing(values.ring);
      const bundle = certificateBundle(ring);
      if (!bundle) fail('no key in the ring has a certificate: run certify');
      process.stdout.write(bundle);
      return;
    }
    case 'check': {
      const ring = readRing(values.ring);
      const problems = checkKeyRing(ring);
      if (problems.length) fail(`key ring problems:\n  ${problems.join('\n  ')}`);
      process.stderr.write('Key ring is sound.\n');
      // A ring made before workload keys: sound, but ES256 workload tokens answer 503 (docs/upstreams.md, "Migration").
      if (!ring.workload)
        process.stderr.write('Note: no ES256 workload key; rules with "algorithm": "ES256" answer 503 until: npm run keys -- rotate --workload\n');
      return;
    }
    default:
      fail(`unknown command ${command}\n${USAGE}`);
  }
}

main(process.argv.slice(2));
