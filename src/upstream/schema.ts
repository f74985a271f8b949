/**
 * Upstreams: the registry vendors a trust rule may federate with instead of minting an edge
 * credential. Everything that decides where the workload token goes (organisation, role,
 * region, tenant, API host) comes from the trust record, never from the request: no image
 * name or annotation can send a token to another host. Where a vendor's API host is the
 * registry itself (ACR, Quay), it is the rule's `registry`, which the record fixes too.
 *
 * Defaults per vendor: the audience the vendor expects and the algorithm it accepts.
 */
import * as z from '../zod';
import { deferred } from '../zod';
import { endpointShapeProblem } from './endpoints';
import { isEdgeBinding } from './vendors';

/**
 * A vendor endpoint override: an origin, stored normalised; which hosts this edge accepts is
 * endpoints.ts's `endpointProblems` (ALLOW_ENDPOINT_OVERRIDES). Never from a request.
 */
/** A vendor endpoint override, as the record stores it: the origin (`https://host[:port]`), normalised. */
export const EndpointSchema = deferred(() =>
  z.string().check(
    z.maxLength(2048),
    z.superRefine((raw, ctx) => {
      const problem = endpointShapeProblem(raw);
      if (problem) ctx.addIssue({ code: 'custom', message: problem, input: raw });
    }),
    // Normalised only once it is an origin (an overwrite runs after a refused check too).
    z.overwrite((raw) => (endpointShapeProblem(raw) ? raw : new URL(raw).origin)),
  ),
);
const endpoint = EndpointSchema;

const subject = deferred(() => z._default(z.enum(['serviceAccount', 'namespace', 'rule', 'record']), 'serviceAccount'));
const audience = deferred(() => z.optional(z.string().check(z.minLength(1), z.maxLength(1024))));

const common = {
  /**
   * Granularity of the workload token's `sub`: "serviceAccount" (`<record>:<namespace>:<name>`,
   * default), "namespace" (`<record>:<namespace>`), "rule" (`<record>:rule=<rule>`) or "record"
   * (`<record>`): one vendor-side trust entry per namespace, rule or record (workload-token.ts).
   */
  subject,
  /** Signature algorithm of the workload token. Default: what the vendor is known to accept. */
  algorithm: deferred(() => z.optional(z.enum(['ES256', 'RS256']))),
  /** `aud` of the workload token. Default: the vendor's documented audience. */
  audience,
};

/** For vendors that verify RSA signatures only (Entra ID, Quay): ES256 is refused when the record is written. */
const rsaOnly = {
  subject,
  /** Only RS256: this vendor does not accept elliptic-curve signatures. */
  algorithm: deferred(() => z.optional(z.literal('RS256', 'this vendor accepts RSA signatures only: RS256'))),
  audience,
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const uuid = (what: string) => z.string().check(z.regex(UUID, `must be ${what} (a GUID)`));
/** A Docker username: anything the registry takes but ':' (which ends the user in Basic auth). */
const dockerUsername = deferred(() => z.string().check(z.minLength(1), z.maxLength(255), z.regex(/^[^:\s]+$/, 'must be a username without ":" or spaces')));

const slug = deferred(() => z.string().check(z.minLength(1), z.maxLength(128), z.regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'must be a Cloudsmith slug')));

export const CloudsmithSchema = deferred(() =>
  z.strictObject({
    type: z.literal('cloudsmith'),
    /** The Cloudsmith organisation (workspace) slug. */
    organization: slug,
    /** The slug of the Cloudsmith service account the OIDC provider setting maps to. */
    serviceAccount: slug,
    /** API base URL. Default https://api.cloudsmith.io. */
    endpoint: z.optional(endpoint),
    ...common,
  }),
);

const AWS_REGION = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;

export const EcrSchema = deferred(() =>
  z.strictObject({
    type: z.literal('ecr'),
    /** The IAM role to assume with the workload token (its trust policy names the edge's OIDC provider). */
    roleArn: z.string().check(z.maxLength(2048), z.regex(/^arn:aws(-[a-z]+)*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/, 'must be an IAM role ARN')),
    region: z.string().check(z.regex(AWS_REGION, 'must be an AWS region like eu-west-1')),
    /** The registry's account id. Default: the role's account. */
    registryId: z.optional(z.string().check(z.regex(/^\d{12}$/, 'must be a 12-digit account id'))),
    /** Seconds the assumed-role session lasts, 900 to 43200 (the role's maximum applies). Default 900. */
    sessionDuration: z._default(z.number().check(z.int(), z.gte(900), z.lte(43200)), 900),
    /** STS endpoint override. Default https://sts.<region>.amazonaws.com. */
    stsEndpoint: z.optional(endpoint),
    /** ECR API endpoint override. Default https://api.ecr.<region>.amazonaws.com. */
    ecrEndpoint: z.optional(endpoint),
    ...common,
  }),
);

/** Pool and provider ids: 4 to 32 of lowercase letters, digits and '-' (Google's rule). */
const GCP_PROVIDER = /^projects\/\d{1,20}\/locations\/global\/workloadIdentityPools\/[a-z0-9-]{4,32}\/providers\/[a-z0-9-]{4,32}$/;

export const GarSchema = deferred(() =>
  z.strictObject({
    type: z.literal('gar'),
    /**
     * The workload identity pool provider, as Google names it:
     * `projects/<project number>/locations/global/workloadIdentityPools/<pool>/providers/<provider>`.
     */
    workloadIdentityProvider: z
      .string()
      .check(z.regex(GCP_PROVIDER, 'must be projects/<number>/locations/global/workloadIdentityPools/<pool>/providers/<provider>')),
    /**
     * A service account to impersonate (`name@project.iam.gserviceaccount.com`). Default: none;
     * the federated principal itself is granted on the repositories.
     */
    serviceAccount: z.optional(
      z.string().check(z.maxLength(320), z.regex(/^[a-z0-9-]{1,64}@[a-z0-9.-]{1,200}\.gserviceaccount\.com$/, 'must be a service account e-mail')),
    ),
    /** Seconds an impersonated token lives, 300 to 43200 (over 3600 needs Google's lifetime-extension org policy). Default 3600. */
    tokenLifetime: z._default(z.number().check(z.int(), z.gte(300), z.lte(43200)), 3600),
    /** STS endpoint override. Default https://sts.googleapis.com. */
    stsEndpoint: z.optional(endpoint),
    /** IAM Credentials endpoint override. Default https://iamcredentials.googleapis.com. */
    iamEndpoint: z.optional(endpoint),
    ...common,
  }),
);

export const AcrSchema = deferred(() =>
  z.strictObject({
    type: z.literal('acr'),
    /** The Entra ID tenant (directory) id. */
    tenantId: uuid('a tenant id'),
    /** The application (client) id of the app registration or user-assigned managed identity holding the federated credential. */
    clientId: uuid('an application (client) id'),
    /** Entra ID base URL. Default https://login.microsoftonline.com. */
    entraEndpoint: z.optional(endpoint),
    /** The registry's base URL for /oauth2/exchange. Default https://<the rule's registry> (tests only). */
    registryEndpoint: z.optional(endpoint),
    ...rsaOnly,
  }),
);

export const QuaySchema = deferred(() =>
  z.strictObject({
    type: z.literal('quay'),
    /** The robot account, `<organization>+<robot>`: also the Docker username. */
    robot: z.string().check(z.maxLength(255), z.regex(/^[a-z0-9][a-z0-9_.-]{0,254}\+[a-z][a-z0-9_]{0,254}$/, 'must be a robot account like "acme+puller"')),
    /** Quay's base URL. Default https://<the rule's registry>. */
    endpoint: z.optional(endpoint),
    ...rsaOnly,
  }),
);

export const DockerHubSchema = deferred(() =>
  z.strictObject({
    type: z.literal('dockerhub'),
    /** The Docker organisation: the Docker username. */
    organization: z.string().check(z.regex(/^[a-z0-9][a-z0-9_-]{1,254}$/, 'must be a Docker organisation name')),
    /** The OIDC connection's id (Docker Home → organisation → OIDC connections). */
    connectionId: uuid('a connection id'),
    /** Seconds the Docker access token lives, 300 to 3600 (Docker's bounds). Default 3600. */
    expiresIn: z._default(z.number().check(z.int(), z.gte(300), z.lte(3600)), 3600),
    /** Docker's identity endpoint base. Default https://identity.docker.com. */
    endpoint: z.optional(endpoint),
    ...common,
  }),
);

export const HarborSchema = deferred(() =>
  z.strictObject({
    type: z.literal('harbor'),
    /** The Docker username sent with the workload token; Harbor picks the robot by the token's claims. Default "jwt". */
    username: z._default(dockerUsername, 'jwt'),
    ...common,
  }),
);

export const StaticSchema = deferred(() =>
  z.strictObject({
    type: z.literal('static'),
    /** The registry username that goes with the secret. */
    username: dockerUsername,
    /**
     * The name of the Worker secret binding that holds the password (`wrangler secret put NAME`).
     * Read at exchange time; never in KV, never logged.
     */
    secret: z.string().check(
      z.regex(/^[A-Z][A-Z0-9_]{0,63}$/, 'must be a Worker secret name: A-Z, 0-9 and "_", starting with a letter, at most 64'),
      z.refine((name) => !isEdgeBinding(name), "names one of the edge's own bindings (or is under EDGE_, ADMIN_ or ACCESS_): use a name of its own"),
    ),
  }),
);

export const UpstreamSchema = deferred(() =>
  z.discriminatedUnion('type', [CloudsmithSchema, EcrSchema, GarSchema, AcrSchema, QuaySchema, DockerHubSchema, HarborSchema, StaticSchema]),
);
export type Upstream = z.infer<typeof UpstreamSchema>;
export type CloudsmithUpstream = z.infer<typeof CloudsmithSchema>;
export type EcrUpstream = z.infer<typeof EcrSchema>;
export type GarUpstream = z.infer<typeof GarSchema>;
export type AcrUpstream = z.infer<typeof AcrSchema>;
export type QuayUpstream = z.infer<typeof QuaySchema>;
export type DockerHubUpstream = z.infer<typeof DockerHubSchema>;
export type HarborUpstream = z.infer<typeof HarborSchema>;
export type StaticUpstream = z.infer<typeof StaticSchema>;
/** Upstreams the edge signs a workload token for: all but `static`. */
export type TokenUpstream = Exclude<Upstream, StaticUpstream>;

// What the exchange uses at run time lives in vendors.ts (no zod): re-exported for the admin API, the CLIs and tests.
export * from './vendors';
