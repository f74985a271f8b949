/**
 * Upstreams: the registry vendors a trust rule may federate with instead of minting an edge
 * credential. Everything that decides where the workload token goes (organisation, role,
 * region, API host) comes from the trust record, never from the request: no image name or
 * annotation can send a token to another host.
 *
 * Defaults per vendor: the audience the vendor expects and the algorithm it accepts.
 */
import * as z from '../zod';
import { isHttpsOrLoopback } from '../net';

/** A vendor endpoint override: https, or http to loopback (tests, local fakes). Never from a request. */
const endpoint = z.string().check(z.maxLength(2048), z.refine(isHttpsOrLoopback, 'must be an https URL (http only for loopback, in tests)'));

const common = {
  /**
   * Granularity of the workload token's `sub`: "serviceAccount" (`<record>:<namespace>:<name>`,
   * default) or "namespace" (`<record>:<namespace>`: one vendor-side trust entry per namespace).
   */
  subject: z._default(z.enum(['serviceAccount', 'namespace']), 'serviceAccount'),
  /** Signature algorithm of the workload token. Default: what the vendor is known to accept. */
  algorithm: z.optional(z.enum(['ES256', 'RS256'])),
  /** `aud` of the workload token. Default: the vendor's documented audience. */
  audience: z.optional(z.string().check(z.minLength(1), z.maxLength(1024))),
};

const slug = z.string().check(z.minLength(1), z.maxLength(128), z.regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'must be a Cloudsmith slug'));

export const CloudsmithSchema = z.strictObject({
  type: z.literal('cloudsmith'),
  /** The Cloudsmith organisation (workspace) slug. */
  organization: slug,
  /** The slug of the Cloudsmith service account the OIDC provider setting maps to. */
  serviceAccount: slug,
  /** API base URL. Default https://api.cloudsmith.io. */
  endpoint: z.optional(endpoint),
  ...common,
});

const AWS_REGION = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;

export const EcrSchema = z.strictObject({
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
});

export const UpstreamSchema = z.discriminatedUnion('type', [CloudsmithSchema, EcrSchema]);
export type Upstream = z.infer<typeof UpstreamSchema>;
export type CloudsmithUpstream = z.infer<typeof CloudsmithSchema>;
export type EcrUpstream = z.infer<typeof EcrSchema>;

/** Vendor defaults: audience and workload-token algorithm. */
export function upstreamDefaults(u: Upstream): { audience: string; algorithm: 'ES256' | 'RS256'; vendor: string } {
  switch (u.type) {
    case 'cloudsmith':
      return { vendor: 'Cloudsmith', audience: u.audience ?? cloudsmithBase(u), algorithm: u.algorithm ?? 'RS256' };
    case 'ecr':
      // An IAM OIDC identity provider lists its audiences ("client IDs"); sts.amazonaws.com is AWS's convention.
      return { vendor: 'AWS', audience: u.audience ?? 'sts.amazonaws.com', algorithm: u.algorithm ?? 'RS256' };
  }
}

export const cloudsmithBase = (u: CloudsmithUpstream) => (u.endpoint ?? 'https://api.cloudsmith.io').replace(/\/+$/, '');
export const ecrRegistryId = (u: EcrUpstream) => u.registryId ?? u.roleArn.split(':')[4]!;
/** The registry host an ECR upstream serves: `<account>.dkr.ecr.<region>.amazonaws.com`. */
export const ecrRegistryHost = (u: EcrUpstream) => `${ecrRegistryId(u)}.dkr.ecr.${u.region}.amazonaws.com`;
