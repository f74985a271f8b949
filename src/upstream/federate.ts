/**
 * Federation: for a workload a trust rule sends upstream, sign a workload token and trade
 * it with the registry vendor for the vendor's own credential, once per identity while the
 * credential lasts (cache.ts). Where the token goes is fixed by the rule (schema.ts).
 */
import type { Workload } from '../identity/workload';
import type { KeyRing } from '../signing/keys';
import { cacheKey, singleFlight, type VendorCredential } from './cache';
import { cloudsmithCredential } from './cloudsmith';
import { ecrCredential, roleSessionName } from './ecr';
import { cloudsmithBase, upstreamDefaults, type Upstream } from './schema';
import { signWorkloadToken, workloadTokenClaims, type WorkloadTokenInput } from './workload-token';

export interface FederateDeps {
  ring: KeyRing;
  edgeIssuer: string;
  fetch: typeof fetch;
  /** Seconds since the epoch. */
  now: number;
  /** ms since the epoch (the single flight's clock). */
  clock: () => number;
  cache?: Cache;
  /** Secret material for the cache's encryption key (EDGE_SIGNING_KEYS). */
  secret: string;
  waitUntil: (p: Promise<unknown>) => void;
}

function tokenInput(upstream: Upstream, workload: Workload, edgeIssuer: string, now: number): WorkloadTokenInput {
  return { edgeIssuer, audience: upstreamDefaults(upstream).audience, subject: upstream.subject, workload, now };
}

export async function federate(upstream: Upstream, workload: Workload, deps: FederateDeps): Promise<VendorCredential> {
  const { algorithm } = upstreamDefaults(upstream);
  const input = tokenInput(upstream, workload, deps.edgeIssuer, deps.now);
  // Everything a vendor could condition on, and nothing that changes per pod or per second.
  const { iat: _i, nbf: _n, exp: _e, ...identity } = workloadTokenClaims(input);
  const key = await cacheKey({ upstream, algorithm, identity });
  return singleFlight(key, async () => {
    const token = await signWorkloadToken(deps.ring, algorithm, input);
    switch (upstream.type) {
      case 'cloudsmith': return cloudsmithCredential(upstream, token, deps.fetch);
      case 'ecr': return ecrCredential(upstream, token, workload, deps.fetch);
    }
  }, { clock: deps.clock, ...(deps.cache ? { cache: deps.cache } : {}), secret: deps.secret, waitUntil: deps.waitUntil });
}

/** What `explain` shows: where the token would go and exactly what the vendor would see. No call is made. */
export function describeUpstream(upstream: Upstream, workload: Workload, edgeIssuer: string, now: number) {
  const { vendor, algorithm } = upstreamDefaults(upstream);
  const { iss, sub, aud } = workloadTokenClaims(tokenInput(upstream, workload, edgeIssuer, now));
  const target = upstream.type === 'cloudsmith'
    ? { organization: upstream.organization, serviceAccount: upstream.serviceAccount, endpoint: `${cloudsmithBase(upstream)}/openid/${upstream.organization}/` }
    : { roleArn: upstream.roleArn, region: upstream.region, roleSessionName: roleSessionName(workload) };
  return { type: upstream.type, vendor, ...target, workloadToken: { iss, sub, aud, alg: algorithm } };
}
