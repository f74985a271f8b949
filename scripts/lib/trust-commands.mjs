// Vendor-side trust steps (src/upstream/trust.ts, data only) rendered as commands to paste.
// Every value is quoted, always, the POSIX way: in single quotes, with a single quote written
// as '\''. Inside single quotes a shell expands nothing ($(...), `...`, $VAR, globs, ~) and a
// newline stays part of the word, so whatever a record or an argument holds, each value is one
// argument of the command and never shell syntax. The only unquoted parts are this file's own
// templates ($QUAY_TOKEN and $CLOUDSMITH_API_KEY are the operator's variables, on purpose).

/** POSIX shell single quotes, for every value: it stays one word whatever it holds. */
export const shellQuote = (value) => `'${String(value).replaceAll("'", `'\\''`)}'`;

const q = shellQuote;
const json = (document) => q(JSON.stringify(document));

/** The command of each step, by its op: the templates live here, not in the Worker. */
const RENDER = {
  'cloudsmith.create-oidc-provider': (s) =>
    `curl -fsS -X POST -H "X-Api-Key: $CLOUDSMITH_API_KEY" -H 'Content-Type: application/json' --data ${json(s.document)} ` +
    q(`https://api.cloudsmith.io/orgs/${encodeURIComponent(s.organization)}/openid-connect/`),
  'aws.create-oidc-provider': (s) => `aws iam create-open-id-connect-provider --url ${q(s.url)} --client-id-list ${q(s.clientId)}`,
  'aws.update-assume-role-policy': (s) => `aws iam update-assume-role-policy --role-name ${q(s.roleName)} --policy-document ${json(s.document)}`,
  'gcloud.create-pool': (s) =>
    `gcloud iam workload-identity-pools create ${q(s.pool)} --project=${q(s.project)} --location=global --display-name=edge-credential-provider`,
  'gcloud.create-oidc-provider': (s) =>
    `gcloud iam workload-identity-pools providers create-oidc ${q(s.provider)} --project=${q(s.project)} --location=global --workload-identity-pool=${q(s.pool)}` +
    ` --issuer-uri=${q(s.issuerUri)} --attribute-mapping=${q(s.attributeMapping)}${s.allowedAudience === undefined ? '' : ` --allowed-audiences=${q(s.allowedAudience)}`}`,
  'gcloud.update-oidc-provider': (s) =>
    `gcloud iam workload-identity-pools providers update-oidc ${q(s.provider)} --project=${q(s.project)} --location=global --workload-identity-pool=${q(s.pool)}` +
    ` --attribute-mapping=${q(s.attributeMapping)}`,
  'gcloud.bind-service-account': (s) =>
    `gcloud iam service-accounts add-iam-policy-binding ${q(s.serviceAccount)} --role=roles/iam.workloadIdentityUser --member=${q(s.member)}`,
  'gcloud.bind-repository': (s) =>
    `gcloud artifacts repositories add-iam-policy-binding ${q(s.repository)} --project=${q(s.project)} --location=${q(s.location)}` +
    ` --role=roles/artifactregistry.reader --member=${q(s.member)}`,
  'az.create-app-federated-credential': (s) => `az ad app federated-credential create --id ${q(s.clientId)} --parameters ${json(s.document)}`,
  'az.create-identity-federated-credential': (s) =>
    `az identity federated-credential create --name ${q(s.name)} --identity-name ${q(s.identity)} --resource-group ${q(s.resourceGroup)}` +
    ` --issuer ${q(s.issuer)} --subject ${q(s.subject)} --audiences ${q(s.audience)}`,
  // The inner command is parsed anew inside "$(...)", so its single quotes hold there too.
  'az.assign-acr-pull': (s) =>
    `az role assignment create --assignee ${q(s.clientId)} --role AcrPull --scope "$(az acr show --name ${q(s.registryName)} --query id --output tsv)"`,
  'quay.set-robot-federation': (s) =>
    `curl -fsS -X POST -H "Authorization: Bearer $QUAY_TOKEN" -H 'Content-Type: application/json' --data ${json(s.document)} ${q(s.url)}`,
  'wrangler.secret-put': (s) => `npx wrangler secret put ${q(s.name)}`,
};

/** One step's command; an unknown op is an error (a newer edge than this CLI), never a guess. */
export function renderStep(step) {
  const render = RENDER[step?.op];
  if (!render) throw new Error(`unknown trust step ${JSON.stringify(step?.op)}: update this CLI`);
  return render(step);
}

/**
 * Text from a record or an argument made safe as a `#` comment: every line of it prefixed,
 * and control characters (CR, escape sequences) shown as \u escapes, so that nothing in it can
 * end the comment or drive the terminal.
 */
export function comment(text) {
  let safe = '';
  for (const c of String(text)) {
    const cp = c.codePointAt(0);
    safe += c === '\n' ? c : cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp === 0x2028 || cp === 0x2029 ? `\\u${cp.toString(16).padStart(4, '0')}` : c;
  }
  return safe
    .split('\n')
    .map((l) => `# ${l}`)
    .join('\n');
}

/** The lines to paste for a trust entry's steps: commands, and optional ones commented out. */
export function renderSteps(steps = []) {
  return steps.flatMap((step) => {
    const command = renderStep(step);
    return step.optional === undefined ? [command] : [comment(`${step.optional}:`), comment(command)];
  });
}
