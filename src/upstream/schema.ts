/**
 * Upstreams: the registry vendors a trust rule may federate with instead of minting an edge
 * credential. Everything that decides where the workload token goes (organisation, role,
 * region, API host) comes from the trust record, never from the request: no image name or
 * annotation can send a token to another host.
 *
 * Defaults per vendor: the audience the vendor expects and the algorithm it accepts.
 */
import { z } from 'zod';
import { isHttpsOrLoopback } from '../net';

/** A vendor endpoint override: https, or http to loopback (tests, local fakes). Never from a request. */
const endpoint = z.string().max(2048).refine(isHttpsOrLoopback, 'must be an https URL (http only for loopback, in tests)');

const common = {
  /**
   * Granularity of the workload token's `sub`: "serviceAccount" (`<record>:<namespace>:<name>`,
   * default) or "namespace" (`<record>:<namespace>`: one vendor-side trust entry per namespace).
   */
  subject: z.enum(['serviceAccount', 'namespace']).default('serviceAccount'),
  /** Signature algorithm of the workload token. Default: what the vendor is known to accept. */
  algorithm: z.enum(['ES256', 'RS256']).optional(),
  /** `aud` of the workload token. Default: the vendor's documented audience. */
  audience: z.string().min(1).max(1024).optional(),
};

const slug = z.string().min(1).max(128).regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'must be a Cloudsmith slug');

export const CloudsmithSchema = z.strictObject({
  type: z.literal('cloudsmith'),
  /** The Cloudsmith organisation (workspace) slug. */
  organization: slug,
  /** The slug of the Cloudsmith service account the OIDC provider setting maps to. */
  serviceAccount: slug,
  /** API base URL. Default https://api.cloudsmith.io. */
  endpoint: endpoint.optional(),
  ...common,
});

const AWS_REGION = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;

export const EcrSchema = z.strictObject({
  type: z.literal('ecr'),
  /** The IAM role to assume with the workload token (its trust policy names the edge's OIDC provider). */
  roleArn: z.string().max(2048).regex(/^arn:aws(-[a-z]+)*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/, 'must be an IAM role ARN'),
  region: z.string().regex(AWS_REGION, 'must be an AWS region like eu-west-1'),
  /** The registry's account id. Default: the role's account. */
  registryId: z.string().regex(/^\d{12}$/, 'must be a 12-digit account id').optional(),
  /** Seconds the assumed-role session lasts, 900 to 43200 (the role's maximum applies). Default 900. */
  sessionDuration: z.number().int().min(900).max(43200).default(900),
  /** STS endpoint override. Default https://sts.<region>.amazonaws.com. */
  stsEndpoint: endpoint.optional(),
  /** ECR API endpoint override. Default https://api.ecr.<region>.amazonaws.com. */
  ecrEndpoint: endpoint.optional(),
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
