/**
 * Which providers lose their credit for an epoch, from the epoch's audit outcomes. Pure, and a function of
 * published data only (the verified outcomes and the rule), so anyone holding an epoch's evidence computes the
 * same set (docs/epochs.md, "Audits and credit"):
 *
 *   failed_p = audits of provider p in the epoch whose outcome is not `pass`
 *   total_p  = all audits of p in the epoch (each outcome counted once, by hash)
 *   p is disqualified  ⇔  failed_p ≥ minFailures  and  failed_p ≥ failureRatio · total_p
 *
 * A disqualified provider's receipts of that epoch count zero bytes toward C_i. They are still the epoch's
 * evidence (counted once ever), so the credit is lost, not deferred to a later epoch.
 */
import { AuditConfigError } from "./errors.ts";
import type { AuditOutcomeKind } from "./judge.ts";

export interface DisqualifyRule {
  minFailures: number;
  failureRatio: number;
}

/** One verified outcome, reduced to what the rule needs. */
export interface JudgedAudit {
  hash: string;
  provider: string;
  outcome: AuditOutcomeKind;
}

export interface ProviderAudits {
  provider: string;
  audits: number;
  failures: number;
  disqualified: boolean;
}

export function checkDisqualifyRule(rule: DisqualifyRule): DisqualifyRule {
  if (!Number.isSafeInteger(rule.minFailures) || rule.minFailures < 1)
    throw new AuditConfigError("disqualifyMinFailures", "must be an integer ≥ 1");
  if (!(rule.failureRatio >= 0 && rule.failureRatio <= 1))
    throw new AuditConfigError("disqualifyFailureRatio", "must be within [0, 1]");
  return rule;
}

/** Audits and failures per provider, ascending by provider, with the rule's decision. */
export function auditVerdicts(audits: readonly JudgedAudit[], rule: DisqualifyRule): ProviderAudits[] {
  const seen = new Set<string>();
  const counts = new Map<string, { audits: number; failures: number }>();
  for (const a of audits) {
    if (seen.has(a.hash)) continue;
    seen.add(a.hash);
    const c = counts.get(a.provider) ?? { audits: 0, failures: 0 };
    c.audits++;
    if (a.outcome !== "pass") c.failures++;
    counts.set(a.provider, c);
  }
  return [...counts]
    .map(([provider, c]) => ({
      provider,
      ...c,
      disqualified: c.failures >= rule.minFailures && c.failures >= rule.failureRatio * c.audits,
    }))
    .sort((a, b) => (a.provider < b.provider ? -1 : a.provider > b.provider ? 1 : 0));
}

/** The providers that lose their credit for the epoch. */
export function disqualifiedProviders(audits: readonly JudgedAudit[], rule: DisqualifyRule): Set<string> {
  return new Set(
    auditVerdicts(audits, rule)
      .filter((v) => v.disqualified)
      .map((v) => v.provider),
  );
}
