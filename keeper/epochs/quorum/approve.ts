/**
 * When this keeper signs another keeper's epoch commitment (DESIGN §3a): only for our deployment's quorum, only for
 * an epoch we closed ourselves, and only when the commitment is the one we build from our own closed epoch — the
 * same task root (so every task record we coordinated or pulled is in it), the same reward root, ΣC and R_total
 * (so every receipt we hold counted exactly as we count it) and the same evidence hash. Keepers gather each other's
 * evidence before they close (exchange/), so honest keepers build the same epoch; a submitter that left our records
 * out, or added any, gets a `mismatch` and no signature.
 *
 * Observations (`reports: "observations"`, the default): the merged health observations (observe/) make the
 * Reputation reports and weigh C_i. We pull the set the submitter merged from it and check it (observe/observer.ts
 * `check`: every signature, every observer a quorum keeper, every observation we signed present unchanged, and none
 * we hold from another quorum keeper left out); then we rebuild our own epoch with that set in place of ours
 * (rebuild.ts) — C_i, R_total and the reports recomputed from our receipts and its observations — and sign only if
 * the commitment equals that rebuild. So keepers that sealed different sets (one missed a keeper during the gather)
 * still sign the same honest proposal (review finding H2), no single keeper decides a report, and a submitter that
 * dropped observations we hold gets no signature from us — but gets them back with the refusal, to join and ask
 * again (a union round, review H-1). The sets we signed rebuilds under are remembered (`signedUnder`): once the
 * chain holds such a commitment our epoch is re-finalized from that set (after-commit.ts, review H-2). `"strict"` demands our own epoch as built instead;
 * `"submitter"` (an explicit opt-out, the old behaviour) signs the submitter's reports root as given.
 */
import { createHash } from "node:crypto";

import { getAddress } from "ethers";

import type { Chain } from "../../chain/index.ts";
import type { Logger } from "../../logger.ts";
import { observationKey, sameObservation, type SignedObservation } from "../observe/observation.ts";
import type { ObservationCheck } from "../observe/observer.ts";
import type { BuiltEpoch } from "../types.ts";
import { commitmentDigest, namesDeployment, quorumDomain, type EpochCommitment } from "./commitment.ts";
import { EpochRebuildError } from "./errors.ts";
import type { Approval, SignatureRequest } from "./protocol.ts";

/** Where an approver reads the submitter's observations and what it rebuilds from them. */
export interface SubmitterObservations {
  /** The observation set `peer` (the submitter) merged for `epoch`, pulled and checked. */
  of(peer: string, epoch: number, options: { signal: AbortSignal }): Promise<ObservationCheck>;
  /** Our own `built` epoch with C_i, R_total and the reports recomputed from `observations` (rebuild.ts). */
  rebuild(built: BuiltEpoch, observations: SignedObservation[], options: { signal: AbortSignal }): Promise<BuiltEpoch>;
  /** The observation set our own epoch was finalized from (sealed). */
  own(epoch: number): SignedObservation[];
}

export interface QuorumApproverComponents {
  chain: Chain;
  logger: Logger;
  /** Our own build of `epoch`, undefined when we have not closed it. */
  builtEpoch(epoch: number, options: { signal: AbortSignal }): Promise<BuiltEpoch | undefined>;
  /** The commitment the submission would send for `built` (submit/submitter.ts `quorumCommitmentOf`). */
  commitmentOf(built: BuiltEpoch): EpochCommitment;
  /**
   * The submitter's observations and our rebuild from them. Absent: the "observations" mode signs only our own epoch
   * as built (as "strict").
   */
  observations?: SubmitterObservations;
}

export interface QuorumApproverInit {
  /**
   * Which observation set to sign under: the submitter's, checked, with C_i and the reports rebuilt from it
   * (default); only our own epoch as built ("strict"); or our own C_i with the submitter's reports root as given
   * ("submitter", an explicit opt-out: one keeper's word).
   */
  reports?: "observations" | "strict" | "submitter";
}

const FIELDS: readonly (keyof EpochCommitment)[] = [
  "epoch",
  "taskRoot",
  "taskCount",
  "taskUri",
  "rewardRoot",
  "totalContribution",
  "rewardTotal",
  "reportsRoot",
  "evidenceHash",
];

/** The fields in which two commitments differ. */
export function differingFields(a: EpochCommitment, b: EpochCommitment): string[] {
  const norm = (v: unknown) => (typeof v === "string" ? v.toLowerCase() : v);
  return FIELDS.filter((f) => norm(a[f]) !== norm(b[f]));
}

/** Epochs whose self-check (`underObservations`) is remembered: the few around the chain's open epoch. */
const FAITHFUL_MEMORY = 16;

/** Whether two observation sets hold the same signed observations. */
function sameSet(a: readonly SignedObservation[], b: readonly SignedObservation[]): boolean {
  if (a.length !== b.length) return false;
  const byKey = new Map(a.map((o) => [observationKey(o), o]));
  return b.every((o) => {
    const mine = byKey.get(observationKey(o));
    return mine !== undefined && sameObservation(mine, o);
  });
}

/** A set's identity: its observations' keys and signatures, sorted, hashed. */
function setKey(set: readonly SignedObservation[]): string {
  const lines = set.map((o) => `${observationKey(o)}/${o.signature.toLowerCase()}`).sort();
  return createHash("sha256").update(lines.join("\n")).digest("hex");
}

export class QuorumApprover {
  private readonly log: Logger;
  /** Per epoch: whether our rebuild from our own set reproduces our own epoch. */
  private readonly faithful = new Map<number, boolean>();
  /** Commitments rebuilt from other keepers' sets, by epoch and set (`setKey`). */
  private readonly rebuilt = new Map<string, EpochCommitment>();
  /** The sets we signed rebuilt commitments under, by epoch and evidence hash (`signedUnder`). */
  private readonly signedSets = new Map<string, SignedObservation[]>();

  constructor(
    private readonly components: QuorumApproverComponents,
    private readonly init: QuorumApproverInit = {},
  ) {
    this.log = components.logger.child("epochs:quorum:approve");
  }

  /** `options.peer`: the asking keeper's peer id (whose observations the reports are rebuilt from). */
  async approve(request: SignatureRequest, options: { signal: AbortSignal; peer?: string }): Promise<Approval> {
    const { chain } = this.components;
    const me = chain.address;
    if (me === undefined) return { code: "no-key", reason: "this keeper has no chain key" };
    const { chainId, contracts } = chain.deployment;
    if (!namesDeployment(chain.deployment, request) || contracts.EpochQuorum === undefined) {
      return { code: "wrong-deployment", reason: `this keeper signs for chain ${chainId}'s quorum only` };
    }
    const epoch = Number(request.commitment.epoch);
    const built = await this.components.builtEpoch(epoch, options);
    if (built === undefined) return { code: "not-closed", reason: `epoch ${epoch} is not closed here yet` };
    const ours = this.components.commitmentOf(built);
    let commitment = ours;
    /** The submitter's set, when what we sign was rebuilt from it rather than being our own epoch. */
    let underSet: SignedObservation[] | undefined;
    const mode = this.init.reports ?? "observations";
    if (mode === "submitter") commitment = { ...ours, reportsRoot: request.commitment.reportsRoot };
    else if (mode === "observations" && this.components.observations !== undefined) {
      if (options.peer === undefined) return { code: "mismatch", reason: "no submitter to read observations from" };
      const source = this.components.observations;
      let checked: ObservationCheck;
      try {
        checked = await source.of(options.peer, epoch, options);
      } catch (err) {
        options.signal.throwIfAborted();
        return { code: "not-closed", reason: `the submitter's observations: ${(err as Error).message}` };
      }
      if ("problem" in checked) {
        this.log.warn("submitter's observations refused: not signed", { epoch, problem: checked.problem });
        // What the set lacks goes back with the refusal: the submitter joins it and asks again (a union round).
        return {
          code: "mismatch",
          reason: `observations: ${checked.problem}`,
          ...(checked.missing !== undefined && checked.missing.length > 0 && { observations: checked.missing }),
        };
      }
      try {
        commitment = await this.underObservations(epoch, built, ours, checked.observations, source, options);
        if (commitment !== ours) underSet = checked.observations;
      } catch (err) {
        options.signal.throwIfAborted();
        if (!(err instanceof EpochRebuildError)) throw err;
        this.log.warn("epoch not rebuilt from the submitter's observations: not signed", { epoch, reason: err.reason });
        return { code: "mismatch", reason: `observations: ${err.reason}` };
      }
    }
    const differ = differingFields(commitment, request.commitment);
    if (differ.length > 0) {
      this.log.warn("epoch commitment differs from ours: not signed", { epoch, fields: differ.join(",") });
      return { code: "mismatch", reason: `differs from this keeper's epoch in ${differ.join(", ")}` };
    }
    const digest = commitmentDigest(quorumDomain(chainId, contracts.EpochQuorum), commitment);
    if (underSet !== undefined) this.remember(epoch, commitment.evidenceHash, underSet);
    this.log.info("epoch commitment signed", { epoch });
    return { signer: getAddress(me), signature: chain.signDigest(digest) };
  }

  /**
   * The observation set we signed a rebuilt commitment of `epoch` under whose evidence hash is `evidenceHash` (it
   * binds the set, review M-3; a reward root would not: sets differing in reports only share it): once the chain
   * holds that commitment, our own epoch is re-finalized from it (docs/epochs.md "After a commitment"). Undefined
   * when we signed no rebuild with that evidence hash (our own epoch was signed, or we did not sign).
   */
  signedUnder(epoch: number, evidenceHash: string): SignedObservation[] | undefined {
    return this.signedSets.get(`${epoch}/${evidenceHash.toLowerCase()}`);
  }

  private remember(epoch: number, evidenceHash: string, set: SignedObservation[]): void {
    this.signedSets.set(`${epoch}/${evidenceHash.toLowerCase()}`, set);
    if (this.signedSets.size > FAITHFUL_MEMORY) this.signedSets.delete(this.signedSets.keys().next().value!);
  }

  /**
   * Our commitment under the submitter's checked set: our own when the set is the one we sealed (nothing to
   * rebuild); else our rebuild from it — provided the rebuild reproduces our own epoch from our own set (it goes
   * through the verifier's code, and an input the verifier judges differently, such as a peer record received after
   * the window, would make every rebuild differ from every keeper's build: then we sign our own epoch only).
   */
  private async underObservations(
    epoch: number,
    built: BuiltEpoch,
    ours: EpochCommitment,
    theirs: SignedObservation[],
    source: SubmitterObservations,
    options: { signal: AbortSignal },
  ): Promise<EpochCommitment> {
    const own = source.own(epoch);
    if (sameSet(own, theirs)) return ours;
    let faithful = this.faithful.get(epoch);
    if (faithful === undefined) {
      const again = this.components.commitmentOf(await source.rebuild(built, own, options));
      faithful = differingFields(again, ours).length === 0;
      this.faithful.set(epoch, faithful);
      if (this.faithful.size > FAITHFUL_MEMORY) this.faithful.delete(this.faithful.keys().next().value!);
      if (!faithful)
        this.log.warn("our rebuild does not reproduce our own epoch: signing our own epoch only", {
          epoch,
          fields: differingFields(again, ours).join(","),
        });
    }
    if (!faithful) return ours;
    // A submitter asks again every few seconds until the quorum is reached: one rebuild per epoch and set.
    const key = `${epoch}/${ours.rewardRoot}/${ours.taskRoot}/${setKey(theirs)}`;
    const cached = this.rebuilt.get(key);
    if (cached !== undefined) return cached;
    const commitment = this.components.commitmentOf(await source.rebuild(built, theirs, options));
    this.rebuilt.set(key, commitment);
    if (this.rebuilt.size > FAITHFUL_MEMORY) this.rebuilt.delete(this.rebuilt.keys().next().value!);
    return commitment;
  }
}

/** Factory in the keeper's component style: `quorumApprover(init)(components)`. */
export function quorumApprover(
  init: QuorumApproverInit = {},
): (components: QuorumApproverComponents) => QuorumApprover {
  return (components) => new QuorumApprover(components, init);
}
