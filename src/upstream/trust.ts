/**
 * The vendor-side trust entry for a federated workload: what an operator creates at the
 * vendor so that it accepts the workload token the edge will send (an AWS role trust
 * policy, a Google workload identity provider and IAM binding, an Entra federated
 * credential, a Quay federation entry, ...), with the exact iss, sub and aud the edge signs.
 * `explain` shows it; `npm run upstream -- trust` prints it offline. Pure: no call is made.
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
} from './schema';
import { BadRequest } from '../errors';

export interface TrustEntry {
  vendor: string;
  /** Where the entry goes, in the vendor's terms. */
  where: string;
  /** Commands that create it, in order (vendor CLIs; placeholders in <ANGLE_BRACKETS> where the edge cannot know the value). */
  commands?: string[];
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

/** The rule the upstream belongs to: where its images live. */
export interface RuleView {
  registry: string;
  repositories: readonly string[];
}

/** POSIX shell single quotes: the value stays one word whatever it holds. */
export const shellQuote = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`);

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

const useNamespaceSubject = 'use "subject": "namespace" on the upstream (one entry serves the namespace) or name one service account';

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
    commands: [
      `curl -fsS -X POST -H "X-Api-Key: $CLOUDSMITH_API_KEY" -H 'Content-Type: application/json' --data ${shellQuote(JSON.stringify(document))} https://api.cloudsmith.io/orgs/${u.organization}/openid-connect/`,
    ],
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
    commands: [
      `aws iam create-open-id-connect-provider --url ${shellQuote(t.iss)} --client-id-list ${shellQuote(t.aud)}`,
      `aws iam update-assume-role-policy --role-name ${shellQuote(roleName)} --policy-document ${shellQuote(JSON.stringify(document))}`,
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
  const commands = [
    `gcloud iam workload-identity-pools create ${pool} --project=${number} --location=global --display-name=edge-credential-provider`,
    `gcloud iam workload-identity-pools providers create-oidc ${provider} --project=${number} --location=global --workload-identity-pool=${pool}` +
      ` --issuer-uri=${shellQuote(t.iss)} --attribute-mapping=${shellQuote(mapping)}${t.aud === defaultAudience ? '' : ` --allowed-audiences=${shellQuote(t.aud)}`}`,
  ];
  const notes = ['The pool and provider are made once for the edge; the binding is per workload.'];
  if (principal.startsWith('principalSet:'))
    notes.push(
      `A provider made before attribute.record_namespace existed needs it: gcloud iam workload-identity-pools providers update-oidc ${provider} --project=${number} --location=global --workload-identity-pool=${pool} --attribute-mapping=${shellQuote(mapping)}`,
    );
  if (u.serviceAccount) {
    commands.push(
      `gcloud iam service-accounts add-iam-policy-binding ${u.serviceAccount} --role=roles/iam.workloadIdentityUser --member=${shellQuote(principal)}`,
    );
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
      commands.push(
        `gcloud artifacts repositories add-iam-policy-binding ${repository} --project=${project} --location=${location}` +
          ` --role=roles/artifactregistry.reader --member=${shellQuote(principal)}`,
      );
    }
  }
  if (utf8Length(t.sub) > 127)
    notes.push(`sub is ${utf8Length(t.sub)} bytes and Google's google.subject takes at most 127: use "subject": "namespace" or shorter names.`);
  return {
    vendor: vendorName(u),
    where: `Google Cloud project ${number}: workload identity pool ${pool}, provider ${provider}, and an IAM binding for the federated principal`,
    commands,
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
  const notes = [
    `For a user-assigned managed identity instead of an app registration: az identity federated-credential create --name ${name} --identity-name <IDENTITY> --resource-group <GROUP> --issuer ${shellQuote(t.iss)} --subject ${shellQuote(t.sub)} --audiences ${shellQuote(t.aud)}`,
    'At most 20 federated credentials per application: "subject": "namespace" serves a namespace with one.',
  ];
  if (t.sub.length > 600) notes.push(`sub is ${t.sub.length} characters; Entra takes at most 600.`);
  return {
    vendor: vendorName(u),
    where: `Entra ID tenant ${u.tenantId}: a federated credential on application ${u.clientId}, which needs AcrPull on ${rule.registry}`,
    commands: [
      `az ad app federated-credential create --id ${u.clientId} --parameters ${shellQuote(JSON.stringify(document))}`,
      `az role assignment create --assignee ${u.clientId} --role AcrPull --scope "$(az acr show --name ${registryName} --query id --output tsv)"`,
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
    commands: [
      `curl -fsS -X POST -H "Authorization: Bearer $QUAY_TOKEN" -H 'Content-Type: application/json' --data ${shellQuote(JSON.stringify(document))} ${base}/api/v1/organization/${org}/robots/${robot}/federation`,
    ],
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
    commands: [`npx wrangler secret put ${u.secret}`],
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
