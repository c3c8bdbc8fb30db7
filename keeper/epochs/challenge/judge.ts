/**
 * A keeper's verdict on a challenge of epoch E (docs/epochs.md "Challenges resolved by the keepers"): would it have
 * signed what the chain holds? The quorum's `EpochApproved` event of E names the digest of the commitment that was
 * committed. The keeper rebuilds its own closed epoch E — as it built it, and from every observation set it accepts
 * (its own, and each other keeper's that passes the approver's check, observe/observer.ts `check`) with C_i, R_total
 * and the reports recomputed from it (quorum/rebuild.ts) — and compares each commitment's digest with the approved one:
 *
 *   some rebuild has the approved digest  → reject the challenge (the keeper would have signed that epoch);
 *   none has it, every keeper answered    → uphold it (the committed epoch is not one the keeper would sign);
 *   otherwise (not closed here, no approval on chain, a keeper's set unreadable) → abstain, asked again later.
 *
 * So honest keepers judge a challenge by the rule by which they sign commitments, and reach the same verdict when
 * they hold the same evidence.
 */
import type { TypedDataDomain } from "ethers";

import type { ObservationCheck } from "../observe/observer.ts";
import type { SignedObservation } from "../observe/observation.ts";
import { commitmentDigest, type EpochCommitment } from "../quorum/commitment.ts";
import type { BuiltEpoch } from "../types.ts";

export type Verdict = { upheld: boolean; reason: string } | { abstain: string };

export interface ChallengeJudgeComponents {
  /** The quorum's EIP-712 domain (the digests compared). */
  domain: TypedDataDomain;
  /** The digest of the latest EpochApproved of `epoch`, undefined when the quorum approved none. */
  approvedDigest(epoch: number, options: { signal: AbortSignal }): Promise<string | undefined>;
  /** Our own build of `epoch`, undefined when we have not closed it. */
  builtEpoch(epoch: number, options: { signal: AbortSignal }): Promise<BuiltEpoch | undefined>;
  /** The commitment the submission would send for `built` (as the approver computes it). */
  commitmentOf(built: BuiltEpoch): EpochCommitment;
  /**
   * Under merged observations: our own sealed set of `epoch`, the other keepers' sets checked (`unreachable`: how many
   * could not be read), and our epoch rebuilt from a set. Absent: only our epoch as built is compared.
   */
  observations?: {
    own(epoch: number): SignedObservation[];
    others(
      epoch: number,
      options: { signal: AbortSignal },
    ): Promise<{ checks: ObservationCheck[]; unreachable: number }>;
    rebuild(
      built: BuiltEpoch,
      observations: SignedObservation[],
      options: { signal: AbortSignal },
    ): Promise<BuiltEpoch>;
  };
}

export class ChallengeJudge {
  constructor(private readonly components: ChallengeJudgeComponents) {}

  async judge(epoch: number, options: { signal: AbortSignal }): Promise<Verdict> {
    const c = this.components;
    const approved = await c.approvedDigest(epoch, options);
    if (approved === undefined) return { abstain: `no EpochApproved of epoch ${epoch} on chain` };
    const built = await c.builtEpoch(epoch, options);
    if (built === undefined) return { abstain: `epoch ${epoch} is not closed here` };
    const matches = (b: BuiltEpoch) =>
      commitmentDigest(c.domain, c.commitmentOf(b)).toLowerCase() === approved.toLowerCase();
    if (matches(built)) return { upheld: false, reason: "the committed epoch is this keeper's own" };
    if (c.observations === undefined)
      return { upheld: true, reason: "the committed epoch differs from this keeper's own" };
    const { checks, unreachable } = await c.observations.others(epoch, options);
    const sets = [c.observations.own(epoch), ...checks.flatMap((k) => ("observations" in k ? [k.observations] : []))];
    for (const set of sets) {
      try {
        if (matches(await c.observations.rebuild(built, set, options)))
          return { upheld: false, reason: "the committed epoch is this keeper's, rebuilt from an accepted set" };
      } catch (err) {
        options.signal.throwIfAborted();
        // A set this keeper cannot rebuild from is not one it would have signed under.
        void err;
      }
    }
    if (unreachable > 0) return { abstain: `${unreachable} keeper(s)' observation sets could not be read` };
    return { upheld: true, reason: "no observation set this keeper accepts rebuilds the committed epoch" };
  }
}

/** Factory in the keeper's component style: `challengeJudge()(components)`. */
export function challengeJudge(): (components: ChallengeJudgeComponents) => ChallengeJudge {
  return (components) => new ChallengeJudge(components);
}
