// First-run setup for `npm start`: creates .dev.vars (git-ignored) with a dev signing
// key ring and an admin token if it does not exist yet, and says how to use them.
// Later runs keep the file, so the keys and token stay stable across restarts.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { generateAdminToken, generateKeyRing } from './lib/keys.mjs';

const file = new URL('../.dev.vars', import.meta.url);
if (!existsSync(file)) {
  const ring = generateKeyRing();
  const adminToken = generateAdminToken();
  writeFileSync(
    file,
    [
      '# Local development secrets, made by scripts/dev-setup.mjs. Never commit this file.',
      `EDGE_SIGNING_KEYS='${JSON.stringify(ring)}'`,
      `ADMIN_TOKEN='${adminToken}'`,
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  console.log(`Created .dev.vars with a dev signing key (kid ${ring.active}) and an admin token.`);
  console.log(`Admin token (shown once; it stays in .dev.vars): ${adminToken}`);
  console.log('Use it as:');
  console.log('  curl -H "Authorization: Bearer <admin token>" http://127.0.0.1:8787/admin/v1/issuers');
} else {
  console.log('Using existing .dev.vars (delete it to make new dev keys and admin token).');
  const ring = /^EDGE_SIGNING_KEYS='(.*)'$/m.exec(readFileSync(file, 'utf8'))?.[1];
  try {
    if (ring && JSON.parse(ring).keys.some((k) => !k.certificate)) {
      console.log('Its signing keys have no certificate, which registries need: npm run keys -- certify --ring .dev.vars');
    }
  } catch {
    console.log('Its EDGE_SIGNING_KEYS is not valid JSON; delete .dev.vars to start over.');
  }
}
