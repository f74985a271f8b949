/**
 * The trust record: one per cluster issuer, the single source of truth for what that
 * cluster's workloads may pull. Stored in KV (see src/store/), managed by the admin API,
 * validated here. Types come from these schemas; nothing is ever cast from KV.
 *
 * Durations are in seconds.
 */
import * as z from '../zod';
import { deferred } from '../zod';
import { DNS_LABEL, HOSTNAME } from '../grammar';
import { isHttpsOrLoopback } from '../net';
import { UpstreamSchema, upstreamRegistryProblem } from '../upstream/schema';
import { ACTIONS } from './grant';
import {
  DEFAULT_CREDENTIAL_TTL,
  DEFAULT_MAX_TOKEN_LIFETIME,
  issuerStorable,
  MAX_CREDENTIAL_TTL,
  MAX_ISSUER_KEY_BYTES,
  MIN_CREDENTIAL_TTL,
  ruleService,
  SA_TOKEN_ALGORITHMS,
} from './record';

// DNS-1123 label: the shape of a record or rule name, so it is safe in URLs, KV keys and logs.
export const dnsLabel = deferred(() => z.string().check(z.regex(DNS_LABEL, 'must be a DNS label: lowercase letters, digits and "-", at most 63')));

/**
 * Not a cost bound: globs are matched in one pass, linear in the name whatever the pattern
 * (see pattern.ts). A sanity limit: trust rules are grants that people review, and a glob
 * with more wildcards than this says little that `**` does not, so it is more likely a
 * mistake than a grant someone meant. Counted in runs, so `**` is one.
 */
export const MAX_WILDCARDS = 8;
const fewWildcards = () => z.refine<string>((s) => (s.match(/\*+/g) ?? []).length <= MAX_WILDCARDS, `at most ${MAX_WILDCARDS} wildcards`);

/** Namespace or service-account name, or a `*` glob over them. */
const nameGlob = deferred(() =>
  z.string().check(z.minLength(1), z.maxLength(253), z.regex(/^[a-z0-9.*-]+$/, 'must be a Kubernetes name or a "*" glob'), fewWildcards()),
);

/** Registry host with optional port, as it appears in image references: `ghcr.io`, `127.0.0.1:5000`. */
export const registryHost = deferred(() =>
  z
    .string()
    .check(
      z.regex(
        new RegExp(`^(?:${HOSTNAME}|\\[[0-9a-fA-F:.]+\\])(?::[0-9]{1,5})?$`),
        'must be a registry host with optional port, like "registry.example.com:5000"',
      ),
    ),
);

/** Repository pattern: path components of lowercase names, `*` within a component, `**` across. */
const repositoryPattern = deferred(() =>
  z.string().check(
    z.minLength(1),
    z.maxLength(255),
    z.regex(/^[a-z0-9._*-]+(?:\/[a-z0-9._*-]+)*$/, 'must be a repository path like "team-a/app", with "*" or "**" globs'),
    z.refine((p) => !/\*{3,}/.test(p), 'use "*" or "**", not longer runs of "*"'),
    fewWildcards(),
  ),
);

const httpsUrl = deferred(() => z.httpUrl().check(z.refine(isHttpsOrLoopback, 'must be an https URL (http only for loopback, in development)')));

const jwk = deferred(() =>
  z
    .looseObject({ kty: z.enum(['RSA', 'EC', 'OKP']), kid: z.optional(z.string()), use: z.optional(z.string()), alg: z.optional(z.string()) })
    .check(z.refine((k) => !('d' in k) && !('p' in k) && !('k' in k), 'must be a public key (no private or symmetric parts)')),
);

/** Most keys an inline JWKS holds: a cluster has one or two, three during a rotation. */
export const MAX_INLINE_KEYS = 20;

/**
 * The service account whose tokens may replace the record's inline keys (PUT /v1/keys,
 * policy/key-sync.ts): tokens with `audience`, verified with the record's current keys.
 */
const KeySyncSchema = deferred(() =>
  z.strictObject({
    /** The `aud` of the key-sync tokens: never one of the record's pull `audiences`. */
    audience: z.string().check(z.minLength(1), z.maxLength(1024)),
    serviceAccount: z.strictObject({
      namespace: z.string().check(z.regex(DNS_LABEL, 'must be a namespace name')),
      name: z.string().check(z.minLength(1), z.maxLength(253), z.regex(/^[a-z0-9.-]+$/, 'must be a service-account name')),
    }),
  }),
);
export type KeySync = z.infer<typeof KeySyncSchema>;

/** Where the issuer's public keys come from: exactly one source. */
export const KeySourceSchema = deferred(() =>
  z.discriminatedUnion('type', [
    /**
     * Keys pasted into the record (or pushed by the cluster, `keySync`): for clusters whose issuer is
     * not reachable from the internet. `staleAfter`: seconds after their last confirmation (a PUT
     * that changed them, or a push) that explain and the records CLI warn. Default 604800 (7 days).
     */
    z.strictObject({
      type: z.literal('inline'),
      jwks: z.strictObject({ keys: z.array(jwk).check(z.minLength(1), z.maxLength(MAX_INLINE_KEYS)) }),
      staleAfter: z.optional(z.number().check(z.int(), z.gte(3600), z.lte(90 * 24 * 60 * 60))),
    }),
    /** An explicit JWKS URL (for a cluster: `<issuer>/openid/v1/jwks` or a public copy of it). */
    z.strictObject({ type: z.literal('jwks_uri'), uri: httpsUrl }),
    /** OIDC discovery: `<issuer>/.well-known/openid-configuration`, then its `jwks_uri`. */
    z.strictObject({ type: z.literal('discovery') }),
  ]),
);

export const RuleSchema = deferred(() =>
  z
    .strictObject({
      name: dnsLabel,
      /** Namespaces the rule applies to: exact names or `*` globs. */
      namespaces: z.array(nameGlob).check(z.minLength(1)),
      /** Service-account names. Default: any (`*`). */
      serviceAccounts: z._default(z.array(nameGlob).check(z.minLength(1)), ['*']),
      /** Pin the rule to these service-account uids (a deleted and recreated account gets a new uid). */
      serviceAccountUids: z.optional(z.array(z.string().check(z.minLength(1), z.maxLength(64))).check(z.minLength(1))),
      /**
       * Required service-account annotation values, from the request's serviceAccountAnnotations.
       * These are asserted by the node's kubelet, not signed by the API server: see docs/security.md.
       */
      annotations: z.optional(z.recordOf(z.string().check(z.minLength(1), z.maxLength(317)), z.string().check(z.maxLength(4096)))),
      /** Registry host[:port] of the images the rule covers, as in image references. */
      registry: registryHost,
      /** The registry's token-auth `service` name (its `auth.token.service`). Default: this rule's `registry`. */
      service: z.optional(z.string().check(z.minLength(1), z.maxLength(255))),
      /** Repository patterns granted. */
      repositories: z.array(repositoryPattern).check(z.minLength(1), z.maxLength(50)),
      /** Actions granted. Default: pull. */
      actions: z._default(z.array(z.enum(ACTIONS)).check(z.minLength(1)), ['pull']),
      /**
       * Credential lifetime in seconds, 60 to 43200. Default 3600. With an upstream, a cap on how long the
       * kubelet caches the vendor's credential (whose own expiry decides), and for `static` the whole of it.
       */
      ttl: z._default(z.number().check(z.int(), z.gte(MIN_CREDENTIAL_TTL), z.lte(MAX_CREDENTIAL_TTL)), DEFAULT_CREDENTIAL_TTL),
      /**
       * Federate with a registry vendor instead of minting an edge credential: the edge signs a
       * workload token and trades it for the vendor's own credential (src/upstream/).
       */
      upstream: z.optional(UpstreamSchema),
    })
    .check(
      z.superRefine((rule, ctx) => {
        if (!rule.upstream) return;
        // A federated rule's credentials come from the vendor and never reach /token.
        if (rule.service !== undefined) ctx.addIssue({ code: 'custom', path: ['service'], message: 'a rule with an upstream has no token service' });
        const problem = upstreamRegistryProblem(rule.upstream, rule.registry);
        if (problem) ctx.addIssue({ code: 'custom', path: ['registry'], message: problem });
      }),
    ),
);

/**
 * Annotations are asserted by whoever calls the edge, not signed: a rule that lets every
 * namespace and service account through and relies on annotations alone grants to any pod.
 */
function onlyAnnotationsNarrow(rule: z.infer<typeof RuleSchema>): boolean {
  return (
    rule.annotations !== undefined &&
    Object.keys(rule.annotations).length > 0 &&
    rule.namespaces.includes('*') &&
    rule.serviceAccounts.includes('*') &&
    rule.serviceAccountUids === undefined
  );
}

export const TrustRecordSchema = deferred(() =>
  z
    .strictObject({
      name: dnsLabel,
      /** The cluster's service-account issuer (`--service-account-issuer`), matched exactly against `iss`. */
      issuer: z
        .string()
        .check(z.minLength(1), z.maxLength(2048), z.refine(issuerStorable, `is too long to be stored (at most ${MAX_ISSUER_KEY_BYTES} bytes percent-encoded)`)),
      /** A disabled record denies every token from this issuer. Default false. */
      disabled: z._default(z.boolean(), false),
      /** Accepted token audiences (the kubelet config's serviceAccountTokenAudience). At least one. */
      audiences: z.array(z.string().check(z.minLength(1), z.maxLength(1024))).check(z.minLength(1), z.maxLength(20)),
      /** Allowed signature algorithms. Default RS256 and ES256. */
      algorithms: z._default(z.array(z.enum(SA_TOKEN_ALGORITHMS)).check(z.minLength(1)), ['RS256', 'ES256']),
      /** Longest accepted token lifetime (exp - iat), seconds. Default 86400. */
      maxTokenLifetime: z._default(z.number().check(z.int(), z.gte(60), z.lte(7 * 24 * 60 * 60)), DEFAULT_MAX_TOKEN_LIFETIME),
      keys: KeySourceSchema,
      /** Ordered rules; the first that matches grants. No match: denied. */
      rules: z.array(RuleSchema).check(z.maxLength(200)),
      /**
       * How the kubelet may cache credentials: Image (per image, default: a credential covers the
       * matched rule's repositories only), Registry, or Global.
       */
      cacheKeyType: z._default(z.enum(['Image', 'Registry', 'Global']), 'Image'),
      /**
       * Part of the key under which the edge caches vendor credentials for this record's
       * upstreams. Change it (e.g. add 1) to purge them: every location then asks the vendor
       * again (within KV's propagation, about 70 s). Credentials already handed out stay valid
       * at the vendor. Optional, no default: records without it keep their shape and ETag.
       */
      vendorCacheEpoch: z.optional(z.number().check(z.int(), z.gte(0), z.lte(Number.MAX_SAFE_INTEGER))),
      /** The cluster's key-sync service account: it may push new inline keys (docs/trust-records.md, "Key sync"). Optional. */
      keySync: z.optional(KeySyncSchema),
    })
    .check(
      z.superRefine((record, ctx) => {
        const seen = new Set<string>();
        const registryOfService = new Map<string, string>();
        const recordSubjectGrant = new Map<string, string>();
        record.rules.forEach((rule, i) => {
          // "subject": "record": the vendor cannot tell the record's rules apart and grants them all
          // the same, so rules of one vendor that grant differently would each get the other's grant.
          const u = rule.upstream;
          if (u && u.type !== 'static' && u.subject === 'record') {
            const grant = JSON.stringify([rule.registry, [...rule.repositories].sort(), [...rule.actions].sort()]);
            if ((recordSubjectGrant.get(u.type) ?? grant) !== grant)
              ctx.addIssue({
                code: 'custom',
                path: ['rules', i, 'upstream', 'subject'],
                message: `another ${u.type} rule has "subject": "record" and grants other registries, repositories or actions: the vendor cannot tell them apart; use "subject": "rule"`,
              });
            recordSubjectGrant.set(u.type, recordSubjectGrant.get(u.type) ?? grant);
          }
          if (seen.has(rule.name)) ctx.addIssue({ code: 'custom', path: ['rules', i, 'name'], message: `duplicate rule name "${rule.name}"` });
          seen.add(rule.name);
          // /token trusts a credential for the service it names: two registries behind one service
          // name would make each one's credentials good for the other.
          const service = ruleService(rule);
          const registry = registryOfService.get(service);
          if (registry !== undefined && registry !== rule.registry) {
            ctx.addIssue({
              code: 'custom',
              path: ['rules', i, 'service'],
              message: `service "${service}" already belongs to registry "${registry}"; one registry per service`,
            });
          }
          registryOfService.set(service, registry ?? rule.registry);
          if (onlyAnnotationsNarrow(rule)) {
            ctx.addIssue({
              code: 'custom',
              path: ['rules', i, 'annotations'],
              message:
                'annotations are the only narrowing: any pod can present a token with the edge audience and any annotations it likes; ' +
                'narrow namespaces or serviceAccounts, or pin serviceAccountUids (docs/security.md)',
            });
          }
        });
        if (record.keySync && record.keys.type !== 'inline') ctx.addIssue({ code: 'custom', path: ['keySync'], message: 'keySync needs inline keys' });
        // A pull token (which every pod's kubelet sends) must never pass as a key-sync token.
        if (record.keySync && record.audiences.includes(record.keySync.audience))
          ctx.addIssue({ code: 'custom', path: ['keySync', 'audience'], message: 'must differ from every pull audience' });
        if (record.keys.type === 'discovery' && !httpsUrl.safeParse(record.issuer).success) {
          ctx.addIssue({ code: 'custom', path: ['keys'], message: 'discovery needs an https issuer URL; use inline keys or jwks_uri' });
        }
      }),
    ),
);

export type TrustRecord = z.infer<typeof TrustRecordSchema>;
export type TrustRecordInput = z.input<typeof TrustRecordSchema>;
export type Rule = z.infer<typeof RuleSchema>;

export type KeySource = z.infer<typeof KeySourceSchema>;

/** zod issues as `path: message` lines, for error messages that name the bad field. */
export function describeIssues(error: z.core.$ZodError): string[] {
  return error.issues.slice(0, 20).map((i) => `${i.path.length ? i.path.join('.') : '(record)'}: ${i.message}`);
}

// What the exchange uses at run time lives in record.ts (no zod): re-exported for the admin API, the CLIs and tests.
export * from './record';
