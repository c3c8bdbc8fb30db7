/** Typed errors of the signed health observations. */

/** A signed observation that does not parse, does not verify, or names another epoch than the one asked. */
export class ObservationInvalidError extends Error {
  override readonly name = "ObservationInvalidError";
  readonly code = "ERR_OBSERVATION_INVALID" as const;
  constructor(readonly reason: string) {
    super(`health observation invalid: ${reason}`);
  }
}

/** A merge rule the keeper cannot apply (f not a small non-negative integer). */
export class ObservationRuleError extends Error {
  override readonly name = "ObservationRuleError";
  readonly code = "ERR_OBSERVATION_RULE" as const;
  constructor(reason: string) {
    super(`observation rule: ${reason}`);
  }
}

/** A keeper asked for its observations of an epoch has not frozen that epoch yet: ask again. */
export class ObservationsNotReadyError extends Error {
  override readonly name = "ObservationsNotReadyError";
  readonly code = "ERR_OBSERVATIONS_NOT_READY" as const;
  constructor(
    readonly peer: string,
    readonly epoch: number,
  ) {
    super(`${peer} has not frozen epoch ${epoch} yet`);
  }
}
