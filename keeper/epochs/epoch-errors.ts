/**
 * Failures of epoch collection, publication and proof serving. One class per failure, with the fields a
 * caller needs; `code` is stable for API and wire responses.
 */

/** The epoch was never closed (or never published, for a proof source). */
export class EpochUnknownError extends Error {
  override readonly name = "EpochUnknownError";
  readonly code = "EPOCH_UNKNOWN";
  constructor(readonly epoch: number) {
    super(`epoch ${epoch} is unknown (not closed or not published)`);
  }
}

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

/** An epoch close was asked for a window that does not follow the previous one. */
export class EpochWindowError extends Error {
  override readonly name = "EpochWindowError";
  readonly code = "EPOCH_WINDOW";
  constructor(
    readonly epoch: number,
    readonly startMs: number,
    readonly endMs: number,
  ) {
    super(`epoch ${epoch} cannot close at ${endMs}: it started at ${startMs}`);
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

/** The cron expression of the epoch schedule does not parse. */
export class EpochScheduleError extends Error {
  override readonly name = "EpochScheduleError";
  constructor(readonly expression: string) {
    super(`invalid epoch cron expression "${expression}"`);
  }
}
