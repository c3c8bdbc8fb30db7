/**
 * Stake saturation: an account's reward share in an epoch is capped by what its bond supports, the way Nym caps a
 * node's rewards at its stake's saturation point. Pure; docs/security.md ("Identities cost capital") is the
 * normative text.
 *
 * Over the accounts with C_i > 0 that are bonded (b_i ≥ minBond in NodeRegistry; the others are dropped — an
 * unbonded account is never credited):
 *
 *   s_i = C_i / ΣC                      contribution share
 *   β_i = b_i / ΣB                      bond share, among the epoch's contributing bonded accounts
 *   C'_i = min(⌊S·C_i/ΣC⌋, ⌊S·μ·b_i/ΣB⌋)  with S = 1e18 (SHARE_SCALE) and μ = saturationBps / 10,000
 *   R'   = ⌊R · ΣC' / S⌋
 *
 * The commitment is (C'_i, ΣC', R'), so RewardPool's on-chain `R' · C'_i / ΣC'` pays each account
 * `R · min(s_i, μ·β_i)` (rounded down). What the caps cut, `R − R'`, is not handed to anyone else: it stays in the
 * pool's unreserved balance for later epochs. So an account never earns more than μ times its bond's weight,
 * splitting a bond over k identities changes nothing (the β_i add up to the same total), and an account under its
 * cap earns exactly its contribution share.
 */
import { getAddress } from "ethers";

import { BPS, SHARE_SCALE } from "./constants.ts";
import { compareAddresses } from "./contribution.ts";

export interface SaturationTerms {
  /** μ in basis points (> 0): the largest reward share as a multiple of the bond share. */
  saturationBps: bigint;
  /** Bonds below this count as no bond (NodeRegistry.minBond). */
  minBond: bigint;
}

/** One account's saturated entry: its committed contribution and why. */
export interface SaturatedEntry {
  account: string;
  /** The contribution before saturation (C_i). */
  uncapped: bigint;
  bond: bigint;
  /** C'_i: the reward share committed, in units of 1/SHARE_SCALE. */
  contribution: bigint;
  /** Whether the bond cap was the smaller term. */
  capped: boolean;
}

export interface Saturated {
  entries: SaturatedEntry[];
  /** R' to commit. */
  rewardTotal: bigint;
  /** R − R': left in the pool by the caps (and rounding). */
  withheld: bigint;
}

/**
 * Applies the caps (formula in the header) to `contributions` with the bonds `bondOf` returns, for an epoch whose
 * configured reward is `rewardTotal`. Entries ascending by address; zero entries dropped.
 */
export function saturate(
  contributions: readonly { account: string; contribution: bigint }[],
  bondOf: (account: string) => bigint,
  rewardTotal: bigint,
  terms: SaturationTerms,
): Saturated {
  if (terms.saturationBps <= 0n) throw new RangeError(`saturationBps must be > 0, got ${terms.saturationBps}`);
  if (rewardTotal < 0n) throw new RangeError(`rewardTotal must be ≥ 0, got ${rewardTotal}`);
  const bonded: { account: string; uncapped: bigint; bond: bigint }[] = [];
  let totalC = 0n;
  let totalB = 0n;
  for (const c of contributions) {
    if (c.contribution <= 0n) continue;
    const account = getAddress(c.account);
    const bond = bondOf(account);
    if (bond <= 0n || bond < terms.minBond) continue;
    bonded.push({ account, uncapped: c.contribution, bond });
    totalC += c.contribution;
    totalB += bond;
  }
  if (totalC === 0n) return { entries: [], rewardTotal: 0n, withheld: rewardTotal };
  const entries: SaturatedEntry[] = [];
  let totalShare = 0n;
  for (const b of bonded) {
    const share = (SHARE_SCALE * b.uncapped) / totalC;
    const cap = (SHARE_SCALE * terms.saturationBps * b.bond) / (BPS * totalB);
    const contribution = share < cap ? share : cap;
    if (contribution === 0n) continue;
    entries.push({ ...b, contribution, capped: cap < share });
    totalShare += contribution;
  }
  const committed = (rewardTotal * totalShare) / SHARE_SCALE;
  return {
    entries: entries.sort((x, y) => compareAddresses(x.account, y.account)),
    rewardTotal: committed,
    withheld: rewardTotal - committed,
  };
}
