// (3) The registry token endpoint, GET (Basic auth) and POST (OAuth2 password form), with a
// credential the edge minted. Fails loudly when the endpoint is not there.
import { kubeletRequest, saToken, SERVICE } from '../lib/fixtures.mjs';
import { loadScenario } from '../lib/scenario.mjs';

export async function tokenSection(ctx) {
  const edge = await ctx.edge();
  const w = await ctx.floorWorker();
  // Is the token endpoint wired? An unauthenticated GET must be a 401 challenge, not a 404.
  const probe = await fetch(`${edge.url}/token?service=${encodeURIComponent(SERVICE)}`);
  const probeText = await probe.text();
  if (probe.status === 404) {
    throw new Error(
      `the registry token endpoint is missing: GET /token answered 404 (${probeText.slice(0, 120)}). ` +
        'src/routes/token.ts must exist and be routed in src/app.ts before (3) can run.',
    );
  }
  if (probe.status !== 401) throw new Error(`GET /token without credentials answered ${probe.status}, expected 401: ${probeText.slice(0, 200)}`);

  const res = await fetch(`${edge.url}/v1/credentials`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(kubeletRequest(await saToken(edge.iss, { alg: 'RS256' }))),
  });
  if (res.status !== 200) throw new Error(`could not get a credential for the token bench: ${res.status} ${await res.text()}`);
  const auth = Object.values((await res.json()).auth)[0];
  const scope = 'repository:team-a/app:pull';
  const getPath = `/token?service=${encodeURIComponent(SERVICE)}&scope=${encodeURIComponent(scope)}`;
  const basic = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
  const form = new URLSearchParams({
    grant_type: 'password',
    username: auth.username,
    password: auth.password,
    service: SERVICE,
    scope,
    client_id: 'containerd',
  }).toString();

  // Check both forms answer 200 with a token before loading them.
  for (const [init, path] of [
    [{ headers: { authorization: basic } }, getPath],
    [{ method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form }, '/token'],
  ]) {
    const r = await fetch(`${edge.url}${path}`, init);
    const body = await r.json();
    if (r.status !== 200 || typeof body.access_token !== 'string')
      throw new Error(`token ${init.method ?? 'GET'} answered ${r.status}: ${JSON.stringify(body).slice(0, 200)}`);
  }

  const seconds = ctx.seconds(4);
  const concurrency = [1, 64];
  const rows = [
    ...(await loadScenario(ctx, { name: 'token GET', url: `${edge.url}${getPath}`, headers: { authorization: basic }, target: edge, concurrency, seconds })),
    ...(await loadScenario(ctx, {
      name: 'token POST',
      url: `${edge.url}/token`,
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      bodies: [form],
      target: edge,
      concurrency,
      seconds,
    })),
  ];
  const harness = await loadScenario(ctx, { name: 'harness GET /noop', url: `${w.url}/noop`, target: w, concurrency, seconds });
  return { rows, harness, sizes: { credentialBytes: auth.password.length, formBytes: form.length, scope } };
}
