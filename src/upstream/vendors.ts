/**
 * Upstreams at run time: each vendor's defaults (audience, algorithm), hosts and names, and the
 * edge's own bindings a static upstream may not hand out. No zod: the exchange imports this,
 * and the schemas (upstream/schema.ts) load only where a record is checked.
 */
import type { Env } from '../env';
import type { CloudsmithUpstream, EcrUpstream, GarUpstream, TokenUpstream, Upstream } from './schema';

export type {
  AcrUpstream,
  CloudsmithUpstream,
  DockerHubUpstream,
  EcrUpstream,
  GarUpstream,
  HarborUpstream,
  QuayUpstream,
  StaticUpstream,
  TokenUpstream,
  Upstream,
} from './schema';

/**
 * Names of the edge's own bindings (wrangler.toml, secrets): a static upstream may not hand
 * one out. `satisfies` plus the check below make typecheck fail when Env gains a binding this
 * list lacks. Names under EDGE_, ADMIN_ and ACCESS_ are refused too, for bindings yet to come.
 */
export const EDGE_BINDINGS = [
  'TRUST',
  'ADMIN_WRITER',
  'EDGE_ISSUER',
  'REGISTRY_TOKEN_ISSUER',
  'EDGE_SIGNING_KEYS',
  'ADMIN_TOKEN',
  'ADMIN_READ_TOKEN',
  'ADMIN_SCOPES',
  'ACCESS_TEAM_DOMAIN',
  'ACCESS_AUD',
  'ACCESS_WRITERS',
  'JWKS_COOLDOWN_SECONDS',
  'AUDIT_LOG',
  'ALLOW_ENDPOINT_OVERRIDES',
  'METRICS',
] as const satisfies readonly (keyof Env)[];
const everyBindingListed: Exclude<keyof Env, (typeof EDGE_BINDINGS)[number]> extends never ? true : never = true;
void everyBindingListed;

export const isEdgeBinding = (name: string) => (EDGE_BINDINGS as readonly string[]).includes(name) || /^(EDGE|ADMIN|ACCESS)_/.test(name);

/** Entra ID's audience for workload identity federation. */
export const AZURE_TOKEN_EXCHANGE_AUDIENCE = 'api://AzureADTokenExchange';
export const DOCKER_IDENTITY = 'https://identity.docker.com';

const VENDORS: Record<Upstream['type'], string> = {
  cloudsmith: 'Cloudsmith',
  ecr: 'AWS',
  gar: 'Google Cloud',
  acr: 'Entra ID',
  quay: 'Quay',
  dockerhub: 'Docker Hub',
  harbor: 'Harbor',
  static: 'static',
};
export const vendorName = (u: Upstream) => VENDORS[u.type];

/** Vendor defaults: audience and workload-token algorithm. `registry` is the rule's. */
export function upstreamDefaults(u: TokenUpstream, registry: string): { audience: string; algorithm: 'ES256' | 'RS256'; vendor: string } {
  const vendor = vendorName(u);
  const algorithm = u.algorithm ?? 'RS256';
  switch (u.type) {
    case 'cloudsmith':
      return { vendor, audience: u.audience ?? cloudsmithBase(u), algorithm };
    case 'ecr':
      // An IAM OIDC identity provider lists its audiences ("client IDs"); sts.amazonaws.com is AWS's convention.
      return { vendor, audience: u.audience ?? 'sts.amazonaws.com', algorithm };
    case 'gar':
      // A provider without allowed audiences takes its own full resource name.
      return { vendor, audience: u.audience ?? garProviderAudience(u), algorithm };
    case 'acr':
      return { vendor, audience: u.audience ?? AZURE_TOKEN_EXCHANGE_AUDIENCE, algorithm };
    case 'dockerhub':
      return { vendor, audience: u.audience ?? DOCKER_IDENTITY, algorithm };
    case 'quay':
    case 'harbor':
      // Neither names an audience of its own; 8gears recommends the registry's domain, and Quay's optional audiences take any.
      return { vendor, audience: u.audience ?? registry, algorithm };
  }
}

export const cloudsmithBase = (u: CloudsmithUpstream) => (u.endpoint ?? 'https://api.cloudsmith.io').replace(/\/+$/, '');
export const ecrRegistryId = (u: EcrUpstream) => u.registryId ?? u.roleArn.split(':')[4]!;
/** The registry host an ECR upstream serves: `<account>.dkr.ecr.<region>.amazonaws.com`. */
export const ecrRegistryHost = (u: EcrUpstream) => `${ecrRegistryId(u)}.dkr.ecr.${u.region}.amazonaws.com`;
/** `//iam.googleapis.com/projects/…/providers/…`: the STS `audience` and the provider's default allowed audience. */
export const garProviderAudience = (u: GarUpstream) => `//iam.googleapis.com/${u.workloadIdentityProvider}`;

/** Artifact Registry's Docker hosts: `<location>-docker.pkg.dev` (`europe-west1-docker.pkg.dev`, `us-docker.pkg.dev`). */
const GAR_HOST = /^[a-z0-9]+(-[a-z0-9]+)*-docker\.pkg\.dev$/;
/** An ACR login server: `<name>.azurecr.io`, the name 5 to 50 letters and digits. */
const ACR_HOST = /^[a-z0-9]{5,50}\.azurecr\.io$/;
/** Docker Hub as image references name it (the edge reads index.docker.io as docker.io). */
const DOCKER_HUB_HOSTS = ['docker.io', 'registry-1.docker.io'];

/** What is wrong with serving `registry` from this upstream, if anything: a vendor serves its own hosts only. */
export function upstreamRegistryProblem(u: Upstream, registry: string): string | undefined {
  switch (u.type) {
    case 'ecr':
      return registry === ecrRegistryHost(u) ? undefined : `an ECR upstream serves ${ecrRegistryHost(u)}`;
    case 'gar':
      return GAR_HOST.test(registry) ? undefined : 'an Artifact Registry upstream serves <location>-docker.pkg.dev hosts';
    case 'acr':
      return ACR_HOST.test(registry) ? undefined : "an ACR upstream serves <name>.azurecr.io (the registry's login server)";
    case 'dockerhub':
      if (registry === 'index.docker.io') return 'write docker.io: image references on index.docker.io are read as docker.io';
      return DOCKER_HUB_HOSTS.includes(registry) ? undefined : 'a Docker Hub upstream serves docker.io (or registry-1.docker.io)';
    default:
      return undefined;
  }
}
