/**
 * Amazon ECR through AWS STS (AssumeRoleWithWebIdentity, API version 2011-06-15) and ECR's
 * GetAuthorizationToken (AmazonEC2ContainerRegistry_V20150921):
 *
 *   POST https://sts.<region>.amazonaws.com/   form Action=AssumeRoleWithWebIdentity&Version=2011-06-15
 *        &RoleArn&RoleSessionName&WebIdentityToken&DurationSeconds          (unsigned)
 *   →    XML …/Credentials/{AccessKeyId, SecretAccessKey, SessionToken, Expiration}
 *   POST https://api.ecr.<region>.amazonaws.com/   SigV4 (service ecr, sigv4.ts) with those credentials,
 *        X-Amz-Target: AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken,
 *        Content-Type: application/x-amz-json-1.1, body {"registryIds":[<account>]}
 *   →    {"authorizationData":[{"authorizationToken": base64("AWS:<password>"), "expiresAt", "proxyEndpoint"}]}
 *
 * Docker: username `AWS`, password the decoded token (12 h). GetAuthorizationToken has a low
 * per-account rate limit: the caller caches (cache.ts).
 */
import type { Workload } from '../identity/workload';
import type { VendorCredential } from './cache';
import { garbage, vendorCall, vendorFailure } from './http';
import { ecrRegistryId, type EcrUpstream } from './vendors';
import { signAws } from './sigv4';

const STS = 'AWS STS';
const ECR = 'Amazon ECR';

/** STS error codes that mean "try again", not "refused" (they come as 400). */
const STS_TRANSIENT = new Set(['Throttling', 'IDPCommunicationError', 'ServiceUnavailable', 'InternalFailure']);

const stsBase = (u: EcrUpstream) => (u.stsEndpoint ?? `https://sts.${u.region}.amazonaws.com`).replace(/\/+$/, '');
const ecrBase = (u: EcrUpstream) => (u.ecrEndpoint ?? `https://api.ecr.${u.region}.amazonaws.com`).replace(/\/+$/, '');

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
/** The text of the first `<tag>` element: STS's answers are flat enough for this, and no DOM parser runs in Workers. */
export function xmlText(xml: string, tag: string): string | undefined {
  const m = new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(xml);
  return m?.[1]?.replace(/&(amp|lt|gt|quot|apos);/g, (_, e: string) => ENTITIES[e]!);
}

/**
 * RoleSessionName: 2 to 64 of [\w+=,.@-]; shows up in CloudTrail, so name the workload, or with
 * a fan-in subject (`fanIn`, the token's sub) the rule or record: one session serves all its workloads.
 */
export function roleSessionName(w: Pick<Workload, 'namespace' | 'serviceAccount'>, fanIn?: string): string {
  return `ecp-${fanIn ?? `${w.namespace}-${w.serviceAccount.name}`}`.replace(/[^\w+=,.@-]/g, '-').slice(0, 64);
}

interface SessionCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
}

async function assumeRole(u: EcrUpstream, workloadToken: string, sessionName: string, fetchFn: typeof fetch): Promise<SessionCredentials> {
  const form = new URLSearchParams({
    Action: 'AssumeRoleWithWebIdentity',
    Version: '2011-06-15',
    RoleArn: u.roleArn,
    RoleSessionName: sessionName,
    WebIdentityToken: workloadToken,
    DurationSeconds: String(u.sessionDuration),
  });
  const answer = await vendorCall(
    STS,
    new Request(`${stsBase(u)}/`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8', accept: 'application/xml' },
      body: form.toString(),
    }),
    fetchFn,
  );
  if (answer.status !== 200) {
    const code = xmlText(answer.body, 'Code');
    vendorFailure(
      STS,
      answer,
      `check the IAM OIDC identity provider (URL = the edge's issuer, audience) and the trust policy of ${u.roleArn} (its sub and aud conditions)`,
      code,
      code !== undefined && STS_TRANSIENT.has(code),
    );
  }
  const accessKeyId = xmlText(answer.body, 'AccessKeyId');
  const secretAccessKey = xmlText(answer.body, 'SecretAccessKey');
  const sessionToken = xmlText(answer.body, 'SessionToken');
  if (!accessKeyId || !secretAccessKey || !sessionToken) garbage(STS, 'answer has no credentials');
  return { accessKeyId, secretAccessKey, sessionToken };
}

/** `sessionName`: roleSessionName's, for CloudTrail. */
export async function ecrCredential(u: EcrUpstream, workloadToken: string, sessionName: string, fetchFn: typeof fetch): Promise<VendorCredential> {
  const session = await assumeRole(u, workloadToken, sessionName, fetchFn);
  const signed = await signAws(
    `${ecrBase(u)}/`,
    {
      method: 'POST',
      headers: { 'x-amz-target': 'AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken', 'content-type': 'application/x-amz-json-1.1' },
      body: JSON.stringify({ registryIds: [ecrRegistryId(u)] }),
    },
    session,
    { region: u.region, service: 'ecr' },
  );
  const answer = await vendorCall(ECR, signed, fetchFn);
  if (answer.status !== 200) {
    let type: string | undefined;
    try {
      type = (JSON.parse(answer.body) as { __type?: string }).__type?.split('#').pop();
    } catch {
      /* no code */
    }
    vendorFailure(ECR, answer, `check that ${u.roleArn} may call ecr:GetAuthorizationToken`, type, type === 'ThrottlingException');
  }
  let data: { authorizationToken?: unknown; expiresAt?: unknown } | undefined;
  try {
    data = (JSON.parse(answer.body) as { authorizationData?: (typeof data)[] }).authorizationData?.[0];
  } catch {
    garbage(ECR, 'answer is not JSON');
  }
  if (typeof data?.authorizationToken !== 'string' || typeof data.expiresAt !== 'number') garbage(ECR, 'answer has no authorization data');
  let decoded: string;
  try {
    decoded = atob(data.authorizationToken);
  } catch {
    garbage(ECR, 'authorization token is not base64');
  }
  if (!decoded.startsWith('AWS:') || decoded.length <= 4) garbage(ECR, 'authorization token is not AWS:<password>');
  return { username: 'AWS', password: decoded.slice(4), expiresAt: Math.floor(data.expiresAt) };
}
