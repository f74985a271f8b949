// `npm run demo`: a first exchange against the edge that `npm start` runs. It plays a
// cluster: makes a throwaway issuer key, registers it (inline JWKS) through the admin API,
// signs a service-account token like the API server would, sends the kubelet's request,
// and prints the response (password shortened) and the admin `explain` answer.
//   EDGE_URL (default: the edge the latest `npm start` runs, http://127.0.0.1:8787 unless --port
//   moved it), ADMIN_TOKEN (default: from .dev.vars, for a loopback edge)
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { adminToken, DEV_VARS, edgeUrl, isLoopbackUrl } from './lib/dev-edge.mjs';

const edge = edgeUrl();
// .dev.vars holds the local edge's token: it is never sent anywhere else.
const admin = adminToken(process.env, isLoopbackUrl(edge) ? DEV_VARS : null);
if (!admin) {
  console.error('demo: set ADMIN_TOKEN, or run `npm start` first so .dev.vars exists');
  process.exit(1);
}
// A friendly word when nothing listens there, instead of fetch's stack trace.
try {
  await fetch(`${edge}/healthz`, { signal: AbortSignal.timeout(5000) });
} catch (err) {
  const why = err?.cause?.code ?? err?.cause?.message ?? err?.message ?? 'no answer';
  console.error(`demo: no edge at ${edge} (${why}); start it with \`npm start\`, or set EDGE_URL to where it runs`);
  process.exit(1);
}

const issuer = 'https://demo-cluster.example';
const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
const jwk = { ...(await exportJWK(publicKey)), kid: 'demo-1', alg: 'RS256', use: 'sig' };
const adminHeaders = { authorization: `Bearer ${admin}`, 'content-type': 'application/json' };

const put = await fetch(`${edge}/admin/v1/issuers/demo`, {
  method: 'PUT',
  headers: adminHeaders,
  body: JSON.stringify({
    issuer,
    audiences: ['edge-credential-provider'],
    keys: { type: 'inline', jwks: { keys: [jwk] } },
    rules: [{ name: 'team-a', namespaces: ['team-a'], registry: 'registry.example.com', repositories: ['team-a/*'], actions: ['pull'] }],
  }),
});
console.log(`PUT /admin/v1/issuers/demo -> ${put.status}`);
if (!put.ok) {
  console.error(await put.text());
  process.exit(1);
}

const now = Math.floor(Date.now() / 1000);
const token = await new SignJWT({
  'kubernetes.io': { namespace: 'team-a', serviceaccount: { name: 'web', uid: crypto.randomUUID() }, pod: { name: 'web-0', uid: crypto.randomUUID() } },
})
  .setProtectedHeader({ alg: 'RS256', kid: 'demo-1' })
  .setIssuer(issuer)
  .setSubject('system:serviceaccount:team-a:web')
  .setAudience(['edge-credential-provider'])
  .setIssuedAt(now)
  .setNotBefore(now)
  .setExpirationTime(now + 3600)
  .sign(privateKey);

const image = 'registry.example.com/team-a/app:v1';
const res = await fetch(`${edge}/v1/credentials`, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ apiVersion: 'credentialprovider.kubelet.k8s.io/v1', kind: 'CredentialProviderRequest', image, serviceAccountToken: token }),
});
const body = await res.json();
for (const cred of Object.values(body.auth ?? {})) cred.password = `${cred.password.slice(0, 24)}… (${cred.password.length} chars)`;
console.log(`POST /v1/credentials (${image}) -> ${res.status}\n${JSON.stringify(body, null, 2)}`);

const explain = await fetch(`${edge}/admin/v1/explain`, {
  method: 'POST',
  headers: adminHeaders,
  body: JSON.stringify({ token, image: 'registry.example.com/team-b/app' }),
});
console.log(`POST /admin/v1/explain (registry.example.com/team-b/app) -> ${explain.status}\n${JSON.stringify(await explain.json(), null, 2)}`);
