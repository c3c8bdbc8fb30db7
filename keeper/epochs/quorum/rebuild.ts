/**
 * An approver's rebuild of an epoch from the submitter's observation set (docs/epochs.md "Reputation reports",
 * "Signing another keeper's epoch"). The merged health observations weigh C_i (S_i, F_i) as well as make the
 * Reputation reports, so a keeper that sealed another set than the submitter (it missed a keeper during the
 * gather) builds another reward root from the same receipts. Signing only its own root would stall commits
 * whenever sets differ (review finding H2); instead the approver takes its own evidence of the epoch — the receipts,
 * records, audits, bonds and payments it counted — puts the submitter's checked set in place of its own, and
 * recomputes C_i, R_total and the reports with the verifier's code (proofs/evidence.ts `recompute`, the collector's
 * formulas). What it signs is then exactly what `lumora:verify-epoch` recomputes from an evidence file that pairs
 * its receipts with the submitter's observations.
 *
 * The rebuilt bundle names the submitter's set (`observationsHash`), so the commitment's evidence hash binds it.
 *
 * Leaf indices are this keeper's (stable per account, collect/accounts.ts). R_total is this keeper's too: the pool
 * read at its finalize, or under the bond rule R' recomputed from the reward offered it froze.
 */
import { buildEpoch } from "../build.ts";
import { totalContribution } from "../collect/contribution.ts";
import { observationSetHash, type SignedObservation } from "../observe/observation.ts";
import { recompute } from "../proofs/evidence.ts";
import type { BuiltEpoch, ContributionEntry, EpochEvidence } from "../types.ts";
import { EpochRebuildError } from "./errors.ts";

export interface RebuildInput {
  /** This keeper's own build of the epoch. */
  built: BuiltEpoch;
  /** This keeper's evidence of the epoch, with the observation rule and domain it merged under. */
  evidence: EpochEvidence;
  /** The submitter's observation set, already checked (observe/observer.ts `check`). */
  observations: readonly SignedObservation[];
  /** This keeper's stable leaf index of an account, undefined when it never had a leaf here. */
  indexOf(account: string): number | undefined;
}

/**
 * This keeper's epoch with C_i, R_total and the reports recomputed from `observations`; tasks and receipts stay
 * its own. Throws EpochRebuildError when it cannot say what the submitter's set implies (an account it never
 * indexed, a reward it did not read).
 */
export async function rebuildWithObservations(
  input: RebuildInput,
  options: { signal?: AbortSignal } = {},
): Promise<BuiltEpoch> {
  const { built, evidence } = input;
  const { epoch, endMs } = built.bundle;
  if (evidence.observationRule === undefined || evidence.observationDomain === undefined)
    throw new EpochRebuildError(epoch, "this keeper merged no observations for the epoch");
  const again = await recompute({ ...evidence, observations: [...input.observations] }, endMs);
  options.signal?.throwIfAborted();
  const ownIndex = new Map(built.bundle.contributions.map((c) => [c.account.toLowerCase(), c.index]));
  const contributions: ContributionEntry[] = [];
  for (const c of again.contributions) {
    if (c.contribution === 0n) continue;
    const index = ownIndex.get(c.account.toLowerCase()) ?? input.indexOf(c.account);
    if (index === undefined)
      throw new EpochRebuildError(epoch, `account ${c.account} has a leaf under those observations and no index here`);
    contributions.push({ account: c.account, index, contribution: c.contribution });
  }
  const total = totalContribution(contributions);
  let rewardTotal = again.rewardTotal;
  if (rewardTotal === undefined) {
    // Without the bond rule R_total is min(rewardPerEpoch, the pool's maximum) whenever ΣC > 0: the value this
    // keeper committed, unless it had nothing to credit (then it never read the pool).
    if (total === 0n) rewardTotal = 0n;
    else if (built.totalContribution > 0n) rewardTotal = built.bundle.rewardTotal;
    else throw new EpochRebuildError(epoch, "those observations credit accounts where this keeper credited none");
  }
  return buildEpoch(
    {
      ...built.bundle,
      contributions,
      reputation: again.reports,
      rewardTotal,
      // The evidence hash then binds the set this rebuild is made from (review M-3).
      observationsHash: observationSetHash(input.observations),
    },
    options.signal === undefined ? {} : { signal: options.signal },
  );
}
