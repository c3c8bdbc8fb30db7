/**
 * Runs the rotation for closed epochs: the designated keeper submits at once; every other eligible keeper
 * waits for its turn (submit/rotation.ts) while watching the chain, takes over if the epoch is still not on chain
 * when its turn comes, and otherwise checks the submitted roots against its own (alarm on mismatch).
 */
import type { Chain } from "../../chain/index.ts";
import { sleep } from "../../chain/index.ts";
import type { Logger } from "../../logger.ts";
import { eligibleKeepers, submitterOrder, turnStartsAt } from "./rotation.ts";
import { SUBMIT_RETRY_MS, TAKEOVER_DEADLINE_MS, TURN_POLL_MS } from "./constants.ts";
import { InsufficientRewardError, PreviousEpochPendingError } from "./errors.ts";
import { QuorumNotReachedError } from "../quorum/errors.ts";
import type { EpochSubmitter, SubmitResult, VerifyResult } from "./submitter.ts";
import type { BuiltEpoch } from "../types.ts";

export interface EpochTurnsInit {
  /** Addresses of the network's keepers (checked against KEEPER_ROLE on chain). */
  keepers: readonly string[];
  /** Takeover delay per rank. Default TAKEOVER_DEADLINE_MS. */
  takeoverDeadlineMs?: number;
  pollMs?: number;
  retryMs?: number;
}

export interface EpochTurnsComponents {
  chain: Chain;
  submitter: EpochSubmitter;
  logger: Logger;
}

export interface TurnOutcome {
  epoch: number;
  /** "submitted": we sent (designated or takeover); "verified": someone else did, we checked. */
  role: "submitted" | "verified";
  takeover: boolean;
  submit?: SubmitResult;
  verify: VerifyResult;
}

export class EpochTurns {
  private readonly log: Logger;
  private readonly controller = new AbortController();

  constructor(
    private readonly components: EpochTurnsComponents,
    private readonly init: EpochTurnsInit,
  ) {
    this.log = components.logger.child("epochs:turns");
  }

  async start(): Promise<void> {}

  async stop(): Promise<void> {
    this.controller.abort(new Error("epoch turns stopped"));
  }

  /**
   * Sees `built` onto the chain: resolves once the epoch is on chain (submitted by us or verified). Retries
   * through pool underfunding, RPC outages and a still-open previous epoch until `signal` aborts; every retry is
   * reported to `onRetry` (the operator's failure metric).
   * `closedAtMs` (default: the epoch's end) is when the designated keeper's turn starts.
   */
  async handle(
    built: BuiltEpoch,
    options: { signal?: AbortSignal; closedAtMs?: number; onRetry?: (err: Error) => void } = {},
  ): Promise<TurnOutcome> {
    const signal =
      options.signal === undefined ? this.controller.signal : AbortSignal.any([options.signal, this.controller.signal]);
    const { chain, submitter } = this.components;
    const epoch = built.bundle.epoch;
    const me = chain.address;
    const keepers = await eligibleKeepers(chain, this.init.keepers, { signal });
    const closedAt = options.closedAtMs ?? built.bundle.endMs;
    const deadline = this.init.takeoverDeadlineMs ?? TAKEOVER_DEADLINE_MS;
    const myTurn = me === undefined ? undefined : turnStartsAt(epoch, me, keepers, closedAt, deadline);
    const designated = submitterOrder(epoch, keepers)[0];
    this.log.info("epoch turn", {
      epoch,
      designated,
      me: me ?? "read-only",
      turnInMs: myTurn === undefined ? null : myTurn - Date.now(),
    });

    for (;;) {
      if (await submitter.isSubmitted(epoch, { signal })) {
        const verify = await submitter.verify(built, { signal });
        return { epoch, role: "verified", takeover: false, verify };
      }
      const now = Date.now();
      if (myTurn !== undefined && now >= myTurn) {
        const takeover = me !== designated;
        if (takeover) this.log.warn("submitter silent, taking over", { epoch, designated, me });
        try {
          const submit = await submitter.submit(built, { signal });
          const verify = await submitter.verify(built, { signal });
          return { epoch, role: "submitted", takeover, submit, verify };
        } catch (err) {
          if (!(
            err instanceof InsufficientRewardError ||
            err instanceof PreviousEpochPendingError ||
            // Keepers down or not closed yet: ask again later (the takeover order still runs meanwhile).
            err instanceof QuorumNotReachedError ||
            (err as Error).name === "RpcUnavailableError"
          ))
            throw err;
          options.onRetry?.(err as Error);
          this.log.warn("epoch not submitted yet, will retry", { epoch, reason: (err as Error).message });
          await sleep(this.init.retryMs ?? SUBMIT_RETRY_MS, { signal });
          continue;
        }
      }
      const pollMs = this.init.pollMs ?? TURN_POLL_MS;
      await sleep(myTurn === undefined ? pollMs : Math.max(1, Math.min(pollMs, myTurn - now)), { signal });
    }
  }
}

/** Factory in the keeper's component style: `epochTurns(init)({ chain, submitter, logger })`. */
export function epochTurns(init: EpochTurnsInit): (components: EpochTurnsComponents) => EpochTurns {
  return (components) => new EpochTurns(components, init);
}
