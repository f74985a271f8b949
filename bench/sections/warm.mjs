// (2) Warm POST /v1/credentials over loopback HTTP, against the same load on two
// reference endpoints of the bench Worker under the very same wrangler dev harness:
//   /noop      reads the body, answers a response of the edge's size: the harness alone
//   /exchange  parse, verify, sign, answer with jose and nothing else: the least an HTTP exchange costs
import { kubeletRequest, makeIssuer, putTrustRecord, saTokens, startOidcServer, trustRecord } from '../lib/fixtures.mjs';
import { loadScenario } from '../lib/scenario.mjs';

const JSON_POST = { method: 'POST', headers: { 'content-type': 'application/json' } };
/** Distinct tokens per run (distinct pods), as a node pulling for many pods sends them. */
const TOKEN_POOL = 64;

export async function warmSection(ctx) {
  const edge = await ctx.edge();
  const w = await ctx.floorWorker();
  const seconds = ctx.seconds(4);
  const concurrency = [1, 64];
  const bodies = async (iss, alg) => (await saTokens(iss, TOKEN_POOL, alg)).map((t) => JSON.stringify(kubeletRequest(t)));
  const edgeBodies = { RS256: await bodies(edge.iss, 'RS256'), ES256: await bodies(edge.iss, 'ES256') };
  const floorBodies = { RS256: await bodies(w.iss, 'RS256'), ES256: await bodies(w.iss, 'ES256') };

  // Sizes, for the record: request and response bytes of one exchange.
  const sample = await fetch(`${edge.url}/v1/credentials`, { ...JSON_POST, body: edgeBodies.RS256[0] });
  const sampleText = await sample.text();
  if (sample.status !== 200) throw new Error(`edge refused the bench exchange: ${sample.status} ${sampleText}`);
  const sizes = {
    requestBytes: { RS256: edgeBodies.RS256[0].length, ES256: edgeBodies.ES256[0].length },
    responseBytes: sampleText.length,
  };

  const rows = [];
  const edgeUrl = `${edge.url}/v1/credentials`;
  for (const alg of ['RS256', 'ES256']) {
    rows.push(
      ...(await loadScenario(ctx, {
        name: `edge ${alg} inline keys`,
        url: edgeUrl,
        ...JSON_POST,
        bodies: edgeBodies[alg],
        target: edge,
        concurrency,
        seconds,
      })),
    );
  }

  // The same exchange with the issuer's keys from a jwks_uri (cached after the first fetch).
  const remoteIss = await makeIssuer();
  const oidc = await startOidcServer(remoteIss, { delayMs: 0 });
  try {
    await putTrustRecord(edge, 'bench-remote', trustRecord(remoteIss, { type: 'jwks_uri', uri: oidc.jwksUri }));
    rows.push(
      ...(await loadScenario(ctx, {
        name: 'edge RS256 jwks_uri keys',
        url: edgeUrl,
        ...JSON_POST,
        bodies: await bodies(remoteIss, 'RS256'),
        target: edge,
        concurrency: [64],
        seconds,
      })),
    );
    sizes.jwksFetchesDuringWarm = oidc.counts.jwks;
  } finally {
    await oidc.stop();
  }

  // Audit log on (the production default): one JSON line per exchange to wrangler's console.
  const audited = await ctx.edge({ audit: true });
  const auditBodies = await bodies(audited.iss, 'RS256');
  rows.push(
    ...(await loadScenario(ctx, {
      name: 'edge RS256 inline keys, AUDIT_LOG=on',
      url: `${audited.url}/v1/credentials`,
      ...JSON_POST,
      bodies: auditBodies,
      target: audited,
      concurrency: [64],
      seconds,
    })),
  );

  const harness = await loadScenario(ctx, {
    name: 'harness /noop',
    url: `${w.url}/noop`,
    ...JSON_POST,
    bodies: floorBodies.RS256,
    target: w,
    concurrency,
    seconds,
  });
  for (const alg of ['RS256', 'ES256']) {
    harness.push(
      ...(await loadScenario(ctx, {
        name: `minimal exchange ${alg}`,
        url: `${w.url}/exchange`,
        ...JSON_POST,
        bodies: floorBodies[alg],
        target: w,
        concurrency: [64],
        seconds,
      })),
    );
  }
  return { rows, harness, sizes, tokenPool: TOKEN_POOL };
}
