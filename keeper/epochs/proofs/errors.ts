/**
 * Failures of epoch publication and proof serving. One class per failure, with the fields a
 * caller needs; `code` is stable for API and wire responses.
 */

/** The account has no leaf in the epoch's reward tree. */
export class AccountNotInEpochError extends Error {
  override readonly name = "AccountNotInEpochError";
  readonly code = "ACCOUNT_NOT_IN_EPOCH";
  constructor(
    readonly epoch: number,
    readonly account: string,
  ) {
    super(`account ${account} has no reward in epoch ${epoch}`);
  }
}

/** A published epoch directory is missing a file or holds one that does not parse as expected. */
export class PublishedEpochError extends Error {
  override readonly name = "PublishedEpochError";
  readonly code = "PUBLISHED_EPOCH_INVALID";
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(`${path}: ${reason}`);
  }
}

/** A request for a proof was malformed (bad epoch number or address). */
export class ProofRequestError extends Error {
  override readonly name = "ProofRequestError";
  readonly code = "BAD_REQUEST";
  constructor(reason: string) {
    super(reason);
  }
}

/** A remote proof source (HTTP keeper or libp2p peer) answered with an error. */
export class RemoteProofError extends Error {
  override readonly name = "RemoteProofError";
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}
