/**
 * Failures of chain access. One class per failure, with the fields a caller needs to decide what to do:
 * transient RPC trouble is retried inside the module and only surfaces as `RpcUnavailableError` once the retry
 * budget is spent; a revert is never retried and surfaces as `ContractRevertError` with the decoded custom error.
 * No error ever carries a private key.
 */

/** The chain configuration or the deployment record is unusable. */
export class ChainConfigError extends Error {
  override readonly name = "ChainConfigError";
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`chain config: ${field}: ${reason}`);
  }
}

/** The node answers for another chain than the deployment record's. */
export class WrongChainError extends Error {
  override readonly name = "WrongChainError";
  constructor(
    readonly expected: number,
    readonly actual: number,
  ) {
    super(`RPC node is on chain ${actual}, the deployment is on chain ${expected}`);
  }
}

/** Transient RPC failures (connection refused, timeouts, 5xx) outlasted the retry budget. */
export class RpcUnavailableError extends Error {
  override readonly name = "RpcUnavailableError";
  constructor(
    readonly operation: string,
    readonly attempts: number,
    readonly elapsedMs: number,
    options?: { cause?: unknown },
  ) {
    super(`${operation}: RPC unavailable after ${attempts} attempts over ${Math.round(elapsedMs / 1000)} s`, options);
  }
}

/**
 * A call or transaction reverted. `errorName`/`errorArgs` are the decoded custom error when the ABI knows it
 * (e.g. `TaskLogNonConsecutiveEpoch`, [epoch, expected]). Never retried: the same call reverts again.
 */
export class ContractRevertError extends Error {
  override readonly name = "ContractRevertError";
  constructor(
    readonly operation: string,
    readonly errorName: string | undefined,
    readonly errorArgs: readonly unknown[],
    readonly txHash?: string,
    options?: { cause?: unknown },
  ) {
    super(
      `${operation} reverted${errorName === undefined ? "" : `: ${errorName}(${errorArgs.map(String).join(", ")})`}` +
        (txHash === undefined ? "" : ` in ${txHash}`),
      options,
    );
  }
}

/** The node refused the transaction for a reason retrying cannot fix (insufficient funds, bad signature, …). */
export class TransactionRejectedError extends Error {
  override readonly name = "TransactionRejectedError";
  constructor(
    readonly operation: string,
    readonly code: string,
    options?: { cause?: unknown },
  ) {
    super(`${operation}: transaction rejected (${code})`, options);
  }
}

/** Fees stayed above the configured cap for longer than the caller was willing to wait. */
export class GasPriceAboveCapError extends Error {
  override readonly name = "GasPriceAboveCapError";
  constructor(
    readonly neededWei: bigint,
    readonly capWei: bigint,
  ) {
    super(`fee ${neededWei} wei/gas is above the cap of ${capWei} wei/gas`);
  }
}

/**
 * The nonce of a signed transaction was consumed by another transaction (replaced, or sent by another process
 * with the same key). The caller re-reads chain state: the action may or may not have happened.
 */
export class TransactionReplacedError extends Error {
  override readonly name = "TransactionReplacedError";
  constructor(
    readonly hash: string,
    readonly nonce: number,
  ) {
    super(`transaction ${hash} (nonce ${nonce}) was replaced by another transaction with the same nonce`);
  }
}

/** A send was asked of a chain connection that has no signer (a read-only keeper). */
export class NoSignerError extends Error {
  override readonly name = "NoSignerError";
  constructor() {
    super("this chain connection has no private key: it can read but not send");
  }
}
