/**
 * The merge rule: the keepers' signed health observations of one epoch → each account's Reputation report. Pure;
 * docs/epochs.md ("Reputation reports") is the normative text.
 *
 *   for each observed peer p (with the account its observers name for it):
 *     O_p = the observers' outcomes (s_k, f_k) of p, one per observer, ordered by failure ratio f/(s+f),
 *           highest first (ties: observer address ascending)
 *     merged(p) = O_p[f]   — the outcome with the (f+1)-th highest failure ratio; none when |O_p| ≤ f
 *   report(account) = Σ merged(p) over the account's peers (clamped to uint32), idle accounts dropped; with several
 *                     peers, each merged(p) first scaled down (ratio kept, failures rounded down) to at most the
 *                     (f+1)-th largest s+f of O_p, which at least one honest observer saw: one observer cannot sign
 *                     huge counts for one peer and outweigh the account's others
 *
 * Why it holds against lying observers: at least f+1 observers saw p at least as bad as merged(p), so with at most
 * f liars some honest keeper saw p at least that bad, and f+1 honest keepers saw it no better than merged(p).
 * With h_1 ≥ h_2 ≥ … the honest observers' failure ratios, the merged ratio lies in [h_{f+1}, h_1]: f liars can
 * neither make a peer look worse than the worst honest view nor better than the (f+1)-th. In particular one liar
 * (f = 1) cannot flag a peer every honest keeper saw healthy, and a peer only one keeper observed is not reported.
 * Reputation judges a report by its ratio alone (Reputation._learn: score target s/(s+f), failing above a rate),
 * so choosing one observer's pair rather than mixing counts keeps the ratio an observed one.
 *
 * An observer that signed two different outcomes for the same peer and epoch (equivocation) counts for neither.
 *
 * Lost credit (`auditDisqualified`), from the same set and the audit rule (keeper/audit/verdict.ts): the observers'
 * audit counts of a provider are pooled after dropping the f observers that report the most failures, each count
 * capped at the (f+1)-th largest, and the rule is applied to the pool (see the function). f liars can neither take
 * a healthy provider's credit nor keep a failing one's beyond what one honest keeper's count allows, and every keeper
 * that merges the same set finds the same providers.
 */
import { getAddress } from "ethers";

import type { DisqualifyRule } from "../../audit/verdict.ts";
import { compareAddresses } from "../collect/contribution.ts";
import type { ObservationRule, ReputationReport } from "../types.ts";
import { DEFAULT_MAX_FAULTY_OBSERVERS } from "./constants.ts";
import { ObservationRuleError } from "./errors.ts";
import { MAX_OBSERVED_COUNT, observationKey, type HealthObservation } from "./observation.ts";

export type { ObservationRule };

/**
 * f for a quorum of n keepers when none is configured (docs/epochs.md "Reputation reports"): 0 for a one-keeper
 * quorum (its own word is the only one), else max(1, ⌊(n−1)/3⌋) — the faulty keepers a quorum of n tolerates
 * (n ≥ 3f + 1), and at least one from two keepers on, so that one keeper's word alone never moves a report.
 * n = 2, 3, 4 → 1; 7 → 2; 10 → 3. Capped at 64 (the rule's bound).
 */
export function maxFaultyFor(n: number): number {
  if (!Number.isSafeInteger(n) || n <= 1) return 0;
  return Math.min(64, Math.max(1, Math.floor((n - 1) / 3)));
}

/** The rule from a partial one (defaults applied), checked. */
export function observationRule(r: Partial<ObservationRule> = {}): ObservationRule {
  const maxFaulty = r.maxFaulty ?? DEFAULT_MAX_FAULTY_OBSERVERS;
  if (!Number.isSafeInteger(maxFaulty) || maxFaulty < 0 || maxFaulty > 64)
    throw new ObservationRuleError(`maxFaulty must be an integer in [0, 64], got ${String(maxFaulty)}`);
  return { maxFaulty };
}

/** One peer's merged outcome and who observed it. */
export interface MergedOutcome {
  subject: string;
  account: string;
  successes: number;
  failures: number;
  /** Distinct observers of the peer (under this account). */
  observers: number;
}

export interface MergeResult {
  reports: ReputationReport[];
  /** Per observed peer that reached f+1 observers, by peer id. */
  outcomes: MergedOutcome[];
  /** Observers that signed two different outcomes of one peer (`observer/subject`), ignored for it. */
  equivocations: string[];
}

/** a before b when a's failure ratio is higher; ties by observer address. Counts ≤ 2^32: products fit a bigint. */
function worseFirst(a: HealthObservation, b: HealthObservation): number {
  const left = BigInt(a.failures) * BigInt(b.successes + b.failures);
  const right = BigInt(b.failures) * BigInt(a.successes + a.failures);
  if (left !== right) return left > right ? -1 : 1;
  return compareAddresses(a.observer, b.observer);
}

/** Applies the rule to the observations of one epoch. Throws when they name several epochs. */
export function mergeObservations(observations: readonly HealthObservation[], rule: ObservationRule): MergeResult {
  const { maxFaulty } = observationRule(rule);
  const epochs = new Set(observations.map((o) => o.epoch));
  if (epochs.size > 1) throw new ObservationRuleError(`observations of several epochs: ${[...epochs].join(", ")}`);
  const byKey = new Map<string, HealthObservation>();
  const equivocating = new Set<string>();
  for (const o of observations) {
    const key = observationKey(o);
    const seen = byKey.get(key);
    if (seen === undefined) byKey.set(key, o);
    else if (!sameCounts(seen, o)) equivocating.add(key);
  }
  const groups = new Map<string, HealthObservation[]>();
  for (const [key, o] of byKey) {
    if (equivocating.has(key) || o.successes + o.failures === 0) continue;
    const group = `${o.subject}/${o.account.toLowerCase()}`;
    const list = groups.get(group) ?? [];
    list.push(o);
    groups.set(group, list);
  }
  const outcomes: MergedOutcome[] = [];
  /** Per merged outcome: the (f+1)-th largest total of its group, the most outcomes an honest observer vouches for. */
  const sizeCap = new Map<MergedOutcome, number>();
  for (const list of groups.values()) {
    if (list.length <= maxFaulty) continue;
    const chosen = [...list].sort(worseFirst)[maxFaulty]!;
    const merged = {
      subject: chosen.subject,
      account: getAddress(chosen.account),
      successes: chosen.successes,
      failures: chosen.failures,
      observers: list.length,
    };
    outcomes.push(merged);
    sizeCap.set(merged, list.map((o) => o.successes + o.failures).sort((a, b) => b - a)[maxFaulty]!);
  }
  outcomes.sort((a, b) =>
    a.subject < b.subject ? -1 : a.subject > b.subject ? 1 : compareAddresses(a.account, b.account),
  );
  const peersOf = new Map<string, number>();
  for (const o of outcomes) peersOf.set(o.account, (peersOf.get(o.account) ?? 0) + 1);
  const byAccount = new Map<string, { successes: number; failures: number }>();
  for (const o of outcomes) {
    const c = byAccount.get(o.account) ?? { successes: 0, failures: 0 };
    // In an account of several peers, each peer's pair weighs at most its size cap (ratio kept, failures rounded
    // down): one observer whose ratio is chosen cannot sign huge counts and outweigh the account's other peers.
    const cap = sizeCap.get(o)!;
    const total = o.successes + o.failures;
    const scaled = peersOf.get(o.account)! > 1 && total > cap;
    const failures = scaled ? Number((BigInt(o.failures) * BigInt(cap)) / BigInt(total)) : o.failures;
    c.successes += scaled ? cap - failures : o.successes;
    c.failures += failures;
    byAccount.set(o.account, c);
  }
  const reports = [...byAccount]
    .map(([node, c]) => ({
      node,
      successes: Math.min(c.successes, MAX_OBSERVED_COUNT),
      failures: Math.min(c.failures, MAX_OBSERVED_COUNT),
    }))
    .sort((a, b) => compareAddresses(a.node, b.node));
  return { reports, outcomes, equivocations: [...equivocating].sort() };
}

/** One provider's lost credit under merged observations: the pooled counts the rule was applied to. */
export interface AuditJudgement {
  provider: string;
  /** Observers whose audits were pooled (the auditing observers but the f reporting the most failures). */
  pooled: number;
  audits: number;
  failures: number;
}

/**
 * The providers (peer ids, ascending) that lose the epoch's credit, from the observers' audit counts pooled robustly:
 *
 *   A_p = the observers that audited p (audits > 0), equivocating observers excluded (as in `mergeObservations`)
 *   cap = the (f+1)-th largest audit count in A_p;  none when |A_p| ≤ f
 *   drop the f observers of A_p reporting the most failures (ties: observer address ascending)
 *   F = Σ min(auditFailures_k, cap),  T = Σ min(audits_k, cap)   over the rest
 *   p loses the credit  ⇔  F ≥ minFailures  and  F ≥ failureRatio · T   (the audit rule, keeper/audit/verdict.ts)
 *
 * f liars cannot take a healthy provider's credit: whatever failures they sign, the f largest reports are dropped,
 * so F counts only failures an honest keeper saw (0 for a provider every honest audit passed). Nor can they dilute
 * a failing provider's record with made-up passes beyond one honest keeper's count each (the cap). Pooling, unlike
 * judging per keeper, lets audits spread thin over the keepers add up: 2 of 2 failed and 1 of 1 failed at two
 * keepers and 1 of 1 at a third is 2 of 2 after the drop.
 */
export function auditDisqualified(
  observations: readonly HealthObservation[],
  rule: ObservationRule,
  auditRule: DisqualifyRule,
): AuditJudgement[] {
  const { maxFaulty } = observationRule(rule);
  const byKey = new Map<string, HealthObservation | null>();
  for (const o of observations) {
    const key = observationKey(o);
    const seen = byKey.get(key);
    if (seen === undefined) byKey.set(key, o);
    else if (seen !== null && !sameCounts(seen, o)) byKey.set(key, null);
  }
  const auditing = new Map<string, HealthObservation[]>();
  for (const o of byKey.values()) {
    if (o === null || (o.audits ?? 0) === 0) continue;
    auditing.set(o.subject, [...(auditing.get(o.subject) ?? []), o]);
  }
  const out: AuditJudgement[] = [];
  for (const [provider, list] of auditing) {
    if (list.length <= maxFaulty) continue;
    const cap = list.map((o) => o.audits ?? 0).sort((a, b) => b - a)[maxFaulty]!;
    const rest = [...list].sort(worseAuditFirst).slice(maxFaulty);
    let failures = 0;
    let audits = 0;
    for (const o of rest) {
      failures += Math.min(o.auditFailures ?? 0, cap);
      audits += Math.min(o.audits ?? 0, cap);
    }
    if (failures >= auditRule.minFailures && failures >= auditRule.failureRatio * audits)
      out.push({ provider, pooled: rest.length, audits, failures });
  }
  return out.sort((a, b) => (a.provider < b.provider ? -1 : a.provider > b.provider ? 1 : 0));
}

function sameCounts(a: HealthObservation, b: HealthObservation): boolean {
  return (
    a.account.toLowerCase() === b.account.toLowerCase() &&
    a.successes === b.successes &&
    a.failures === b.failures &&
    (a.audits ?? 0) === (b.audits ?? 0) &&
    (a.auditFailures ?? 0) === (b.auditFailures ?? 0)
  );
}

/** More failed audits first; ties by observer address. */
function worseAuditFirst(a: HealthObservation, b: HealthObservation): number {
  const d = (b.auditFailures ?? 0) - (a.auditFailures ?? 0);
  return d !== 0 ? d : compareAddresses(a.observer, b.observer);
}
