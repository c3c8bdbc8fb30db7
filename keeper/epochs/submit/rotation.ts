/**
 * Who submits an epoch. The keepers eligible are the configured keeper addresses that are in EpochQuorum's keeper
 * set (or, in deployments without a quorum, hold KEEPER_ROLE on all three contracts; AccessControl has no
 * enumeration, so the list is configured and each entry checked on chain). Sorted by address, epoch e's submitter is `sorted[e % n]`; if it stays silent, `sorted[(e + k) % n]`
 * takes over `k · deadline` after the epoch closed. Everyone computes the same order from the same chain state.
 */
import { getAddress, id } from "ethers";

import type { Chain } from "../../chain/index.ts";

const KEEPER_ROLE = id("KEEPER_ROLE");

/** Checksummed, de-duplicated, sorted ascending by (lowercase) address. */
export function sortKeepers(keepers: readonly string[]): string[] {
  const unique = [...new Set(keepers.map((k) => getAddress(k)))];
  return unique.sort((a, b) => (a.toLowerCase() < b.toLowerCase() ? -1 : a.toLowerCase() > b.toLowerCase() ? 1 : 0));
}

/** The epoch's submitters in takeover order: designated first, then each backup. */
export function submitterOrder(epoch: number, keepers: readonly string[]): string[] {
  const sorted = sortKeepers(keepers);
  const n = sorted.length;
  return Array.from({ length: n }, (_, k) => sorted[(epoch + k) % n]!);
}

/** The designated submitter of `epoch`. */
export function designatedSubmitter(epoch: number, keepers: readonly string[]): string | undefined {
  return submitterOrder(epoch, keepers)[0];
}

/**
 * When `keeper` may start submitting `epoch` (unix ms): at the close for the designated submitter, `rank ·
 * deadlineMs` later for the rank-th backup; undefined when it is not an eligible keeper.
 */
export function turnStartsAt(
  epoch: number,
  keeper: string,
  keepers: readonly string[],
  closedAtMs: number,
  deadlineMs: number,
): number | undefined {
  const rank = submitterOrder(epoch, keepers).indexOf(getAddress(keeper));
  return rank < 0 ? undefined : closedAtMs + rank * deadlineMs;
}

/**
 * The configured keepers that may submit, sorted: with an EpochQuorum, those in its keeper set (the quorum alone
 * holds KEEPER_ROLE, and anyone may submit its signed commitments, but the rotation is among its keepers);
 * otherwise those that hold KEEPER_ROLE on TaskLog, Reputation and RewardPool.
 */
export async function eligibleKeepers(
  chain: Chain,
  configured: readonly string[],
  options: { signal?: AbortSignal } = {},
): Promise<string[]> {
  const { taskLog, reputation, rewardPool, epochQuorum } = chain.contracts;
  if (epochQuorum !== undefined) {
    const members = await chain.read("EpochQuorum.keepers", () => epochQuorum.keepers(), options);
    const set = new Set(members.map((k) => k.toLowerCase()));
    return sortKeepers(configured).filter((k) => set.has(k.toLowerCase()));
  }
  const checks = await Promise.all(
    sortKeepers(configured).map(async (keeper) => {
      const roles = await Promise.all(
        [taskLog, reputation, rewardPool].map((c) =>
          chain.read("hasRole", () => c.hasRole(KEEPER_ROLE, keeper), options),
        ),
      );
      return roles.every(Boolean) ? keeper : undefined;
    }),
  );
  return checks.filter((k): k is string => k !== undefined);
}
