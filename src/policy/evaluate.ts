/**
 * Trust-rule evaluation: pure. A compiled record + who the workload is + the image in,
 * a decision out, with a trace that says for every rule why it did or did not match
 * (what `explain` shows). Rules are tried in order; the first that matches grants;
 * no match denies.
 */
import type { Grant } from '../registry/credential';
import type { ImageRef } from '../registry/image-ref';
import { anyOf, compileNameGlob, compileRepositoryGlob, type Matcher } from './pattern';
import type { Rule, TrustRecord } from './schema';

export interface WorkloadIdentity {
  namespace: string;
  serviceAccountName: string;
  serviceAccountUid: string;
  /** From the kubelet's request: asserted by the node, not signed. */
  annotations: Record<string, string>;
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

export type Decision =
  | { allowed: true; rule: Rule; grants: Grant[]; service: string; trace: RuleTrace[] }
  | { allowed: false; trace: RuleTrace[] };

function mismatch(c: CompiledRule, who: WorkloadIdentity, image: ImageRef): string | undefined {
  const { rule } = c;
  if (!c.namespace(who.namespace)) return `namespace "${who.namespace}" is not in [${rule.namespaces.join(', ')}]`;
  if (!c.serviceAccount(who.serviceAccountName)) return `service account "${who.serviceAccountName}" is not in [${rule.serviceAccounts.join(', ')}]`;
  if (rule.serviceAccountUids && !rule.serviceAccountUids.includes(who.serviceAccountUid)) return `service account uid ${who.serviceAccountUid} is not pinned by the rule`;
  for (const [key, value] of Object.entries(rule.annotations ?? {})) {
    if (!Object.hasOwn(who.annotations, key)) return `annotation "${key}" is missing`;
    if (who.annotations[key] !== value) return `annotation "${key}" does not have the required value`;
  }
  if (image.registry !== rule.registry) return `registry "${image.registry}" is not "${rule.registry}"`;
  if (!c.repository(image.repository)) return `repository "${image.repository}" is not in [${rule.repositories.join(', ')}]`;
  return undefined;
}

export function evaluate(compiled: CompiledRecord, who: WorkloadIdentity, image: ImageRef): Decision {
  const trace: RuleTrace[] = [];
  for (const c of compiled.rules) {
    const reason = mismatch(c, who, image);
    if (reason === undefined) {
      trace.push({ rule: c.rule.name, matched: true });
      return {
        allowed: true,
        rule: c.rule,
        grants: [{ repositories: c.rule.repositories, actions: c.rule.actions }],
        service: c.rule.service ?? c.rule.registry,
        trace,
      };
    }
    trace.push({ rule: c.rule.name, matched: false, reason });
  }
  return { allowed: false, trace };
}
