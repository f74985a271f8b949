// The edge's KV as a warm location has it, for the cold-start rows (sections/startup.mjs) and
// the first-request profile (lib/first-profile.mjs).
import { putTrustRecord, trustRecord } from './fixtures.mjs';
import { startIsolate } from './isolate.mjs';

/** The compatibility date of both Workers (both tomls say why). */
export const COMPATIBILITY_DATE = '2026-08-01';
const JSON_POST = { method: 'POST', headers: { 'content-type': 'application/json' } };

/**
 * KV as a warm location has it: the trust record (keys from a jwks_uri) and the issuer's
 * JWKS, which the edge itself wrote after fetching it once. Returns a credential it minted and
 * the keys a first exchange reads.
 */
export async function prime({ edgeCode, edgeModules = [], persistDir, bindings, iss, oidc, body }) {
  const isolate = await startIsolate({
    code: edgeCode,
    modules: edgeModules,
    compatibilityDate: COMPATIBILITY_DATE,
    bindings,
    kv: ['TRUST'],
    persistDir,
    adminWriter: true,
  });
  try {
    // Through the admin API and its writer (a Durable Object), as production writes it: checked
    // against its schema and sealed (src/store/seal.ts), as a warm location's KV holds it.
    const kv = await isolate.mf.getKVNamespace('TRUST');
    await putTrustRecord({ url: isolate.url, adminToken: bindings.ADMIN_TOKEN }, 'startup', trustRecord(iss, { type: 'jwks_uri', uri: oidc.jwksUri }));
    const res = await isolate.request('/v1/credentials', { ...JSON_POST, body });
    if (res.status !== 200) throw new Error(`the edge refused the priming exchange: ${res.status} ${res.text.slice(0, 200)}`);
    // The JWKS is written to KV after the response (waitUntil): wait for it.
    for (let i = 0; ; i++) {
      if ((await kv.list({ prefix: 'jwks/' })).keys.length) break;
      if (i === 50) throw new Error('the edge did not store the JWKS in KV after its first fetch');
      await new Promise((r) => setTimeout(r, 100));
    }
    // What a first exchange reads: the record, its revocations (none: by name, and the version-1
    // fallback by issuer) and the JWKS. The record is named 'startup' (above).
    const stored = (await kv.list()).keys.map((k) => k.name);
    const record = stored.find((k) => k.startsWith('trust/v1/issuer/'));
    const jwks = stored.find((k) => k.startsWith('jwks/'));
    if (!record || !jwks) throw new Error(`KV after priming holds no record or no JWKS: ${stored.join(', ')}`);
    const kvReads = [record, record.replace('trust/v1/issuer/', 'revoke/v1/'), 'revoke/v2/startup', jwks];
    return { credential: Object.values(JSON.parse(res.text).auth)[0].password, kvReads };
  } finally {
    await isolate.stop();
  }
}
