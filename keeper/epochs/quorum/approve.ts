/**
 * When this keeper signs another keeper's epoch commitment (DESIGN §3a): only for our deployment's quorum, only for
 * an epoch we closed ourselves, and only when the commitment is the one we build from our own closed epoch — the
 * same task root (so every task record we coordinated or pulled is in it), the same reward root, ΣC and R_total
 * (so every receipt we hold counted exactly as we count it), the same reports and the same evidence hash. Keepers
 * gather each other's evidence before they close (exchange/), so honest keepers build the same epoch; a submitter
 * that left our records out, or added any, gets a `mismatch` and no signature.
 *
 * Reputation reports are the exception, for now: each keeper counts the health failures it observed itself, so two
 * honest keepers' reports differ, and a strict check would never reach a quorum. Until health outcomes are signed
 * by their observers and merged (issue 12 §1), we sign the submitter's reports root as given (`reports:
 * "submitter"`, the default) — the one field of the commitment a single keeper still decides; docs/security.md says
 * what that allows. `reports: "strict"` demands our own.
 */
import { getAddress } from "ethers";

import type { Chain } from "../../chain/index.ts";
import type { Logger } from "../../logger.ts";
import type { BuiltEpoch } from "../types.ts";
import { commitmentDigest, quorumDomain, type EpochCommitment } from "./commitment.ts";
import type { Approval, SignatureRequest } from "./protocol.ts";

export interface QuorumApproverComponents {
  chain: Chain;
  logger: Logger;
  /** Our own build of `epoch`, undefined when we have not closed it. */
  builtEpoch(epoch: number, options: { signal: AbortSignal }): Promise<BuiltEpoch | undefined>;
  /** The commitment the submission would send for `built` (submit/submitter.ts `quorumCommitmentOf`). */
  commitmentOf(built: BuiltEpoch): EpochCommitment;
}

export interface QuorumApproverInit {
  /** Whose Reputation reports root to sign: the submitter's (default, see above) or only our own ("strict"). */
  reports?: "submitter" | "strict";
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

  async approve(request: SignatureRequest, options: { signal: AbortSignal }): Promise<Approval> {
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
    const commitment = this.init.reports === "strict" ? ours : { ...ours, reportsRoot: request.commitment.reportsRoot };
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
