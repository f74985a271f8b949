/**
 * CredentialProviderConfigs shaped like the ones other providers document for their nodes,
 * as YAML an operator (or an AMI build) writes it: comments, sequences at their key's
 * indentation, plain and quoted scalars. Used by the reader's and the merge's tables.
 */

/** Amazon ECR (cloud-provider-aws, the EKS AMI's /etc/eks/image-credential-provider/config.json, as YAML). */
export const ECR = `# ECR credential provider, installed by the AMI
apiVersion: kubelet.config.k8s.io/v1
kind: CredentialProviderConfig
providers:
- name: ecr-credential-provider
  matchImages:
  - "*.dkr.ecr.*.amazonaws.com"
  - "*.dkr-ecr.*.on.aws"
  - "*.dkr.ecr.*.amazonaws.com.cn"
  defaultCacheDuration: "12h"
  apiVersion: credentialprovider.kubelet.k8s.io/v1
`;

/** Google (cloud-provider-gcp's auth-provider-gcp). */
export const GCP = `---
kind: CredentialProviderConfig
apiVersion: kubelet.config.k8s.io/v1
providers:
  - name: auth-provider-gcp
    apiVersion: credentialprovider.kubelet.k8s.io/v1
    matchImages:
    - "container.cloud.google.com"
    - "gcr.io"
    - "*.gcr.io"
    - "*.pkg.dev"
    args:
    - get-credentials
    - --v=3
    defaultCacheDuration: 1m
`;

/** Azure (cloud-provider-azure's acr-credential-provider). */
export const ACR = `kind: CredentialProviderConfig
apiVersion: kubelet.config.k8s.io/v1
providers:
  - name: acr-credential-provider
    apiVersion: credentialprovider.kubelet.k8s.io/v1
    defaultCacheDuration: 10m
    matchImages:
      - "*.azurecr.io"
      - "*.azurecr.cn"
      - "*.azurecr.de"
      - "*.azurecr.us"
    args:
      - /etc/kubernetes/azure.json   # the cloud config file
`;

/** JFrog's credential provider in service-account mode (its Helm chart writes one like it). */
export const JFROG = `apiVersion: kubelet.config.k8s.io/v1
kind: CredentialProviderConfig
providers:
  - name: jfrog-credential-provider
    apiVersion: credentialprovider.kubelet.k8s.io/v1
    matchImages: ['*.jfrog.io', 'artifactory.example.com']
    defaultCacheDuration: 5h
    tokenAttributes:
      serviceAccountTokenAudience: sts.amazonaws.com
      cacheType: ServiceAccount
      requireServiceAccount: false
      optionalServiceAccountAnnotationKeys:
        - eks.amazonaws.com/role-arn
    env:
      - name: artifactory_url
        value: "myart.jfrog.io"
      - { name: aws_auth_method, value: assume_role }
      - name: aws_role_name
        value: 'jfrog-role'
`;

/** The oldest shape still loaded: v1alpha1 provider API, no tokenAttributes, JSON. */
export const LEGACY_JSON = `{
  "apiVersion": "kubelet.config.k8s.io/v1",
  "kind": "CredentialProviderConfig",
  "providers": [
    {
      "name": "legacy-provider",
      "matchImages": ["legacy.example.com"],
      "defaultCacheDuration": "0",
      "apiVersion": "credentialprovider.kubelet.k8s.io/v1alpha1"
    }
  ]
}
`;
