/**
 * Federation: for a workload a trust rule sends upstream, sign a workload token and trade
 * it with the registry vendor for the vendor's own credential, once per identity while the
 * credential lasts (cache.ts). Where the token goes is fixed by the rule (schema.ts).
 *
 * Two upstreams make no vendor call: `harbor` (the 8gears build takes the workload token
 * itself as the password, so a fresh one is signed each time) and `static` (a password read
 * from a Worker secret binding at exchange time). Neither is cached by the edge.
 */
import { oidcIssuerProblem } from '../net';
import { NotConfigured } from '../errors';
import type { Workload } from '../identity/workload';
import type { KeyRing } from '../signing/keys';
import { acrCredential } from './acr';
import { cacheKey, singleFlight, type VendorCredential } from './cache';
import { cloudsmithCredential } from './cloudsmith';
import { dockerHubCredential } from './dockerhub';
import { ecrCredential, roleSessionName } from './ecr';
import { garCredential } from './gar';
import { endpointProblems } from './endpoints';
import { garbage } from './http';
import { quayCredential } from './quay';
import { isStaticSecretName, STATIC_SECRET_PREFIX } from './record-checks';
import {
  cloudsmithBase,
  garProviderAudience,
  isEdgeBinding,
  upstreamDefaults,
  vendorName,
  type StaticUpstream,
  type TokenUpstream,
  type Upstream,
} from './vendors';
import { staticTrustEntry, trustEntry, type RuleView, type TokenView, type TrustEntry } from './trust';
import { isFanIn, signWorkloadToken, WORKLOAD_TOKEN_TTL, workloadTokenClaims, type WorkloadTokenInput } from './workload-token';

/**
 * A static secret has no expiry the edge knows of. It is given this one, the longest a rule's
 * `ttl` can be, so that the rule's `ttl` alone decides how long the kubelet caches it.
 */
const STATIC_LIFETIME = 12 * 60 * 60;

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
  /** A Worker secret binding's value by name (a `static` upstream's password), or undefined if unset. */
  secrets: (name: string) => string | undefined;
  /** ALLOW_ENDPOINT_OVERRIDES: endpoint overrides may name any origin, not only the vendor's own hosts. */
  allowEndpointOverrides: boolean;
  /** The record's vendorCacheEpoch: a new value misses every credential cached under the old one (an admin's purge). Default 0. */
  cacheEpoch?: number;
}

/** The rule an upstream belongs to: its name (part of a "rule" subject) and registry. */
export type RuleRef = Pick<RuleView, 'name' | 'registry'>;

function tokenInput(upstream: TokenUpstream, rule: RuleRef, workload: Workload, edgeIssuer: string, now: number): WorkloadTokenInput {
  return { edgeIssuer, audience: upstreamDefaults(upstream, rule.registry).audience, subject: upstream.subject, rule: rule.name, workload, now };
}

/** ECR's RoleSessionName for this token: the workload's, or with a fan-in subject the sub's (what AWS saw). */
const sessionName = (upstream: TokenUpstream, workload: Workload, sub: string) => roleSessionName(workload, isFanIn(upstream.subject) ? sub : undefined);

function staticCredential(u: StaticUpstream, deps: FederateDeps): VendorCredential {
  // The schema refuses the edge's own names and the admin API any name outside the convention;
  // checked again here because the value would leave the edge (a record may predate the convention).
  const value = isEdgeBinding(u.secret) || !isStaticSecretName(u.secret) ? undefined : deps.secrets(u.secret);
  if (!value) {
    throw new NotConfigured({
      detail: isStaticSecretName(u.secret)
        ? `static upstream: secret binding ${u.secret} is not set`
        : `static upstream: binding ${u.secret} is not named ${STATIC_SECRET_PREFIX}*: rename the secret and the record's "secret"`,
      // The binding's name is the record's setting: in the log line and explain, never in the workload's answer.
      message: 'the edge has no secret for this rule; the edge log says which (wrangler secret put)',
    });
  }
  return { username: u.username, password: value, expiresAt: deps.now + STATIC_LIFETIME };
}

/** The longest the edge keeps or hands out a vendor's credential, seconds (ECR's tokens live 12 h). */
export const MAX_VENDOR_CREDENTIAL_SECONDS = 12 * 60 * 60;

/** The vendor's credential for `workload`, under `rule` (whose `upstream` this is). */
export async function federate(upstream: Upstream, rule: RuleRef, workload: Workload, deps: FederateDeps): Promise<VendorCredential> {
  const { registry } = rule;
  if (upstream.type === 'static') return staticCredential(upstream, deps);
  // Checked when the record was written, and again here: the record may predate the edge's
  // setting (or have been written to KV directly). No token goes to a host this edge refuses.
  const refused = endpointProblems(upstream, registry, deps.allowEndpointOverrides);
  if (refused.length) {
    throw new NotConfigured({
      detail: `federation: ${refused.map((p) => `upstream.${p.field}: ${p.message}`).join('; ')}`,
      message: "this rule's vendor endpoint is not allowed on this edge",
    });
  }
  // A vendor verifies the workload token through the edge's discovery document: with an issuer
  // it cannot fetch, every exchange would come back as the vendor's refusal, misleadingly.
  const issuerProblem = oidcIssuerProblem(deps.edgeIssuer);
  if (issuerProblem) {
    throw new NotConfigured({ detail: `federation: ${issuerProblem}`, message: "federation needs EDGE_ISSUER set to the edge's https origin" });
  }
  const { algorithm } = upstreamDefaults(upstream, registry);
  const input = tokenInput(upstream, rule, workload, deps.edgeIssuer, deps.now);
  if (upstream.type === 'harbor') {
    // The token is the password: a fresh one each time, for its full 5 minutes.
    const token = await signWorkloadToken(deps.ring, algorithm, input);
    return { username: upstream.username, password: token, expiresAt: deps.now + WORKLOAD_TOKEN_TTL };
  }
  // The key is everything the vendor sees (the token's claims but its times, the upstream's
  // settings, the registry), and nothing that changes per pod or per second: two requests share
  // a credential only if the vendor could not have told them apart, so neither gets more than
  // its own exchange would have. With a fan-in subject that is every workload of the rule (or of
  // the record's rules with this upstream: the record schema requires them to grant the same).
  const { iat: _i, nbf: _n, exp: _e, ...identity } = workloadTokenClaims(input);
  const session = sessionName(upstream, workload, identity.sub);
  const key = await cacheKey({ upstream, registry, algorithm, identity, ...(deps.cacheEpoch ? { epoch: deps.cacheEpoch } : {}) });
  return singleFlight(
    key,
    async () => {
      const token = await signWorkloadToken(deps.ring, algorithm, input);
      const credential = await exchange(upstream, registry, token, session, deps);
      if (credential.expiresAt <= deps.now) garbage(vendorName(upstream), 'credential has already expired');
      // An expiry far out (milliseconds for seconds, a vendor's "never") would keep a credential
      // in the caches long after the vendor-side trust is gone: none is kept past 12 h.
      return { ...credential, expiresAt: Math.min(credential.expiresAt, deps.now + MAX_VENDOR_CREDENTIAL_SECONDS) };
    },
    { clock: deps.clock, ...(deps.cache ? { cache: deps.cache } : {}), secret: deps.secret, waitUntil: deps.waitUntil },
  );
}

function exchange(
  u: Exclude<TokenUpstream, { type: 'harbor' }>,
  registry: string,
  token: string,
  session: string,
  deps: FederateDeps,
): Promise<VendorCredential> {
  switch (u.type) {
    case 'cloudsmith':
      return cloudsmithCredential(u, token, deps.fetch);
    case 'ecr':
      return ecrCredential(u, token, session, deps.fetch);
    case 'gar':
      return garCredential(u, token, deps.now, deps.fetch);
    case 'acr':
      return acrCredential(u, registry, token, deps.now, deps.fetch);
    case 'quay':
      return quayCredential(u, registry, token, deps.fetch);
    case 'dockerhub':
      return dockerHubCredential(u, token, deps.now, deps.fetch);
  }
}

/** Where the workload token goes, per vendor: nothing secret. */
function target(u: Upstream, rule: RuleView, workload: Workload, sub: string) {
  switch (u.type) {
    case 'cloudsmith':
      return { organization: u.organization, serviceAccount: u.serviceAccount, endpoint: `${cloudsmithBase(u)}/openid/${u.organization}/` };
    case 'ecr':
      return { roleArn: u.roleArn, region: u.region, roleSessionName: sessionName(u, workload, sub) };
    case 'gar':
      return {
        workloadIdentityProvider: u.workloadIdentityProvider,
        stsAudience: garProviderAudience(u),
        ...(u.serviceAccount ? { serviceAccount: u.serviceAccount } : {}),
      };
    case 'acr':
      return { tenantId: u.tenantId, clientId: u.clientId, registry: rule.registry };
    case 'quay':
      return { robot: u.robot, endpoint: `${(u.endpoint ?? `https://${rule.registry}`).replace(/\/+$/, '')}/oauth2/federation/robot/token` };
    case 'dockerhub':
      return { organization: u.organization, connectionId: u.connectionId };
    case 'harbor':
      return { username: u.username };
    case 'static':
      return { username: u.username, secret: u.secret };
  }
}

export interface UpstreamDescription {
  type: Upstream['type'];
  vendor: string;
  /** Exactly what the vendor will see; absent for `static`, which sends none. */
  workloadToken?: TokenView;
  /** What to create at the vendor so that it accepts that token. */
  trust: TrustEntry;
  /** Where the token goes: the vendor's own fields (organization, roleArn, tenantId, robot, ...). */
  [field: string]: unknown;
}

/**
 * What `explain` shows: where the token would go, exactly what the vendor would see, and the
 * vendor-side trust entry that makes it accept that token. No call is made.
 */
export function describeUpstream(upstream: Upstream, rule: RuleView, workload: Workload, edgeIssuer: string, now: number): UpstreamDescription {
  const where = (sub: string) => ({ type: upstream.type, vendor: vendorName(upstream), ...target(upstream, rule, workload, sub) });
  if (upstream.type === 'static') return { ...where(''), trust: staticTrustEntry(upstream, rule) };
  const { algorithm } = upstreamDefaults(upstream, rule.registry);
  const { iss, sub, aud } = workloadTokenClaims(tokenInput(upstream, rule, workload, edgeIssuer, now));
  const workloadToken = { iss, sub, aud, alg: algorithm };
  const trust = trustEntry(upstream, rule, workloadToken);
  if (isFanIn(upstream.subject)) {
    const of = upstream.subject === 'rule' ? `rule ${rule.name}` : `record ${workload.record}`;
    trust.notes = [
      `One entry for every workload of ${of}: the vendor sees no workload; the edge decides each one and its log names it.`,
      ...(trust.notes ?? []),
    ];
  }
  return { ...where(sub), workloadToken, trust };
}
