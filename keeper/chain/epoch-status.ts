/**
 * RewardPool's `EpochStatus` (contracts/RewardPool.sol), by value — the one definition every reader of
 * `statusOf` uses (the submitter, the operator's view, the claim tooling).
 */
export const EPOCH_STATUS = { None: 0, Pending: 1, Claimable: 2, Vetoed: 3, Expired: 4, Challenged: 5 } as const;

export type EpochStatusName = keyof typeof EPOCH_STATUS;

const NAMES = Object.keys(EPOCH_STATUS) as EpochStatusName[];

/** The status's name for a value `statusOf` returned ("Unknown" for a value the contract does not define). */
export function epochStatusName(value: bigint | number): EpochStatusName | "Unknown" {
  return NAMES[Number(value)] ?? "Unknown";
}
