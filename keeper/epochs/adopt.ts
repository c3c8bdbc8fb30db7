/**
 * The chain's word over every keeper's own view. Keepers close their own windows, and with rotation the keeper
 * that commits epoch e commits ITS view of e; the others' views differ at the edges (a receipt one keeper
 * stamped just before its close, another just after). Counting from one's own view alone would credit such a
 * receipt twice (in e by the submitter, in e+1 by another) or never. So the chain's commitment is adopted:
 *
 * - After epoch e is on chain with roots other than ours, the evidence of the commitment (the receipt hashes
 *   it counted, served by any keeper whose published roots equal the chain's) replaces ours: receipts we counted
 *   but the chain did not are released to our next close; receipts the chain counted are never counted by us
 *   again (EpochCollector.adopt).
 * - Before a close, chain epochs this keeper never closed (it was down while others committed them) are
 *   mirrored the same way, so its next epoch — numbered after them — does not count their receipts again.
 *
 * Whose evidence is believed: with an EpochQuorum (every Ignition deployment), the quorum's EpochApproved event
 * names the epoch's evidence hash (its sorted receipt hashes, with the identity of its observation set that the
 * keeper's summary names, signed by t keepers with the roots: quorum/commitment.ts `evidenceHashOf`), and
 * only a list with exactly that hash is adopted: a keeper serving a root-matching summary with other hashes (which
 * would make us release receipts the chain already counted, paid twice, or skip ones it did not, never paid) is
 * passed over. Epochs committed without a quorum (a deployment with keepers holding KEEPER_ROLE directly) have no
 * such anchor, and their evidence is trusted as far as its roots (docs/security.md).
 */
import { ZeroHash } from "ethers";

import type { Chain } from "../chain/index.ts";
import type { Logger } from "../logger.ts";
import { RECEIPT_MAX_AGE_EPOCHS, type EpochCollector } from "./collect/collector.ts";
import type { ProofsService } from "./proofs/p2p.ts";
import { latestApproval } from "./quorum/approvals.ts";
import { evidenceHashOf } from "./quorum/commitment.ts";
import { rewardCommitmentOf } from "./submit/submitter.ts";

export class EvidenceUnavailableError extends Error {
  override readonly name = "EvidenceUnavailableError";
  constructor(
    readonly epoch: number,
    readonly root: string,
    readonly asked: number,
  ) {
    super(`no keeper of ${asked} asked serves the evidence of epoch ${epoch} (RewardPool root ${root})`);
  }
}

export interface EvidenceAdopterComponents {
  collector: EpochCollector;
  chain: Pick<Chain, "contracts" | "deployment" | "read" | "provider">;
  proofs: Pick<ProofsService, "fetchSummary" | "fetchEvidence">;
  /** Peer ids of the other keepers known now. */
  keepers: () => string[];
  logger: Logger;
  /**
   * After the chain's epoch is adopted: re-finalize ours from the observation set we approved the commitment
   * (the quorum's approved evidence hash `evidenceHash`, which binds the set) under, if we did
   * (quorum/after-commit.ts); resolves with whether it did (then every closed epoch after `epoch` was re-finalized
   * too).
   */
  afterCommit?(epoch: number, evidenceHash: string, options: { signal?: AbortSignal }): Promise<boolean>;
}

export class EvidenceAdopter {
  private readonly log: Logger;

  constructor(private readonly components: EvidenceAdopterComponents) {
    this.log = components.logger.child("epochs:adopt");
  }

  /** The receipt hashes chain epoch `epoch` counted. Throws EvidenceUnavailableError when nobody serves them. */
  async committedEvidence(epoch: number, options: { signal?: AbortSignal } = {}): Promise<Set<string>> {
    const { chain, proofs, keepers } = this.components;
    const [onChain] = await chain.read("RewardPool.epochOf", () => chain.contracts.rewardPool.epochOf(epoch), options);
    const root = onChain.root;
    if (root === ZeroHash) throw new Error(`epoch ${epoch} is not on chain`);
    const marker = rewardCommitmentOf(
      {
        bundle: { epoch, startMs: 0, endMs: 0, tasks: [], contributions: [], reputation: [], rewardTotal: 0n },
        totalContribution: 0n,
      },
      chain.deployment.contracts.RewardPool,
    );
    if (root === marker.root) return new Set();
    const approved = await this.approvedEvidenceHash(epoch, options);
    const peers = keepers();
    for (const peer of peers) {
      try {
        const summary = await proofs.fetchSummary(peer, epoch, options);
        if (summary.rewards?.root !== root) continue;
        const hashes = await proofs.fetchEvidence(peer, epoch, options);
        // The approved hash binds the observation set too (review M-3): the summary names the set's identity.
        const observed = summary.evidence?.observations;
        const set = typeof observed === "string" && /^0x[0-9a-fA-F]{64}$/.test(observed) ? observed : undefined;
        if (approved !== undefined && evidenceHashOf(hashes, set) !== approved) {
          this.log.warn("a keeper served evidence other than the quorum approved; passed over", { peer, epoch });
          continue;
        }
        return new Set(hashes);
      } catch (err) {
        options.signal?.throwIfAborted();
        this.log.debug("no evidence from a keeper", { peer, epoch, error: err as Error });
      }
    }
    throw new EvidenceUnavailableError(epoch, root, peers.length);
  }

  /** The evidence hash of the quorum's latest approval of `epoch`; undefined without a quorum or its approval. */
  private async approvedEvidenceHash(epoch: number, options: { signal?: AbortSignal }): Promise<string | undefined> {
    return (await latestApproval(this.components.chain, epoch, options))?.evidenceHash.toLowerCase();
  }

  /** Adopts the chain's epoch `epoch` over ours (see the header); re-finalizes later epochs it touched. */
  async adopt(epoch: number, options: { signal?: AbortSignal } = {}): Promise<{ reopened: number[] }> {
    const { collector } = this.components;
    const committed = await this.committedEvidence(epoch, options);
    const { reopened } = collector.adopt(epoch, committed);
    for (const e of reopened) await collector.finalize(e, options);
    const approved = this.components.afterCommit && (await this.approvedEvidenceHash(epoch, options));
    if (this.components.afterCommit !== undefined && approved) {
      // Re-finalized from the committed set: every later closed epoch was computed again (build them anew).
      if (await this.components.afterCommit(epoch, approved, options))
        return { reopened: [...new Set([...reopened, ...collector.closedEpochsAfter(epoch)])].sort((a, b) => a - b) };
    }
    return { reopened };
  }

  /**
   * Mirrors the chain epochs up to `chainLast` that this keeper never closed (at most the last
   * RECEIPT_MAX_AGE_EPOCHS: older receipts no longer count anywhere). Errors are per epoch: an epoch whose
   * evidence nobody serves is skipped (logged) and tried again at the next close.
   */
  async catchUp(chainLast: number, options: { signal?: AbortSignal } = {}): Promise<number> {
    const { collector } = this.components;
    let mirrored = 0;
    const from = Math.max(collector.lastClosedEpoch() + 1, chainLast - RECEIPT_MAX_AGE_EPOCHS + 1, 1);
    for (let e = from; e <= chainLast; e++) {
      if (collector.hasEpoch(e) || collector.isMirrored(e)) continue;
      try {
        mirrored += collector.mirror(e, await this.committedEvidence(e, options));
      } catch (err) {
        options.signal?.throwIfAborted();
        this.log.warn("could not mirror a chain epoch this keeper never closed", { epoch: e, error: err as Error });
      }
    }
    return mirrored;
  }
}

export function evidenceAdopter(): (components: EvidenceAdopterComponents) => EvidenceAdopter {
  return (components) => new EvidenceAdopter(components);
}
