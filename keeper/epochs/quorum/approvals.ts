/**
 * The quorum's word on an epoch: its latest `EpochApproved` event (EpochQuorum), read backwards from the tip in
 * windows of APPROVAL_LOG_WINDOW blocks (RPC providers cap a log query's block range) down to the deployment block.
 * An epoch asked about is recent, so the first windows find it. Used by adoption (the evidence hash, adopt.ts) and
 * the challenge judge (the digest, challenge/resolver.ts).
 */
import type { Chain } from "../../chain/index.ts";
import { APPROVAL_LOG_WINDOW } from "../constants.ts";

/** The latest EpochApproved of an epoch: the digest the quorum approved and the evidence hash it names. */
export interface EpochApproval {
  digest: string;
  evidenceHash: string;
}

/** The quorum's latest approval of `epoch`; undefined without a quorum or an approval. */
export async function latestApproval(
  chain: Pick<Chain, "contracts" | "deployment" | "read" | "provider">,
  epoch: number,
  options: { signal?: AbortSignal } = {},
): Promise<EpochApproval | undefined> {
  const quorum = chain.contracts.epochQuorum;
  if (quorum === undefined) return undefined;
  const tip = await chain.read("blockNumber", () => chain.provider.getBlockNumber(), options);
  const floor = chain.deployment.deploymentBlock;
  for (let to = tip; to >= floor; to -= APPROVAL_LOG_WINDOW) {
    const from = Math.max(floor, to - APPROVAL_LOG_WINDOW + 1);
    const approvals = await chain.read(
      "EpochQuorum.EpochApproved",
      () => quorum.queryFilter(quorum.filters.EpochApproved(epoch), from, to),
      options,
    );
    const latest = approvals.at(-1);
    if (latest !== undefined) return { digest: latest.args.digest, evidenceHash: latest.args.evidenceHash };
  }
  return undefined;
}
