/**
 * Trust-rule evaluation: pure. A compiled record + the workload + the image in, a decision
 * out, with a trace that says for every rule why it did or did not match (what `explain`
 * shows). Rules are tried in order; the first that matches grants; no match denies.
 *
 * `recheck` is the same judgement at the moment a credential is used (the registry token
 * endpoint): the record must still exist and be enabled, the rule that granted the
 * credential must still exist and still match the credential's workload and registry, and
 * no revocation may void it. What it returns is the rule's *current* grant, which the
 * caller intersects with the credential's: narrowing a rule narrows live credentials.
 */
import { IssuerDisabled, Revoked, TokenExpired } from '../errors';
import type { NameUid, Workload } from '../identity/workload';
import type { Grant } from './grant';
import { anyOf, compileNameGlob, compileRepositoryGlob, type Matcher } from './pattern';
import { describeRevocation, findRevocation, type Revocation } from './revocation';
import { ruleService } from './record';
import type { Rule, TrustRecord } from './schema';

/** Where an image lives: its registry host[:port] and repository path. */
export interface Target {
  registry: string;
  repository: string;
}

interface CompiledRule {
  rule: Rule;
  namespace: Matcher;
  serviceAccount: Matcher;
  repository: Matcher;
}

export interface CompiledRecord {
  record: TrustRecord;
  rules: CompiledRule[];
}

/** What the edge knows of one cluster: its record, compiled, and its live revocations. */
export interface Trust {
  compiled: CompiledRecord;
  revocations: readonly Revocation[];
}

export function compileRecord(record: TrustRecord): CompiledRecord {
  return {
    record,
    rules: record.rules.map((rule) => ({
      rule,
      namespace: anyOf(rule.namespaces.map(compileNameGlob)),
      serviceAccount: anyOf(rule.serviceAccounts.map(compileNameGlob)),
      repository: anyOf(rule.repositories.map(compileRepositoryGlob)),
    })),
  };
}

export interface RuleTrace {
  rule: string;
  matched: boolean;
  /** Why it did not match; absent when it matched. */
  reason?: string;
}

export type Evaluation = { allowed: true; rule: Rule; grants: Grant[]; service: string; trace: RuleTrace[] } | { allowed: false; trace: RuleTrace[] };

type Who = Pick<Workload, 'namespace' | 'serviceAccount'>;

export const ruleGrants = (rule: Rule): Grant[] => [{ repositories: rule.repositories, actions: rule.actions }];

/** Why the rule does not apply to this workload (identity only), or undefined if it does. */
function identityMismatch(c: CompiledRule, who: Who): string | undefined {
  const { rule } = c;
  if (!c.namespace(who.namespace)) return `namespace "${who.namespace}" is not in [${rule.namespaces.join(', ')}]`;
  if (!c.serviceAccount(who.serviceAccount.name)) return `service account "${who.serviceAccount.name}" is not in [${rule.serviceAccounts.join(', ')}]`;
  if (rule.serviceAccountUids && !rule.serviceAccountUids.includes(who.serviceAccount.uid))
    return `service account uid ${who.serviceAccount.uid} is not pinned by the rule`;
  return undefined;
}

function mismatch(c: CompiledRule, who: Who, annotations: Record<string, string>, image: Target): string | undefined {
  const identity = identityMismatch(c, who);
  if (identity) return identity;
  const { rule } = c;
  for (const [key, value] of Object.entries(rule.annotations ?? {})) {
    if (!Object.hasOwn(annotations, key)) return `annotation "${key}" is missing`;
    if (annotations[key] !== value) return `annotation "${key}" does not have the required value`;
  }
  if (image.registry !== rule.registry) return `registry "${image.registry}" is not "${rule.registry}"`;
  if (!c.repository(image.repository)) return `repository "${image.repository}" is not in [${rule.repositories.join(', ')}]`;
  return undefined;
}

/** The first rule that grants `image` to the workload. `annotations` come from the kubelet's request. */
export function evaluate(compiled: CompiledRecord, who: Who, annotations: Record<string, string>, image: Target): Evaluation {
  const trace: RuleTrace[] = [];
  for (const c of compiled.rules) {
    const reason = mismatch(c, who, annotations, image);
    if (reason === undefined) {
      trace.push({ rule: c.rule.name, matched: true });
      return { allowed: true, rule: c.rule, grants: ruleGrants(c.rule), service: ruleService(c.rule), trace };
    }
    trace.push({ rule: c.rule.name, matched: false, reason });
  }
  return { allowed: false, trace };
}

/**
 * Seconds a credential may live: the rule's ttl, but never past the token it is minted from.
 * A token accepted only thanks to clock skew (already past `exp`) gets nothing.
 */
export function credentialLifetime(ruleTtl: number, tokenExpiresAt: number, now: number): number {
  const remaining = tokenExpiresAt - now;
  if (remaining <= 0) throw new TokenExpired({ detail: 'expired; accepted by the skew allowance only' });
  return Math.min(ruleTtl, remaining);
}

/** A verified edge credential, as the registry token endpoint holds it. */
export interface HeldCredential {
  cluster: string;
  namespace: string;
  serviceAccount: NameUid;
  registry: string;
  service: string;
  /** The rule that granted it. */
  rule: string;
  grants: Grant[];
  jti: string;
  /** Seconds since the epoch. */
  issuedAt: number;
}

export interface Recheck {
  /** The record's current name: part of the registry token's subject. */
  record: string;
  /** The rule's current grant. */
  grants: Grant[];
}

/** Re-evaluates a credential at the moment of use. `trust` is undefined when the record is gone. Throws. */
export function recheck(trust: Trust | undefined, held: HeldCredential, now: number): Recheck {
  if (!trust) throw new Revoked({ detail: "the trust record of the credential's cluster no longer exists" });
  const { record } = trust.compiled;
  if (record.disabled) throw new IssuerDisabled({ detail: `record ${record.name} is disabled` });
  const c = trust.compiled.rules.find((r) => r.rule.name === held.rule);
  if (!c) throw new Revoked({ detail: `rule ${held.rule} no longer exists in record ${record.name}` });
  const who = { namespace: held.namespace, serviceAccount: held.serviceAccount };
  const reason =
    (c.rule.upstream ? `the rule now federates with ${c.rule.upstream.type}` : undefined) ??
    identityMismatch(c, who) ??
    (c.rule.registry !== held.registry ? `the rule now covers registry ${c.rule.registry}` : undefined) ??
    (ruleService(c.rule) !== held.service ? `the rule now serves ${ruleService(c.rule)}` : undefined);
  if (reason) throw new Revoked({ detail: `rule ${held.rule} no longer matches: ${reason}` });
  const revocation = findRevocation(trust.revocations, { workload: who, credential: { jti: held.jti, issuedAt: held.issuedAt } }, now);
  if (revocation) throw new Revoked({ detail: `revoked by ${describeRevocation(revocation)}` });
  return { record: record.name, grants: ruleGrants(c.rule) };
}
