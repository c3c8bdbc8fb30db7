/**
 * When this keeper signs another keeper's epoch commitment (DESIGN §3a): only for our deployment's quorum, only for
 * an epoch we closed ourselves, and only when the commitment is the one we build from our own closed epoch — the
 * same task root (so every task record we coordinated or pulled is in it), the same reward root, ΣC and R_total
 * (so every receipt we hold counted exactly as we count it) and the same evidence hash. Keepers gather each other's
 * evidence before they close (exchange/), so honest keepers build the same epoch; a submitter that left our records
 * out, or added any, gets a `mismatch` and no signature.
 *
 * The reports root (`reports: "observations"`, the default): Reputation reports are merged from the keepers'
 * signed health observations (observe/). We pull the set the submitter merged from it, check every signature and
 * observer, check that every observation we signed for the epoch is in it unchanged, merge it by the same rule and
 * sign only if the root of those reports (under our epoch's bond rule) is the requested one. So no single keeper
 * decides a report, and a submitter that dropped our observations gets no signature from us. `"strict"` demands
 * our own merged reports instead; `"submitter"` (an explicit opt-out, the old behaviour) signs the submitter's
 * reports root as given.
 */
import { getAddress } from "ethers";

import type { Chain } from "../../chain/index.ts";
import type { Logger } from "../../logger.ts";
import type { BuiltEpoch, ReputationReport } from "../types.ts";
import { commitmentDigest, quorumDomain, type EpochCommitment } from "./commitment.ts";
import type { Approval, SignatureRequest } from "./protocol.ts";

/** The submitter's observation set, checked: its merged reports, or why it is refused (observe/observer.ts). */
export type ObservationCheck = { reports: ReputationReport[] } | { problem: string };

export interface QuorumApproverComponents {
  chain: Chain;
  logger: Logger;
  /** Our own build of `epoch`, undefined when we have not closed it. */
  builtEpoch(epoch: number, options: { signal: AbortSignal }): Promise<BuiltEpoch | undefined>;
  /** The commitment the submission would send for `built` (submit/submitter.ts `quorumCommitmentOf`). */
  commitmentOf(built: BuiltEpoch): EpochCommitment;
  /**
   * The reports merged from the observation set `peer` (the submitter) holds for `epoch`, checked (observe/
   * observer.ts `check`) and under our epoch's bond rule. Absent: the "observations" mode signs only our own
   * reports (as "strict").
   */
  submitterReports?(peer: string, epoch: number, options: { signal: AbortSignal }): Promise<ObservationCheck>;
}

export interface QuorumApproverInit {
  /**
   * Which Reputation reports root to sign: the one merged from the submitter's checked observations (default), only
   * our own ("strict"), or the submitter's as given ("submitter", an explicit opt-out: one keeper's word).
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

export class QuorumApprover {
  private readonly log: Logger;

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
    if (
      contracts.EpochQuorum === undefined ||
      request.chainId !== chainId ||
      getAddress(request.quorum) !== contracts.EpochQuorum
    ) {
      return { code: "wrong-deployment", reason: `this keeper signs for chain ${chainId}'s quorum only` };
    }
    const epoch = Number(request.commitment.epoch);
    const built = await this.components.builtEpoch(epoch, options);
    if (built === undefined) return { code: "not-closed", reason: `epoch ${epoch} is not closed here yet` };
    const ours = this.components.commitmentOf(built);
    let commitment = ours;
    const mode = this.init.reports ?? "observations";
    if (mode === "submitter") commitment = { ...ours, reportsRoot: request.commitment.reportsRoot };
    else if (mode === "observations" && this.components.submitterReports !== undefined) {
      if (options.peer === undefined) return { code: "mismatch", reason: "no submitter to read observations from" };
      let checked: ObservationCheck;
      try {
        checked = await this.components.submitterReports(options.peer, epoch, options);
      } catch (err) {
        options.signal.throwIfAborted();
        return { code: "not-closed", reason: `the submitter's observations: ${(err as Error).message}` };
      }
      if ("problem" in checked) {
        this.log.warn("submitter's observations refused: not signed", { epoch, problem: checked.problem });
        return { code: "mismatch", reason: `observations: ${checked.problem}` };
      }
      const merged = { ...built, bundle: { ...built.bundle, reputation: checked.reports } };
      commitment = { ...ours, reportsRoot: this.components.commitmentOf(merged).reportsRoot };
    }
    const differ = differingFields(commitment, request.commitment);
    if (differ.length > 0) {
      this.log.warn("epoch commitment differs from ours: not signed", { epoch, fields: differ.join(",") });
      return { code: "mismatch", reason: `differs from this keeper's epoch in ${differ.join(", ")}` };
    }
    const digest = commitmentDigest(quorumDomain(chainId, contracts.EpochQuorum), commitment);
    this.log.info("epoch commitment signed", { epoch });
    return { signer: getAddress(me), signature: chain.signDigest(digest) };
  }
}

/** Factory in the keeper's component style: `quorumApprover(init)(components)`. */
export function quorumApprover(
  init: QuorumApproverInit = {},
): (components: QuorumApproverComponents) => QuorumApprover {
  return (components) => new QuorumApprover(components, init);
}
