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
 */
import { getAddress } from "ethers";

import { compareAddresses } from "../collect/contribution.ts";
import type { ObservationRule, ReputationReport } from "../types.ts";
import { DEFAULT_MAX_FAULTY_OBSERVERS } from "./constants.ts";
import { ObservationRuleError } from "./errors.ts";
import { MAX_OBSERVED_COUNT, observationKey, type HealthObservation } from "./observation.ts";

export type { ObservationRule };

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
    else if (
      seen.account.toLowerCase() !== o.account.toLowerCase() ||
      seen.successes !== o.successes ||
      seen.failures !== o.failures
    )
      equivocating.add(key);
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
