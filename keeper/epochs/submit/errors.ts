/**
 * Failures of the epoch submission. Each leaves the epoch pending: the submission is idempotent, so retrying
 * later (the rotation does) continues where the chain stands.
 */

/** The previous epoch is not fully on chain yet; epochs are submitted strictly in order. */
export class PreviousEpochPendingError extends Error {
  override readonly name = "PreviousEpochPendingError";
  constructor(
    readonly epoch: number,
    readonly taskLogLast: number,
    readonly rewardPoolLast: number,
  ) {
    super(`epoch ${epoch} waits for epoch ${epoch - 1} (TaskLog at ${taskLogLast}, RewardPool at ${rewardPoolLast})`);
  }
}

/** The pool's unreserved balance does not cover R_total; fund the pool, the epoch stays pending. */
export class InsufficientRewardError extends Error {
  override readonly name = "InsufficientRewardError";
  constructor(
    readonly epoch: number,
    readonly neededWei: bigint,
    readonly availableWei: bigint,
  ) {
    super(`epoch ${epoch}: RewardPool holds ${availableWei} unreserved, R_total is ${neededWei}: fund the pool`);
  }
}

/** The chain holds a different root for the epoch than the one built here: raise the alarm. */
export class EpochRootMismatchError extends Error {
  override readonly name = "EpochRootMismatchError";
  constructor(
    readonly epoch: number,
    readonly contract: "TaskLog" | "RewardPool",
    readonly onChain: string,
    readonly ours: string,
  ) {
    super(`epoch ${epoch}: ${contract} holds root ${onChain}, ours is ${ours}`);
  }
}

/** The guardian vetoed the epoch's reward root: a corrected distribution must be built before resubmitting. */
export class EpochVetoedError extends Error {
  override readonly name = "EpochVetoedError";
  constructor(readonly epoch: number) {
    super(`epoch ${epoch}: the RewardPool commitment was vetoed by the guardian`);
  }
}

/** This keeper is not among the keepers holding KEEPER_ROLE on all three contracts. */
export class NotAKeeperError extends Error {
  override readonly name = "NotAKeeperError";
  constructor(readonly address: string) {
    super(`${address} does not hold KEEPER_ROLE on TaskLog, Reputation and RewardPool`);
  }
}
