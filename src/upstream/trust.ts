/**
 * The vendor-side trust entry for a federated workload: what an operator creates at the
 * vendor so that it accepts the workload token the edge will send (an AWS role trust
 * policy, a Google workload identity provider and IAM binding, an Entra federated
 * credential, a Quay federation entry, ...), with the exact iss, sub and aud the edge signs.
 * `explain` shows it; `npm run upstream -- trust` prints it offline. Pure: no call is made.
 *
 * Data only: the steps name an operation and its parameters, and `npm run upstream -- trust`
 * (scripts/lib/trust-commands.mjs) renders them as commands, quoting every value. No text
 * meant for a shell is built here: a value from a record (or an argument) can never become
 * shell syntax, and no command template weighs on the Worker bundle.
 */
import {
  vendorName,
  type AcrUpstream,
  type CloudsmithUpstream,
  type DockerHubUpstream,
  type EcrUpstream,
  type GarUpstream,
  type HarborUpstream,
  type QuayUpstream,
  type StaticUpstream,
  type TokenUpstream,
} from './vendors';
import { BadRequest } from '../errors';

/**
 * One operation at the vendor, as data: `op` names it (the CLI knows each one's command), the
 * other fields are its parameters. `<ANGLE_BRACKETS>` mark values the edge cannot know.
 * `optional`, when present, says when the step applies (the CLI prints it commented out).
 */
export type TrustStep = (
  | { op: 'cloudsmith.create-oidc-provider'; organization: string; document: unknown }
  | { op: 'aws.create-oidc-provider'; url: string; clientId: string }
  | { op: 'aws.update-assume-role-policy'; roleName: string; document: unknown }
  | { op: 'gcloud.create-pool'; project: string; pool: string }
  | {
      op: 'gcloud.create-oidc-provider';
      project: string;
      pool: string;
      provider: string;
      issuerUri: string;
      attributeMapping: string;
      allowedAudience?: string;
    }
  | { op: 'gcloud.update-oidc-provider'; project: string; pool: string; provider: string; attributeMapping: string }
  | { op: 'gcloud.bind-service-account'; serviceAccount: string; member: string }
  | { op: 'gcloud.bind-repository'; project: string; location: string; repository: string; member: string }
  | { op: 'az.create-app-federated-credential'; clientId: string; document: unknown }
  | { op: 'az.create-identity-federated-credential'; name: string; identity: string; resourceGroup: string; issuer: string; subject: string; audience: string }
  | { op: 'az.assign-acr-pull'; clientId: string; registryName: string }
  | { op: 'quay.set-robot-federation'; url: string; document: unknown }
  | { op: 'wrangler.secret-put'; name: string }
) & { optional?: string };

export interface TrustEntry {
  vendor: string;
  /** Where the entry goes, in the vendor's terms. */
  where: string;
  /** What creates it, in order, as data (the CLI renders them as vendor CLI commands). */
  steps?: TrustStep[];
  /** The entry itself, as the vendor's API or console takes it. */
  document?: unknown;
  notes?: string[];
}

/** What the vendor will see in the workload token. */
export interface TokenView {
  iss: string;
  sub: string;
  aud: string;
  alg: string;
}

/** The rule the upstream belongs to: its name, and where its images live. */
export interface RuleView {
  name: string;
  registry: string;
  repositories: readonly string[];
}

const utf8Length = (s: string) => new TextEncoder().encode(s).length;

/** How the edge's issuer appears in IAM ARNs and condition keys: the URL without its scheme. */
export const iamProviderHost = (issuer: string) => issuer.replace(/^https?:\/\//, '').replace(/\/+$/, '');

/**
 * A vendor-side entry that cannot say what was asked: a wildcard subject at a vendor that
 * matches `sub` exactly. Only `npm run upstream -- trust` asks for one (explain describes a
 * real workload, whose `sub` never holds `*`).
 */
export class UnexpressibleTrust extends BadRequest {}

/** The parts of a `<record>:<namespace>[:<service account>]` sub, and whether a glob is in it. */
function subjectParts(sub: string) {
  const [record = '', namespace = '', serviceAccount] = sub.split(':');
  return { record, namespace, serviceAccount, wildcard: sub.includes('*') };
}

const useNamespaceSubject = 'use "subject": "namespace" or "rule" on the upstream (one entry serves the namespace or the rule) or name one service account';

/** Vendors that compare `sub` exactly take no glob in it. */
function exactSubject(vendor: string, sub: string) {
  if (subjectParts(sub).wildcard)
    throw new UnexpressibleTrust({ message: `${vendor} matches the subject exactly, so ${sub} would match nothing: ${useNamespaceSubject}` });
}

function cloudsmith(u: CloudsmithUpstream, t: TokenView): TrustEntry {
  const document = {
    name: `ecp-${t.sub}`.slice(0, 100),
    provider_url: t.iss,
    claims: { sub: t.sub, aud: t.aud },
    service_accounts: [u.serviceAccount],
    enabled: true,
  };
  return {
    vendor: vendorName(u),
    where: `Cloudsmith workspace ${u.organization}: Settings → OpenID Connect → a provider setting (or the API below)`,
    steps: [{ op: 'cloudsmith.create-oidc-provider', organization: u.organization, document }],
    document,
  };
}

function ecr(u: EcrUpstream, t: TokenView): TrustEntry {
  const host = iamProviderHost(t.iss);
  const [, partition, , , account] = u.roleArn.split(':');
  const roleName = u.roleArn.split(':role/')[1]!.split('/').pop()!;
  const document = {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { Federated: `arn:${partition}:iam::${account}:oidc-provider/${host}` },
        Action: 'sts:AssumeRoleWithWebIdentity',
        // IAM's StringEquals compares `*` literally: a wildcard sub needs StringLike.
        Condition: subjectParts(t.sub).wildcard
          ? { StringEquals: { [`${host}:aud`]: t.aud }, StringLike: { [`${host}:sub`]: t.sub } }
          : { StringEquals: { [`${host}:aud`]: t.aud, [`${host}:sub`]: t.sub } },
      },
    ],
  };
  return {
    vendor: vendorName(u),
    where: `AWS account ${account}: an IAM OIDC identity provider for the edge, and the trust policy of role ${roleName}`,
    steps: [
      { op: 'aws.create-oidc-provider', url: t.iss, clientId: t.aud },
      { op: 'aws.update-assume-role-policy', roleName, document },
    ],
    document,
    notes: [
      'The provider is made once per account. update-assume-role-policy replaces the whole trust policy: merge into an existing one.',
      'The role needs ecr:GetAuthorizationToken and pull rights on its repositories.',
    ],
  };
}

/**
 * The provider's attribute mapping. `record_namespace` (`<record>:<namespace>`) lets one binding
 * serve a whole namespace of one record; `namespace` alone would also admit the same namespace
 * name in every other cluster the edge trusts.
 */
export const GAR_ATTRIBUTE_MAPPING =
  'google.subject=assertion.sub,attribute.record=assertion.record,attribute.namespace=assertion.namespace,' +
  'attribute.record_namespace=assertion.record+":"+assertion.namespace';

/**
 * The IAM member for a workload token's sub: one principal, or for service account `*` the
 * principal set of the record's namespace. Google matches subjects exactly, so any other glob
 * (a partial service-account name, a namespace pattern) cannot be expressed and is refused.
 */
export function garPrincipal(poolPath: string, sub: string): string {
  const s = subjectParts(sub);
  if (!s.wildcard) return `principal:${poolPath}/subject/${sub}`;
  if (s.serviceAccount === '*' && !`${s.record}:${s.namespace}`.includes('*')) {
    return `principalSet:${poolPath}/attribute.record_namespace/${s.record}:${s.namespace}`;
  }
  throw new UnexpressibleTrust({
    message: `Google IAM binds one subject or a whole namespace (service account "*"), not ${sub}: ${useNamespaceSubject}`,
  });
}

function gar(u: GarUpstream, rule: RuleView, t: TokenView): TrustEntry {
  const [, number, , , , pool, , provider] = u.workloadIdentityProvider.split('/') as [string, string, string, string, string, string, string, string];
  const principal = garPrincipal(`//iam.googleapis.com/projects/${number}/locations/global/workloadIdentityPools/${pool}`, t.sub);
  const defaultAudience = `//iam.googleapis.com/${u.workloadIdentityProvider}`;
  const mapping = GAR_ATTRIBUTE_MAPPING;
  const steps: TrustStep[] = [
    { op: 'gcloud.create-pool', project: number, pool },
    {
      op: 'gcloud.create-oidc-provider',
      project: number,
      pool,
      provider,
      issuerUri: t.iss,
      attributeMapping: mapping,
      ...(t.aud === defaultAudience ? {} : { allowedAudience: t.aud }),
    },
  ];
  const notes = ['The pool and provider are made once for the edge; the binding is per workload.'];
  if (principal.startsWith('principalSet:')) {
    steps.push({
      op: 'gcloud.update-oidc-provider',
      project: number,
      pool,
      provider,
      attributeMapping: mapping,
      optional: 'a provider made before attribute.record_namespace existed needs it',
    });
  }
  if (u.serviceAccount) {
    steps.push({ op: 'gcloud.bind-service-account', serviceAccount: u.serviceAccount, member: principal });
    notes.push(`${u.serviceAccount} needs roles/artifactregistry.reader on the repositories.`);
  } else {
    // Artifact Registry paths are <project>/<repository>/<image>: a binding per repository the rule names.
    const location = rule.registry.replace(/-docker\.pkg\.dev$/, '');
    const repos = new Set(
      rule.repositories.map((p) => {
        const [project, repository] = p.split('/');
        return project && repository && !`${project}/${repository}`.includes('*') ? `${project}/${repository}` : '<PROJECT_ID>/<REPOSITORY>';
      }),
    );
    for (const pr of repos) {
      const [project, repository] = pr.split('/') as [string, string];
      steps.push({ op: 'gcloud.bind-repository', project, location, repository, member: principal });
    }
  }
  if (utf8Length(t.sub) > 127)
    notes.push(
      `sub is ${utf8Length(t.sub)} bytes and Google's google.subject takes at most 127: use "subject": "namespace", "rule" or "record", or shorter names.`,
    );
  return {
    vendor: vendorName(u),
    where: `Google Cloud project ${number}: workload identity pool ${pool}, provider ${provider}, and an IAM binding for the federated principal`,
    steps,
    document: { issuerUri: t.iss, allowedAudiences: t.aud === defaultAudience ? [] : [t.aud], attributeMapping: mapping, principal },
    notes,
  };
}

function acr(u: AcrUpstream, rule: RuleView, t: TokenView): TrustEntry {
  exactSubject('Entra ID', t.sub);
  // Federated credential names: letters, digits, '-' and '_', at most 120.
  const name = `ecp-${t.sub}`.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 120);
  const document = { name, issuer: t.iss, subject: t.sub, audiences: [t.aud], description: 'edge-credential-provider workload' };
  const registryName = rule.registry.replace(/\.azurecr\.io$/, '');
  const notes = ['At most 20 federated credentials per application: "subject": "namespace" serves a namespace with one, "rule" a rule.'];
  if (t.sub.length > 600) notes.push(`sub is ${t.sub.length} characters; Entra takes at most 600.`);
  return {
    vendor: vendorName(u),
    where: `Entra ID tenant ${u.tenantId}: a federated credential on application ${u.clientId}, which needs AcrPull on ${rule.registry}`,
    steps: [
      { op: 'az.create-app-federated-credential', clientId: u.clientId, document },
      {
        op: 'az.create-identity-federated-credential',
        name,
        identity: '<IDENTITY>',
        resourceGroup: '<GROUP>',
        issuer: t.iss,
        subject: t.sub,
        audience: t.aud,
        optional: 'for a user-assigned managed identity instead of an app registration, instead of the step above',
      },
      { op: 'az.assign-acr-pull', clientId: u.clientId, registryName },
    ],
    document,
    notes,
  };
}

function quay(u: QuayUpstream, rule: RuleView, t: TokenView): TrustEntry {
  exactSubject('Quay', t.sub);
  const [org, robot] = u.robot.split('+') as [string, string];
  const document = [{ issuer: t.iss, subject: t.sub }];
  const base = (u.endpoint ?? `https://${rule.registry}`).replace(/\/+$/, '');
  return {
    vendor: vendorName(u),
    where: `Quay organization ${org}: robot ${robot} → Set robot federation (or the API below)`,
    steps: [{ op: 'quay.set-robot-federation', url: `${base}/api/v1/organization/${org}/robots/${robot}/federation`, document }],
    document,
    notes: [
      "The POST replaces the robot's federation list: include its current entries (GET the same URL).",
      `Where Quay takes "audiences" in an entry, add "audiences": [${JSON.stringify(t.aud)}].`,
    ],
  };
}

function dockerHub(u: DockerHubUpstream, t: TokenView): TrustEntry {
  return {
    vendor: vendorName(u),
    where: `Docker Home, organization ${u.organization}: Settings → OIDC connections (Team and Business plans), connection ${u.connectionId}`,
    document: { issuer: t.iss, audience: t.aud, subject: t.sub, connectionId: u.connectionId },
    notes: ['A ruleset matches sub ("*" a wildcard). Docker documents connections for GitHub Actions\' issuer: see docs/upstreams.md.'],
  };
}

function harbor(u: HarborUpstream, t: TokenView): TrustEntry {
  return {
    vendor: vendorName(u),
    where: 'Harbor (the 8gears build): a federated identity provider for the edge, and a federated robot account with claim rules',
    document: { openidConfigurationUrl: `${t.iss}/.well-known/openid-configuration`, claimRules: { iss: t.iss, aud: t.aud, sub: t.sub } },
    notes: ['Needs the 8gears build of Harbor (federated robot accounts); the workload token is the password.'],
  };
}

/** A static upstream's "entry": the Worker secret, since the vendor trusts nothing of the edge's. */
export function staticTrustEntry(u: StaticUpstream, rule: RuleView): TrustEntry {
  return {
    vendor: vendorName(u),
    where: `a Worker secret ${u.secret} holding the password of ${u.username} on ${rule.registry}`,
    steps: [{ op: 'wrangler.secret-put', name: u.secret }],
    notes: ['A long-lived central secret: every workload the rule allows receives it.'],
  };
}

/** The entry that makes the vendor accept the workload token `t` for a rule with upstream `u`. */
export function trustEntry(u: TokenUpstream, rule: RuleView, t: TokenView): TrustEntry {
  switch (u.type) {
    case 'cloudsmith':
      return cloudsmith(u, t);
    case 'ecr':
      return ecr(u, t);
    case 'gar':
      return gar(u, rule, t);
    case 'acr':
      return acr(u, rule, t);
    case 'quay':
      return quay(u, rule, t);
    case 'dockerhub':
      return dockerHub(u, t);
    case 'harbor':
      return harbor(u, t);
  }
}
