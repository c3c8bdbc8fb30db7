/**
 * Puts a built epoch on chain: TaskLog.commit, Reputation.applyReports (in batches), RewardPool.commitEpoch,
 * in that order, each exactly once however often the keeper crashes or several keepers try. With an EpochQuorum in
 * the deployment (every Ignition deployment), the three go through it: one EpochQuorum.commitEpoch with t keeper
 * signatures of the epoch's commitment (docs/PROTOCOL.md "Epoch signatures"), then the other report batches.
 *
 * Chain state is the only truth about what was submitted: before every transaction the contract is read
 * (TaskLog.rootOf / lastEpoch, Reputation.currentEpoch / nodeOf, RewardPool.epochOf / lastEpoch) and the step is
 * skipped when it is already there. The store's journal only settles transactions this keeper signed but did not
 * see the end of (a crash after broadcast, before the receipt was stored): they are resumed — waited for, or
 * rebroadcast with the same bytes — before anything new is sent. A second submission that races a first one is
 * refused by the contracts (consecutive epochs, one report per node and epoch), and the refusal sends the
 * submission back to reading the chain.
 *
 * Empty epochs keep keeper epoch = TaskLog epoch = RewardPool epoch: an epoch without tasks commits a one-record
 * "marker" to TaskLog, one without contributions a one-leaf, 1-wei marker to RewardPool (docs/epochs-chain.md).
 */
import { ZeroAddress, ZeroHash, getAddress, id, recoverAddress, type Interface } from "ethers";

import type { Chain, SignedTx } from "../../chain/index.ts";
import { ContractRevertError, EPOCH_STATUS } from "../../chain/index.ts";
import type { Logger } from "../../logger.ts";
import type { Store } from "../../store/index.ts";
import { buildTree, REWARD_LEAF_ENCODING, TASK_LEAF_ENCODING, type MerkleTree } from "../merkle/tree.ts";
import {
  commitmentDigest,
  evidenceHashOf,
  packSignatures,
  quorumDomain,
  reportBatchesOf,
  type EpochCommitment,
  type QuorumSignatureSource,
  type ReportBatches,
} from "../quorum/commitment.ts";
import type { SignedObservation } from "../observe/observation.ts";
import { EpochReclosedError, QuorumNotReachedError } from "../quorum/errors.ts";
import {
  MARKER_CONTRIBUTION,
  MARKER_REWARD_WEI,
  MARKER_URI,
  MAX_UNION_ROUNDS,
  REPUTATION_BATCH_NODES,
  REPUTATION_READ_CONCURRENCY,
} from "./constants.ts";
import {
  EpochRootMismatchError,
  EpochVetoedError,
  InsufficientRewardError,
  PreviousEpochPendingError,
} from "./errors.ts";
import { SubmitJournal, type StepName } from "./journal.ts";
import type { BuiltEpoch, ReputationReport, RewardLeafValue, TaskRecordValue } from "../types.ts";

export interface EpochSubmitterInit {
  /** Nodes per applyReports transaction. Default REPUTATION_BATCH_NODES. */
  reputationBatchNodes?: number;
  /** TaskLog URI of an epoch's published record set. Default `lumora:epoch/<epoch>/tasks`. */
  uriFor?: (built: BuiltEpoch) => string;
  /**
   * Called at every step boundary (`tasklog:signed`, `tasklog:sent`, `tasklog:done`, `reputation:<i>:…`,
   * `rewardpool:…`, `epoch:done`). For tests that crash the keeper between steps; a no-op otherwise.
   */
  onStep?: (step: string, epoch: number) => void;
}

export interface EpochSubmitterComponents {
  chain: Chain;
  store: Store;
  logger: Logger;
  /**
   * The other keepers' signatures of an epoch commitment (quorum/protocol.ts), used when the deployment has an
   * EpochQuorum; without it only this keeper's own signature is offered (enough for a 1-of-n quorum).
   */
  signatures?: QuorumSignatureSource;
  /**
   * A union round (docs/epochs.md "Union rounds"): joins the observations the keepers' refusals handed back to the
   * epoch's set (each checked first) and, when any joined, re-finalizes the epoch; resolves with how many joined.
   * Absent: a refused set stays refused.
   */
  union?(epoch: number, offered: readonly SignedObservation[], options: { signal: AbortSignal }): Promise<number>;
}

export interface SubmitOptions {
  signal?: AbortSignal;
}

/** What the chain holds for the epoch's TaskLog / RewardPool commitment after a submission or a check. */
export interface TaskCommitment {
  root: string;
  taskCount: bigint;
  uri: string;
  marker: boolean;
  tree: MerkleTree<TaskRecordValue>;
}

export interface RewardCommitment {
  root: string;
  totalContribution: bigint;
  rewardTotal: bigint;
  marker: boolean;
  tree: MerkleTree<RewardLeafValue>;
}

export interface SubmitResult {
  epoch: number;
  /** Per contract: "sent" when this call sent it, "found" when the chain already had it. */
  taskLog: "sent" | "found";
  reputation: { sent: number; found: number; batches: number };
  rewardPool: "sent" | "found";
  taskRoot: string;
  rewardRoot: string;
  /** Hashes of the transactions this call sent, per contract (Reputation may take several batches). */
  txHashes: { taskLog?: string; reputation: string[]; rewardPool?: string };
}

export interface VerifyResult {
  epoch: number;
  taskLog: "match" | "mismatch" | "missing";
  rewardPool: "match" | "mismatch" | "missing" | "vetoed";
  /** Reports checked on chain that differ from ours (nodes reported with other counts are not detectable from
   * state alone; this counts nodes missing for the epoch). */
  reputationMissing: number;
}

/** Alarm raised when the chain holds a root other than ours (`detail` is the mismatch). */
export interface EpochAlarmDetail {
  epoch: number;
  contract: "TaskLog" | "RewardPool";
  onChain: string;
  ours: string;
}

/** The TaskLog marker record of an empty epoch: status 0 (no real task has it), zero addresses and data. */
export function taskMarkerRecord(built: BuiltEpoch): TaskRecordValue {
  const { epoch, startMs, endMs } = built.bundle;
  return [
    id(`lumora:empty-epoch:${epoch}`),
    ZeroAddress,
    ZeroAddress,
    0n,
    BigInt(Math.floor(startMs / 1000)),
    BigInt(Math.floor(endMs / 1000)),
    0,
    ZeroHash,
    0,
    ZeroHash,
  ] as const;
}

/** The TaskLog commitment of an epoch (its tree, or the marker's when it has no tasks). */
export function taskCommitmentOf(built: BuiltEpoch, uriFor?: (built: BuiltEpoch) => string): TaskCommitment {
  const { bundle } = built;
  if (bundle.tasks.length === 0) {
    const tree = buildTree([taskMarkerRecord(built)], TASK_LEAF_ENCODING);
    return { root: tree.root, taskCount: 1n, uri: MARKER_URI, marker: true, tree };
  }
  const tree = built.taskTree ?? buildTree(bundle.tasks, TASK_LEAF_ENCODING);
  const uri = uriFor?.(built) ?? `lumora:epoch/${bundle.epoch}/tasks`;
  return { root: tree.root, taskCount: BigInt(tree.size), uri, marker: false, tree };
}

/**
 * The RewardPool commitment of an epoch. Without contributions (or with R_total = 0, which the pool refuses) it
 * is the marker: one leaf (epoch, 0, pool, 1) with R_total = 1 wei, which anyone may claim back into the pool.
 */
export function rewardCommitmentOf(built: BuiltEpoch, poolAddress: string): RewardCommitment {
  const { bundle } = built;
  const total = built.totalContribution;
  if (bundle.contributions.length === 0 || total === 0n || bundle.rewardTotal === 0n) {
    const leaf: RewardLeafValue = [BigInt(bundle.epoch), 0n, poolAddress, MARKER_CONTRIBUTION];
    const tree = buildTree([leaf], REWARD_LEAF_ENCODING);
    return {
      root: tree.root,
      totalContribution: MARKER_CONTRIBUTION,
      rewardTotal: MARKER_REWARD_WEI,
      marker: true,
      tree,
    };
  }
  const tree =
    built.rewardTree ??
    buildTree(
      bundle.contributions.map((c): RewardLeafValue => [
        BigInt(bundle.epoch),
        BigInt(c.index),
        c.account,
        c.contribution,
      ]),
      REWARD_LEAF_ENCODING,
    );
  return { root: tree.root, totalContribution: total, rewardTotal: bundle.rewardTotal, marker: false, tree };
}

/**
 * The EpochQuorum commitment of an epoch exactly as the submission commits it (markers included), with its report
 * batches: reports sorted by node, packed, cut into batches of `batchNodes`.
 */
export function quorumCommitmentOf(
  built: BuiltEpoch,
  poolAddress: string,
  options: { uriFor?: (built: BuiltEpoch) => string; batchNodes?: number } = {},
): { commitment: EpochCommitment; reports: ReportBatches } {
  const task = taskCommitmentOf(built, options.uriFor);
  const reward = rewardCommitmentOf(built, poolAddress);
  const sorted = [...built.bundle.reputation].sort((a, b) => (a.node.toLowerCase() < b.node.toLowerCase() ? -1 : 1));
  const reports = reportBatchesOf(sorted.map(encodeReport), options.batchNodes ?? REPUTATION_BATCH_NODES);
  return {
    commitment: {
      epoch: BigInt(built.bundle.epoch),
      taskRoot: task.root,
      taskCount: task.taskCount,
      taskUri: task.uri,
      rewardRoot: reward.root,
      totalContribution: reward.totalContribution,
      rewardTotal: reward.rewardTotal,
      reportsRoot: reports.root,
      evidenceHash: evidenceHashOf(built.bundle.receiptHashes, built.bundle.observationsHash),
    },
    reports,
  };
}

/** Packs a report the way Reputation.encodeReport does: node · successes · failures · 4 zero bytes. */
export function encodeReport(report: ReputationReport): string {
  const packed =
    (BigInt(report.node) << 96n) | (BigInt(report.successes >>> 0) << 64n) | (BigInt(report.failures >>> 0) << 32n);
  return "0x" + packed.toString(16).padStart(64, "0");
}

export class EpochSubmitter extends EventTarget {
  readonly journal: SubmitJournal;
  private readonly log: Logger;
  private readonly controller = new AbortController();
  /** Union rounds held per epoch (MAX_UNION_ROUNDS), the last few epochs only. */
  private readonly unionRounds = new Map<number, number>();

  constructor(
    private readonly components: EpochSubmitterComponents,
    private readonly init: EpochSubmitterInit = {},
  ) {
    super();
    this.log = components.logger.child("epochs:submit");
    this.journal = new SubmitJournal(components.store);
  }

  async start(): Promise<void> {}

  async stop(): Promise<void> {
    this.controller.abort(new Error("epoch submitter stopped"));
  }

  /** Whether TaskLog and RewardPool both hold the epoch (Reputation's reports go in between, see docs). */
  async isSubmitted(epoch: number, options: SubmitOptions = {}): Promise<boolean> {
    const { taskLog, rewardPool } = this.components.chain.contracts;
    const [t, r] = await Promise.all([
      this.read("TaskLog.lastEpoch", () => taskLog.lastEpoch(), options),
      this.read("RewardPool.lastEpoch", () => rewardPool.lastEpoch(), options),
    ]);
    return Number(t) >= epoch && Number(r) >= epoch;
  }

  /**
   * Submits `built` to the three contracts, skipping whatever the chain already holds. Safe to call again after
   * any failure or crash. Throws PreviousEpochPendingError, InsufficientRewardError (epoch stays pending),
   * EpochRootMismatchError / EpochVetoedError (alarm), or chain errors.
   */
  async submit(built: BuiltEpoch, options: SubmitOptions = {}): Promise<SubmitResult> {
    const signal = this.signalFor(options);
    const opts = { signal };
    const { chain } = this.components;
    const epoch = built.bundle.epoch;
    const task = taskCommitmentOf(built, this.init.uriFor);
    const reward = rewardCommitmentOf(built, chain.deployment.contracts.RewardPool);
    this.journal.epochStarted(epoch, task.root, reward.root);
    const result: SubmitResult = {
      epoch,
      taskLog: "found",
      reputation: { sent: 0, found: 0, batches: 0 },
      rewardPool: "found",
      taskRoot: task.root,
      rewardRoot: reward.root,
      txHashes: { reputation: [] },
    };
    try {
      await this.resumeOpenTxs(opts);
      await this.checkPrevious(epoch, opts);
      if (chain.contracts.epochQuorum !== undefined) {
        await this.submitThroughQuorum(built, task, reward, result, opts);
      } else {
        result.taskLog = await this.submitTaskLog(epoch, task, result, opts);
        result.reputation = await this.submitReputation(epoch, built.bundle.reputation, result, opts);
        result.rewardPool = await this.submitRewardPool(epoch, reward, result, opts);
      }
    } catch (err) {
      const alarm = err instanceof EpochRootMismatchError || err instanceof EpochVetoedError;
      this.journal.epochStatus(epoch, alarm ? "alarm" : "pending", (err as Error).message);
      if (err instanceof EpochRootMismatchError) this.raiseAlarm(err);
      throw err;
    }
    this.journal.epochStatus(epoch, "submitted");
    this.step("epoch:done", epoch);
    this.log.info("epoch submitted", {
      epoch,
      taskLog: result.taskLog,
      reputationSent: result.reputation.sent,
      rewardPool: result.rewardPool,
      taskRoot: task.root,
      rewardRoot: reward.root,
      marker: task.marker || reward.marker,
    });
    return result;
  }

  /**
   * Compares what the chain holds for the epoch with what we built; a different root raises the alarm (an
   * `alarm` event and an info log: the closer adopts the chain's view, or logs the error). Used by the keepers that
   * did not submit.
   */
  async verify(built: BuiltEpoch, options: SubmitOptions = {}): Promise<VerifyResult> {
    const opts = { signal: this.signalFor(options) };
    const { taskLog, rewardPool } = this.components.chain.contracts;
    const epoch = built.bundle.epoch;
    const task = taskCommitmentOf(built, this.init.uriFor);
    const reward = rewardCommitmentOf(built, this.components.chain.deployment.contracts.RewardPool);
    const result: VerifyResult = { epoch, taskLog: "missing", rewardPool: "missing", reputationMissing: 0 };

    const taskRoot = await this.read("TaskLog.rootOf", () => taskLog.rootOf(epoch), opts);
    if (taskRoot !== ZeroHash) {
      result.taskLog = taskRoot === task.root ? "match" : "mismatch";
      if (result.taskLog === "mismatch")
        this.raiseAlarm(new EpochRootMismatchError(epoch, "TaskLog", taskRoot, task.root));
    }
    const [r] = await this.read("RewardPool.epochOf", () => rewardPool.epochOf(epoch), opts);
    if (r.root !== ZeroHash) {
      const status = Number(await this.read("RewardPool.statusOf", () => rewardPool.statusOf(epoch), opts));
      if (status === EPOCH_STATUS.Vetoed) result.rewardPool = "vetoed";
      else {
        result.rewardPool = r.root === reward.root ? "match" : "mismatch";
        if (result.rewardPool === "mismatch")
          this.raiseAlarm(new EpochRootMismatchError(epoch, "RewardPool", r.root, reward.root));
      }
    }
    const reported = await this.reportedNodes(epoch, built.bundle.reputation, opts);
    result.reputationMissing = built.bundle.reputation.length - reported.size;
    return result;
  }

  // ─────────────────────────────────────────── steps ───────────────────────────────────────────

  /**
   * The quorum path: TaskLog, RewardPool and the first report batch in one EpochQuorum.commitEpoch carrying t
   * keeper signatures of the epoch's commitment (ours first, the others gathered), then the other report batches
   * with EpochQuorum.applyReports. The chain is read first; what it holds is checked, not sent again.
   */
  private async submitThroughQuorum(
    built: BuiltEpoch,
    task: TaskCommitment,
    reward: RewardCommitment,
    result: SubmitResult,
    opts: SubmitOptions,
  ): Promise<void> {
    const { chain } = this.components;
    const quorum = chain.contracts.epochQuorum!;
    const { taskLog, rewardPool } = chain.contracts;
    const epoch = built.bundle.epoch;
    const { commitment, reports } = quorumCommitmentOf(built, chain.deployment.contracts.RewardPool, {
      uriFor: this.init.uriFor,
      batchNodes: this.init.reputationBatchNodes,
    });
    for (let attempt = 0; ; attempt++) {
      const onChain = await this.read("TaskLog.rootOf", () => taskLog.rootOf(epoch), opts);
      if (onChain !== ZeroHash) {
        if (onChain !== task.root) throw new EpochRootMismatchError(epoch, "TaskLog", onChain, task.root);
        const [r] = await this.read("RewardPool.epochOf", () => rewardPool.epochOf(epoch), opts);
        const status = Number(await this.read("RewardPool.statusOf", () => rewardPool.statusOf(epoch), opts));
        if (status === 3) throw new EpochVetoedError(epoch);
        if (r.root !== reward.root) throw new EpochRootMismatchError(epoch, "RewardPool", r.root, reward.root);
        this.journal.stepDone(epoch, "tasklog", "found");
        this.journal.stepDone(epoch, "rewardpool", "found");
        break;
      }
      const available = await this.read("RewardPool.maxRewardTotal", () => rewardPool.maxRewardTotal(), opts);
      if (available < reward.rewardTotal) throw new InsufficientRewardError(epoch, reward.rewardTotal, available);
      const signatures = await this.quorumSignatures(commitment, opts);
      const first = reports.batches[0] ?? [];
      const firstProof = reports.tree === undefined ? [] : reports.tree.getProof(0);
      const label = `EpochQuorum.commitEpoch(${epoch}, ${signatures.size} signatures)`;
      try {
        await this.sendStep(
          epoch,
          "tasklog",
          "quorum",
          quorum.interface,
          quorum.target as string,
          quorum.interface.encodeFunctionData("commitEpoch", [
            commitment,
            first,
            firstProof,
            packSignatures(signatures),
          ]),
          label,
          result,
          opts,
        );
        result.txHashes.rewardPool = result.txHashes.taskLog;
        result.taskLog = "sent";
        result.rewardPool = "sent";
        result.reputation.sent += first.length;
        result.reputation.batches += first.length > 0 ? 1 : 0;
        this.journal.stepDone(epoch, "tasklog", task.marker ? "sent-marker" : "sent");
        this.journal.stepDone(epoch, "rewardpool", reward.marker ? "sent-marker" : "sent");
        break;
      } catch (err) {
        // Another keeper committed it in between: read again (once) to find out what is there.
        if (attempt === 0 && err instanceof ContractRevertError && err.errorName === "TaskLogNonConsecutiveEpoch")
          continue;
        throw err;
      }
    }
    // The other report batches (the first went with the commitment, or was applied by a rival submission).
    for (let i = 0; i < reports.batches.length; i++) {
      const batch = reports.batches[i]!;
      const nodes = built.bundle.reputation.filter((r) => batch.includes(encodeReport(r)));
      const reported = await this.reportedNodes(epoch, nodes, opts);
      if (reported.size === nodes.length) {
        if (i > 0 || result.taskLog === "found") result.reputation.found += nodes.length;
        continue;
      }
      await this.sendStep(
        epoch,
        "reputation",
        `reputation:${i}`,
        quorum.interface,
        quorum.target as string,
        quorum.interface.encodeFunctionData("applyReports", [epoch, batch, reports.tree!.getProof(i)]),
        `EpochQuorum.applyReports(${epoch}, #${i}, ${batch.length} nodes)`,
        result,
        opts,
      );
      result.reputation.sent += batch.length;
      result.reputation.batches++;
    }
    this.journal.stepDone(epoch, "reputation", `sent:${result.reputation.sent},found:${result.reputation.found}`);
  }

  /** Our signature of the commitment plus the others' (signatures source) until the quorum's threshold is held. */
  private async quorumSignatures(commitment: EpochCommitment, opts: SubmitOptions): Promise<Map<string, string>> {
    const { chain } = this.components;
    const quorum = chain.contracts.epochQuorum!;
    const [threshold, members] = await Promise.all([
      this.read("EpochQuorum.threshold", () => quorum.threshold(), opts),
      this.read("EpochQuorum.keepers", () => quorum.keepers(), opts),
    ]);
    const keepers = members.map((k) => getAddress(k));
    const domain = quorumDomain(chain.deployment.chainId, chain.deployment.contracts.EpochQuorum!);
    const digest = commitmentDigest(domain, commitment);
    const have = new Map<string, string>();
    const me = chain.address;
    if (me !== undefined && keepers.includes(getAddress(me))) have.set(getAddress(me), chain.signDigest(digest));
    const needed = Number(threshold);
    const gathered =
      have.size >= needed || this.components.signatures === undefined
        ? have
        : await this.components.signatures
            .gather({ commitment, digest, threshold: needed, keepers, have }, { signal: opts.signal })
            .catch((err: unknown) => this.unionRound(Number(commitment.epoch), err, opts));
    // Only signatures by distinct members over this digest count: a bad one would make the whole commit revert.
    const valid = new Map<string, string>();
    for (const [signer, signature] of gathered) {
      if (keepers.includes(signer) && recoverAddress(digest, signature) === signer) valid.set(signer, signature);
    }
    if (valid.size < needed) throw new QuorumNotReachedError(Number(commitment.epoch), valid.size, needed, {});
    // Exactly the threshold: every extra signature costs ~7k gas and adds nothing.
    return new Map([...valid].sort((a, b) => (BigInt(a[0]) < BigInt(b[0]) ? -1 : 1)).slice(0, needed));
  }

  /**
   * A refused quorum whose refusals handed back observations our set lacks: join them (`union`) and throw
   * EpochReclosedError so the epoch is built, published and asked for again; at most MAX_UNION_ROUNDS per epoch.
   * Anything else is rethrown as it is.
   */
  private async unionRound(epoch: number, err: unknown, opts: SubmitOptions): Promise<never> {
    const union = this.components.union;
    if (!(err instanceof QuorumNotReachedError) || err.offered.length === 0 || union === undefined) throw err;
    const done = this.unionRounds.get(epoch) ?? 0;
    if (done >= MAX_UNION_ROUNDS) {
      this.log.warn("union rounds used up: the epoch waits for the next attempt", { epoch, rounds: done });
      throw err;
    }
    this.unionRounds.set(epoch, done + 1);
    for (const e of this.unionRounds.keys()) if (e < epoch - MAX_UNION_ROUNDS) this.unionRounds.delete(e);
    const joined = await union(epoch, err.offered, { signal: opts.signal ?? this.controller.signal });
    if (joined === 0) throw err;
    this.log.info("union round: observations joined, epoch re-finalized", { epoch, round: done + 1, joined });
    throw new EpochReclosedError(epoch, joined, { cause: err });
  }

  private async checkPrevious(epoch: number, opts: SubmitOptions): Promise<void> {
    if (epoch <= 1) return;
    const { taskLog, rewardPool } = this.components.chain.contracts;
    const [t, r] = await Promise.all([
      this.read("TaskLog.lastEpoch", () => taskLog.lastEpoch(), opts),
      this.read("RewardPool.lastEpoch", () => rewardPool.lastEpoch(), opts),
    ]);
    if (Number(t) < epoch - 1 || Number(r) < epoch - 1)
      throw new PreviousEpochPendingError(epoch, Number(t), Number(r));
  }

  private async submitTaskLog(
    epoch: number,
    task: TaskCommitment,
    result: SubmitResult,
    opts: SubmitOptions,
  ): Promise<"sent" | "found"> {
    const { taskLog } = this.components.chain.contracts;
    for (let attempt = 0; ; attempt++) {
      const onChain = await this.read("TaskLog.rootOf", () => taskLog.rootOf(epoch), opts);
      if (onChain !== ZeroHash) {
        if (onChain !== task.root) throw new EpochRootMismatchError(epoch, "TaskLog", onChain, task.root);
        this.journal.stepDone(epoch, "tasklog", "found");
        return "found";
      }
      try {
        await this.sendStep(
          epoch,
          "tasklog",
          "tasklog",
          taskLog.interface,
          taskLog.target as string,
          taskLog.interface.encodeFunctionData("commit", [epoch, task.root, task.taskCount, task.uri]),
          `TaskLog.commit(${epoch})`,
          result,
          opts,
        );
        this.journal.stepDone(epoch, "tasklog", task.marker ? "sent-marker" : "sent");
        return "sent";
      } catch (err) {
        // Another keeper committed in between: read again (once) to find out what is there.
        if (attempt === 0 && err instanceof ContractRevertError && err.errorName === "TaskLogNonConsecutiveEpoch")
          continue;
        throw err;
      }
    }
  }

  private async submitReputation(
    epoch: number,
    reports: readonly ReputationReport[],
    result: SubmitResult,
    opts: SubmitOptions,
  ): Promise<SubmitResult["reputation"]> {
    const out = { sent: 0, found: 0, batches: 0 };
    if (reports.length === 0) {
      this.journal.stepDone(epoch, "reputation", "empty");
      return out;
    }
    const { reputation } = this.components.chain.contracts;
    const batchSize = this.init.reputationBatchNodes ?? REPUTATION_BATCH_NODES;
    const sorted = [...reports].sort((a, b) => (a.node.toLowerCase() < b.node.toLowerCase() ? -1 : 1));
    const current = Number(await this.read("Reputation.currentEpoch", () => reputation.currentEpoch(), opts));
    if (current > epoch) {
      // Only a keeper breaking the submission order gets here; the reports can no longer be applied.
      this.log.error("reputation moved past the epoch, its reports are dropped", { epoch, current });
      this.journal.stepDone(epoch, "reputation", `late:${current}`);
      return out;
    }
    // Nothing can be reported for the epoch before the contract reached it: only then is a per-node read needed.
    let reported = current === epoch ? await this.reportedNodes(epoch, sorted, opts) : new Set<string>();
    out.found = reported.size;
    let pending = sorted.filter((r) => !reported.has(r.node.toLowerCase()));
    for (let batchIndex = 0; pending.length > 0; batchIndex++) {
      const batch = pending.slice(0, batchSize);
      const label = `Reputation.applyReports(${epoch}, #${batchIndex}, ${batch.length} nodes)`;
      try {
        await this.sendStep(
          epoch,
          "reputation",
          `reputation:${batchIndex}`,
          reputation.interface,
          reputation.target as string,
          reputation.interface.encodeFunctionData("applyReports", [epoch, batch.map(encodeReport)]),
          label,
          result,
          opts,
        );
        out.sent += batch.length;
        out.batches++;
        pending = pending.slice(batch.length);
      } catch (err) {
        if (!(err instanceof ContractRevertError && err.errorName === "ReputationNodeAlreadyReported")) throw err;
        // A rival submission reported some of these nodes in between: read them again and drop them.
        reported = await this.reportedNodes(epoch, batch, opts);
        out.found += reported.size;
        pending = pending.filter((r) => !reported.has(r.node.toLowerCase()));
      }
    }
    this.journal.stepDone(epoch, "reputation", `sent:${out.sent},found:${out.found}`);
    return out;
  }

  private async submitRewardPool(
    epoch: number,
    reward: RewardCommitment,
    result: SubmitResult,
    opts: SubmitOptions,
  ): Promise<"sent" | "found"> {
    const { rewardPool } = this.components.chain.contracts;
    for (let attempt = 0; ; attempt++) {
      const [onChain] = await this.read("RewardPool.epochOf", () => rewardPool.epochOf(epoch), opts);
      if (onChain.root !== ZeroHash) {
        const status = Number(await this.read("RewardPool.statusOf", () => rewardPool.statusOf(epoch), opts));
        if (status === EPOCH_STATUS.Vetoed) throw new EpochVetoedError(epoch);
        if (onChain.root !== reward.root)
          throw new EpochRootMismatchError(epoch, "RewardPool", onChain.root, reward.root);
        this.journal.stepDone(epoch, "rewardpool", "found");
        return "found";
      }
      const available = await this.read("RewardPool.unreservedBalance", () => rewardPool.unreservedBalance(), opts);
      if (available < reward.rewardTotal) throw new InsufficientRewardError(epoch, reward.rewardTotal, available);
      try {
        await this.sendStep(
          epoch,
          "rewardpool",
          "rewardpool",
          rewardPool.interface,
          rewardPool.target as string,
          rewardPool.interface.encodeFunctionData("commitEpoch", [
            epoch,
            reward.root,
            reward.totalContribution,
            reward.rewardTotal,
          ]),
          `RewardPool.commitEpoch(${epoch})`,
          result,
          opts,
        );
        this.journal.stepDone(epoch, "rewardpool", reward.marker ? "sent-marker" : "sent");
        return "sent";
      } catch (err) {
        if (attempt === 0 && err instanceof ContractRevertError && err.errorName === "RewardPoolNonConsecutiveEpoch")
          continue;
        if (err instanceof ContractRevertError && err.errorName === "RewardPoolInsufficientUnreserved") {
          const [needed, got] = err.errorArgs as [bigint, bigint];
          throw new InsufficientRewardError(epoch, needed, got);
        }
        throw err;
      }
    }
  }

  // ────────────────────────────────────────── helpers ──────────────────────────────────────────

  /** Sends one transaction with the journal entries and step hooks around it. */
  private async sendStep(
    epoch: number,
    step: StepName,
    hookName: string,
    iface: Interface,
    to: string,
    data: string,
    label: string,
    result: SubmitResult,
    opts: SubmitOptions,
  ): Promise<void> {
    const { chain } = this.components;
    const signer = chain.address!;
    try {
      const outcome = await chain.send(
        { label, to, data, iface },
        {
          signal: opts.signal,
          onSigned: (tx: SignedTx) => {
            this.journal.txSigned(epoch, step, signer, tx);
            this.step(`${hookName}:signed`, epoch);
          },
          onBroadcast: (tx: SignedTx) => {
            this.journal.txStatus(tx.hash, "sent");
            this.step(`${hookName}:sent`, epoch);
          },
        },
      );
      this.journal.txStatus(outcome.hash, "confirmed", outcome.blockNumber);
      if (step === "reputation") result.txHashes.reputation.push(outcome.hash);
      else if (step === "tasklog") result.txHashes.taskLog = outcome.hash;
      else result.txHashes.rewardPool = outcome.hash;
      this.log.info("transaction confirmed", {
        epoch,
        label,
        hash: outcome.hash,
        block: outcome.blockNumber,
        gasUsed: outcome.gasUsed,
      });
      this.step(`${hookName}:done`, epoch);
    } catch (err) {
      if (err instanceof ContractRevertError && err.txHash !== undefined) this.journal.txStatus(err.txHash, "reverted");
      throw err;
    }
  }

  /** Settles the transactions this keeper journaled but never saw the end of (crash, timeout). */
  private async resumeOpenTxs(opts: SubmitOptions): Promise<void> {
    const { chain } = this.components;
    if (chain.address === undefined) return;
    for (const tx of this.journal.openTxs(chain.address)) {
      try {
        const outcome = await chain.resume(tx, undefined, opts);
        this.journal.txStatus(
          tx.hash,
          outcome.status,
          outcome.status === "confirmed" ? outcome.blockNumber : undefined,
        );
        this.log.info("journaled transaction settled", {
          epoch: tx.epoch,
          label: tx.label,
          hash: tx.hash,
          status: outcome.status,
        });
      } catch (err) {
        if (!(err instanceof ContractRevertError)) throw err;
        this.journal.txStatus(tx.hash, "reverted");
        this.log.warn("journaled transaction reverted", {
          epoch: tx.epoch,
          label: tx.label,
          hash: tx.hash,
          error: err.errorName,
        });
      }
    }
  }

  /** The nodes of `reports` that Reputation already holds a report of `epoch` for (lowercase addresses). */
  private async reportedNodes(
    epoch: number,
    reports: readonly ReputationReport[],
    opts: SubmitOptions,
  ): Promise<Set<string>> {
    const { reputation } = this.components.chain.contracts;
    const done = new Set<string>();
    let next = 0;
    const worker = async () => {
      while (next < reports.length) {
        const node = reports[next++]!.node;
        const state = await this.read("Reputation.nodeOf", () => reputation.nodeOf(node), opts);
        if (Number(state.lastEpoch) === epoch) done.add(node.toLowerCase());
      }
    };
    await Promise.all(Array.from({ length: Math.min(REPUTATION_READ_CONCURRENCY, reports.length) }, worker));
    return done;
  }

  private read<T>(operation: string, fn: () => Promise<T>, opts: SubmitOptions): Promise<T> {
    return this.components.chain.read(operation, fn, opts);
  }

  private signalFor(options: SubmitOptions): AbortSignal {
    return options.signal === undefined
      ? this.controller.signal
      : AbortSignal.any([options.signal, this.controller.signal]);
  }

  private step(name: string, epoch: number): void {
    this.init.onStep?.(name, epoch);
  }

  private raiseAlarm(err: EpochRootMismatchError): void {
    const detail: EpochAlarmDetail = { epoch: err.epoch, contract: err.contract, onChain: err.onChain, ours: err.ours };
    // Another keeper's view on chain is the normal case the closer adopts (adopt.ts); the closer logs an error only
    // when the chain's view cannot be adopted. An error line per epoch here was noise operators learn to ignore.
    this.log.info("epoch root on chain differs from ours", { ...detail });
    this.dispatchEvent(new CustomEvent<EpochAlarmDetail>("alarm", { detail }));
  }
}

/** Factory in the keeper's component style: `epochSubmitter(init)({ chain, store, logger })`. */
export function epochSubmitter(
  init: EpochSubmitterInit = {},
): (components: EpochSubmitterComponents) => EpochSubmitter {
  return (components) => new EpochSubmitter(components, init);
}
