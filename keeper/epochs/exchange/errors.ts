/**
 * Failures of the evidence exchange. `penalise` says whether the peer broke the protocol (and is penalised) or
 * the exchange merely failed (a refusal, a timeout, a closed stream).
 */

export class EpochExchangeError extends Error {
  override readonly name = "EpochExchangeError";
  constructor(
    message: string,
    readonly penalise: boolean,
  ) {
    super(message);
  }
}

/** The asking peer is not a registered keeper: refused unseen, not penalised. */
export class NotAKeeperError extends EpochExchangeError {
  constructor() {
    super("not a registered keeper", false);
  }
}

/** Observations of an epoch this keeper has not frozen yet were asked for: ask again later, not penalised. */
export class EpochNotFrozenError extends EpochExchangeError {
  constructor(readonly epoch: number) {
    super(`epoch ${epoch} not frozen here yet`, false);
  }
}
