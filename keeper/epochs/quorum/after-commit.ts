/**
 * After a commitment lands (docs/epochs.md "After a commitment", review finding H-2): a keeper that signed an epoch
 * rebuilt from another keeper's observation set (approve.ts) still holds its own finalize of that epoch — leaf
 * indices handed to accounts the committed set never credited (or not to those it did), paid channels the chain
 * never counted — so its later epochs would build other reward roots than the keepers that finalized the committed
 * set, and it would refuse their rebuilds. Once the chain holds the commitment, the keeper makes the set it signed
 * under its own and re-finalizes the epoch (and every closed epoch after it) from it.
 */
import type { Logger } from "../../logger.ts";
import type { SignedObservation } from "../observe/observation.ts";
import type { EpochBundle } from "../types.ts";

export interface AfterCommitComponents {
  logger: Logger;
  /** The set we signed a rebuilt commitment of `epoch` with evidence hash `evidenceHash` under (approve.ts). */
  signedUnder(epoch: number, evidenceHash: string): SignedObservation[] | undefined;
  /** Makes `set` the epoch's observation set (observe/observer.ts `adopt`). */
  adoptSet(epoch: number, set: readonly SignedObservation[]): void;
  /** Re-finalizes the epoch and every closed epoch after it (collect/collector.ts `refinalize`). */
  refinalize(epoch: number, options: { signal?: AbortSignal }): Promise<EpochBundle>;
}

/**
 * Re-finalizes our `epoch` from the observation set the chain's commitment (the quorum's approved evidence hash
 * `approvedEvidence`, which binds the set) was approved under, when we signed it as a rebuild from that set. Returns
 * the new bundle, undefined when there was nothing to do (we signed our own epoch, or not this commitment).
 */
export async function refinalizeFromCommitted(
  components: AfterCommitComponents,
  epoch: number,
  approvedEvidence: string,
  options: { signal?: AbortSignal } = {},
): Promise<EpochBundle | undefined> {
  const set = components.signedUnder(epoch, approvedEvidence);
  if (set === undefined) return undefined;
  components.adoptSet(epoch, set);
  const bundle = await components.refinalize(epoch, options);
  components.logger
    .child("epochs:quorum:after-commit")
    .info("epoch re-finalized from the committed observation set", { epoch, observations: set.length });
  return bundle;
}
