/**
 * Failures of the claim tooling that stop a command (as opposed to the states a holder is told about, which
 * are results: see rewards.ts).
 */

/** An argument is not what the command needs (bad address, epoch, amount). */
export class ClaimArgumentError extends Error {
  override readonly name = "ClaimArgumentError";
  constructor(
    readonly argument: string,
    reason: string,
  ) {
    super(`--${argument}: ${reason}`);
  }
}

/** The signer cannot pay for what it asked (funding more than it holds). */
export class InsufficientBalanceError extends Error {
  override readonly name = "InsufficientBalanceError";
  constructor(
    readonly account: string,
    readonly needed: bigint,
    readonly available: bigint,
  ) {
    super(`${account} holds ${available} base units, ${needed} needed`);
  }
}

/** A transaction was sent and reverted; `reason` is the decoded custom error when known. */
export class ClaimTransactionError extends Error {
  override readonly name = "ClaimTransactionError";
  constructor(
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`transaction failed: ${reason}`, options);
  }
}

/** The epoch is not among the published records read; `where` says where they were read and how to point elsewhere. */
export class EpochNotPublishedError extends Error {
  override readonly name = "EpochNotPublishedError";
  constructor(
    readonly epoch: number,
    readonly where: string,
  ) {
    super(`epoch ${epoch} is not published ${where}`);
  }
}

/** TaskLog holds a root for the epoch but the RPC returned no `EpochCommitted` event (where its task count is). */
export class CommitmentEventMissingError extends Error {
  override readonly name = "CommitmentEventMissingError";
  constructor(readonly epoch: number) {
    super(`TaskLog holds a root for epoch ${epoch} but the RPC returned no EpochCommitted event for it (logs pruned?)`);
  }
}

/** The bond registry would refuse the request (below the minimum, more than bonded, still unbonding, nothing to withdraw). */
export class BondStateError extends Error {
  override readonly name = "BondStateError";
}
