/**
 * Failures of the keeper quorum: gathering signatures for an epoch, and a peer's answer to a signature request.
 */

import type { SignedObservation } from "../observe/observation.ts";

/** Fewer than `needed` keepers signed the epoch before the deadline; the epoch stays pending and is retried. */
export class QuorumNotReachedError extends Error {
  override readonly name = "QuorumNotReachedError";
  constructor(
    readonly epoch: number,
    readonly signed: number,
    readonly needed: number,
    /** Why the others did not sign, by peer id (or address for ourselves). */
    readonly refusals: Readonly<Record<string, string>>,
    /**
     * Observations the refusing keepers hold and the submitted set lacks (the union round's material; parsed, not
     * verified yet: the submitter checks each before it joins its set).
     */
    readonly offered: readonly SignedObservation[] = [],
  ) {
    super(
      `epoch ${epoch}: ${signed} of the ${needed} keeper signatures needed` +
        (Object.keys(refusals).length > 0
          ? ` (${Object.entries(refusals)
              .map(([who, why]) => `${who.slice(-8)}: ${why}`)
              .join("; ")})`
          : ""),
    );
  }
}

/** A peer's signature request or answer broke the protocol; `penalise` says whether the peer is banned for it. */
export class QuorumProtocolError extends Error {
  override readonly name = "QuorumProtocolError";
  constructor(
    message: string,
    readonly penalise: boolean,
  ) {
    super(message);
  }
}

/** An approver cannot rebuild an epoch from the submitter's observation set (quorum/rebuild.ts): it does not sign. */
export class EpochRebuildError extends Error {
  override readonly name = "EpochRebuildError";
  constructor(
    readonly epoch: number,
    readonly reason: string,
  ) {
    super(`epoch ${epoch}: ${reason}`);
  }
}

/**
 * The submitter joined observations a union round brought to its set and re-finalized the epoch (docs/epochs.md
 * "Union rounds"): build it again, publish it again and submit that. `cause`: the refusals that brought them.
 */
export class EpochReclosedError extends Error {
  override readonly name = "EpochReclosedError";
  constructor(
    readonly epoch: number,
    readonly joined: number,
    options: { cause: QuorumNotReachedError },
  ) {
    super(
      `epoch ${epoch}: ${joined} observation(s) joined from the keepers' refusals; the epoch was re-finalized`,
      options,
    );
  }
}
