/**
 * Stake saturation: an account's reward share in an epoch is capped by what its bond supports, the way Nym caps a
 * node's rewards at its stake's saturation point; what the caps take is handed on only within each consumer's own
 * payment, and lifted for the bond majority when a minority's unused bond is what binds it. Pure; docs/security.md
 * ("Identities cost capital") is the normative text.
 *
 * Over the accounts with C_i > 0 that are bonded (b_i ≥ minBond in NodeRegistry; the others are dropped — an
 * unbonded account is never credited), with S = 1e18 (SHARE_SCALE) and μ = saturationBps / 10,000:
 *
 *   x_ci = ⌊S · C_i · w_ci / (W_i · ΣC)⌋   account i's share earned on consumer c's bytes (w_ci: i's credited bytes
 *                                           from c, W_i = Σ_c w_ci; one pot of its own when no split is given)
 *   K_i  = ⌊S · μ · b_i / ΣB⌋              the cap: μ times the bond share among the contributing bonded accounts
 *
 *   1. Per-consumer water-filling (pots.ts): each consumer's pot Σ_i x_ci pays only its own providers; a provider
 *      above K_i takes K_i and the rest of that pot goes to the pot's other providers below their caps. Then a
 *      capped provider's draws are rerouted, so that it takes its cap first from pots nobody else can take and what
 *      that frees reaches providers below their caps: the payout is the largest any allocation can make with each
 *      pot paying only its own providers and nobody above K_i (a maximum flow). A pot with money left no provider
 *      of its can take is starved: its rest is withheld.
 *   2. Majority lift: the accounts behind the starved pots fall into blocked regions (a starved pot's providers,
 *      all capped, the pots they draw from, their providers, …). When one region holds more than half of ΣB, the
 *      caps are set by the minority's unused bond, not by scarce capital: the caps of that region's accounts are
 *      raised by one common factor ℓ ≥ 1, as far as what they receive above their K_i stays within the unused cap
 *      of all the others, Σ_j max(0, K_j − C'_j). A region holding a minority of ΣB is never lifted, whatever the
 *      other regions hold. Within the region, only the core that holds the majority by its strongest links is lifted
 *      without bound; any other member by at most what it drew from the majority's pots (lift.ts), so that an
 *      account joining through a small draw is not carried up with it.
 *
 *   C'_i = what i receives;  R' = ⌊R · ΣC' / S⌋
 *
 * The commitment is (C'_i, ΣC', R'), so RewardPool's on-chain `R' · C'_i / ΣC'` pays each account `R · C'_i / S`.
 * What no pot can pay, `R − R'`, stays in the pool's unreserved balance for later epochs. Without the lift no
 * account earns more than μ times its bond's weight; the lift only ever pays a region holding the bond majority, and
 * only out of capacity others hold unused; a minority's capped excess is never handed on, so splitting a bond over
 * k identities changes nothing, and a consumer's money never reaches a provider it did not use.
 */
import { getAddress } from "ethers";

import { BPS, SHARE_SCALE } from "./constants.ts";
import { compareAddresses, type ConsumerBytes } from "./contribution.ts";
import { liftBudgets } from "./lift.ts";
import { fillPots, groupPots, type Filled, type PotShare } from "./pots.ts";

export interface SaturationTerms {
  /** μ in basis points (> 0): the largest reward share as a multiple of the bond share. */
  saturationBps: bigint;
  /** Bonds below this count as no bond (NodeRegistry.minBond). */
  minBond: bigint;
}

/** An account's contribution and, when known, how its credited bytes split over the consumers that received them. */
export interface SaturationInput {
  account: string;
  contribution: bigint;
  consumers?: readonly ConsumerBytes[];
}

/** One account's saturated entry: its committed contribution and why. */
export interface SaturatedEntry {
  account: string;
  /** The contribution before saturation (C_i). */
  uncapped: bigint;
  bond: bigint;
  /** C'_i: the reward share committed, in units of 1/SHARE_SCALE. */
  contribution: bigint;
  /** Whether the account took its cap (lifted or not). */
  capped: boolean;
}

export interface Saturated {
  entries: SaturatedEntry[];
  /** R' to commit. */
  rewardTotal: bigint;
  /** R − R': left in the pool by the caps (and rounding). */
  withheld: bigint;
  /** The majority lift ℓ applied, in units of 1/LIFT_SCALE (LIFT_SCALE: none). */
  lift: bigint;
}

/** Precision of the lift factor ℓ (ℓ = LIFT_SCALE: no lift). */
export const LIFT_SCALE = 10n ** 9n;

const selfPot = (account: string) => `account:${account}`;
const consumerPot = (consumer: string) => `consumer:${consumer}`;

/**
 * Applies the rule in the header to `contributions` with the bonds `bondOf` returns, for an epoch whose configured
 * reward is `rewardTotal`. Entries ascending by address; zero entries dropped.
 */
export function saturate(
  contributions: readonly SaturationInput[],
  bondOf: (account: string) => bigint,
  rewardTotal: bigint,
  terms: SaturationTerms,
): Saturated {
  if (terms.saturationBps <= 0n) throw new RangeError(`saturationBps must be > 0, got ${terms.saturationBps}`);
  if (rewardTotal < 0n) throw new RangeError(`rewardTotal must be ≥ 0, got ${rewardTotal}`);
  const bonded: { account: string; uncapped: bigint; bond: bigint; consumers: readonly ConsumerBytes[] }[] = [];
  let totalC = 0n;
  let totalB = 0n;
  for (const c of contributions) {
    if (c.contribution <= 0n) continue;
    const account = getAddress(c.account);
    const bond = bondOf(account);
    if (bond <= 0n || bond < terms.minBond) continue;
    bonded.push({ account, uncapped: c.contribution, bond, consumers: c.consumers ?? [] });
    totalC += c.contribution;
    totalB += bond;
  }
  if (totalC === 0n) return { entries: [], rewardTotal: 0n, withheld: rewardTotal, lift: LIFT_SCALE };

  const shares: PotShare[] = [];
  const capOf = new Map<string, bigint>();
  const bondOfAccount = new Map<string, bigint>();
  for (const b of bonded) {
    capOf.set(b.account, (SHARE_SCALE * terms.saturationBps * b.bond) / (BPS * totalB));
    bondOfAccount.set(b.account, b.bond);
    const weights = b.consumers.filter((c) => c.bytes > 0n);
    const total = weights.reduce((sum, c) => sum + c.bytes, 0n);
    if (total === 0n) {
      shares.push({ pot: selfPot(b.account), account: b.account, share: (SHARE_SCALE * b.uncapped) / totalC });
      continue;
    }
    for (const w of weights) {
      const share = (SHARE_SCALE * b.uncapped * w.bytes) / (total * totalC);
      if (share > 0n) shares.push({ pot: consumerPot(w.consumer), account: b.account, share });
    }
  }
  const grouped = groupPots(shares);
  const base = (a: string) => capOf.get(a)!;
  let filled = fillPots(grouped, base);
  let lift = LIFT_SCALE;

  // The majority lift (header, step 2): at most one blocked region holds more than half of ΣB.
  const majority = filled.blocked.find(
    (region) => 2n * region.reduce((sum, a) => sum + bondOfAccount.get(a)!, 0n) > totalB,
  );
  const lifted = new Set(majority ?? []);
  if (majority !== undefined) {
    // Each account's lift is bounded by the links that tie it to the majority (lift.ts).
    const budget = liftBudgets(majority, filled.links, (a) => bondOfAccount.get(a)!, totalB);
    const liftedCap = (l: bigint) => (a: string) => {
      if (!lifted.has(a)) return base(a);
      const raised = (base(a) * l) / LIFT_SCALE - base(a);
      const most = budget.get(a) ?? null;
      return base(a) + (most !== null && most < raised ? most : raised);
    };
    const within = (f: Filled) => {
      let above = 0n;
      let unused = 0n;
      for (const [a, x] of f.allocation) {
        if (lifted.has(a)) above += x > base(a) ? x - base(a) : 0n;
        else unused += base(a) > x ? base(a) - x : 0n;
      }
      return above <= unused;
    };
    let smallest = SHARE_SCALE;
    for (const a of lifted) if (base(a) > 0n && base(a) < smallest) smallest = base(a);
    let lo = LIFT_SCALE;
    let hi = (LIFT_SCALE * SHARE_SCALE) / smallest + 1n;
    while (hi - lo > 1n) {
      const mid = (lo + hi) / 2n;
      if (within(fillPots(grouped, liftedCap(mid)))) lo = mid;
      else hi = mid;
    }
    lift = lo;
    filled = fillPots(grouped, liftedCap(lo));
  }

  const entries: SaturatedEntry[] = [];
  let totalShare = 0n;
  for (const b of bonded) {
    const contribution = filled.allocation.get(b.account) ?? 0n;
    if (contribution === 0n) continue;
    entries.push({
      account: b.account,
      uncapped: b.uncapped,
      bond: b.bond,
      contribution,
      capped: filled.saturated.has(b.account),
    });
    totalShare += contribution;
  }
  const committed = (rewardTotal * totalShare) / SHARE_SCALE;
  return {
    entries: entries.sort((x, y) => compareAddresses(x.account, y.account)),
    rewardTotal: committed,
    withheld: rewardTotal - committed,
    lift,
  };
}
