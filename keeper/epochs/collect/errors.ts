/**
 * Failures of epoch collection. One class per failure, with the fields a caller needs; `code` is stable for API
 * and wire responses.
 */

/** The epoch was never closed (or never published, for a proof source). */
export class EpochUnknownError extends Error {
  override readonly name = "EpochUnknownError";
  readonly code = "EPOCH_UNKNOWN";
  constructor(readonly epoch: number) {
    super(`epoch ${epoch} is unknown (not closed or not published)`);
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
