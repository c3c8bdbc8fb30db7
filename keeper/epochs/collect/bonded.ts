/**
 * The bond rule of an epoch (docs/security.md, "Identities cost capital"), applied to what the epoch computed from
 * its evidence. Pure, so the collector and `lumora:verify-epoch` (proofs/evidence.ts) apply it with the same code:
 *
 * - only accounts with an active bond ≥ minBond (and > 0) are credited or reported to Reputation;
 * - each credited account's share is capped by its bond (stake saturation, saturation.ts): the epoch commits the
 *   saturated C'_i, ΣC' and R' = ⌊R · ΣC' / 1e18⌋, where R is the reward offered (R_total before the caps).
 */
import { getAddress } from "ethers";

import type { EpochBonds, ReputationReport } from "../types.ts";
import type { AccountContribution } from "./contribution.ts";
import { saturate } from "./saturation.ts";

export interface Bonded {
  /** The committed entries: C'_i in `contribution`, the uncapped inputs (bytes, counts) kept for the operator. */
  contributions: AccountContribution[];
  reports: ReputationReport[];
  /** R' to commit. */
  rewardTotal: bigint;
}

/** The bond of each account, checksummed (0 for an account not read). */
export function bondLookup(bonds: EpochBonds): (account: string) => bigint {
  const byAccount = new Map(bonds.accounts.map((b) => [getAddress(b.account), b.bond]));
  return (account) => byAccount.get(getAddress(account)) ?? 0n;
}

/** Whether an account counts under `bonds`: an active bond of at least minBond, and more than nothing. */
export function isBondedUnder(bonds: EpochBonds, bondOf: (account: string) => bigint, account: string): boolean {
  const b = bondOf(account);
  return b > 0n && b >= bonds.minBond;
}

/** Drops the unbonded accounts and saturates the rest (see the header). */
export function applyBonds(
  contributions: readonly AccountContribution[],
  reports: readonly ReputationReport[],
  bonds: EpochBonds,
): Bonded {
  const bondOf = bondLookup(bonds);
  const saturated = saturate(contributions, bondOf, bonds.rewardOffered, {
    saturationBps: bonds.saturationBps,
    minBond: bonds.minBond,
  });
  const inputs = new Map(contributions.map((c) => [getAddress(c.account), c]));
  return {
    contributions: saturated.entries.map((e) => ({ ...inputs.get(e.account)!, contribution: e.contribution })),
    reports: reports.filter((r) => isBondedUnder(bonds, bondOf, r.node)),
    rewardTotal: saturated.rewardTotal,
  };
}
