/**
 * Anyone can check an epoch: rebuild what the keeper committed from what it published, and compare with the
 * chain. Two checks, both from the published values (never from the dumps' stored hashes):
 *   1. the publication is consistent: the dumps (rewards.json, tasks.json) rebuild to the roots, ΣC and counts
 *      that epoch.json states;
 *   2. each contract holds what those records commit to, by the keeper's own rule (keeper/epochs/submit/submitter.ts
 *      `taskCommitmentOf` / `rewardCommitmentOf`): the trees, or for an empty side the marker the keeper commits
 *      instead (docs/epochs-chain.md) — `TaskLog.rootOf(e)` and the count of its `EpochCommitted` event, `RewardPool.epochOf(e)` root, ΣC and
 *      R_total.
 * With full evidence, every C_i and report is recomputed from it, and the evidence hash the quorum approved
 * (EpochApproved) is recomputed from its receipts and observation set (review M-3): a set swapped after the
 * commitment fails.
 */
import { getAddress, ZeroHash } from "ethers";

import { buildTree, REWARD_LEAF_ENCODING, TASK_LEAF_ENCODING, type MerkleTree } from "../keeper/epochs/merkle/tree.ts";
import { EpochUnknownError } from "../keeper/epochs/collect/errors.ts";
import { EVIDENCE_FORMAT_V2 } from "../keeper/epochs/proofs/constants.ts";
import { PublishedEpochError } from "../keeper/epochs/proofs/errors.ts";
import { observationSetHash } from "../keeper/epochs/observe/observation.ts";
import { encodeEvidence, evidenceHash, recompute } from "../keeper/epochs/proofs/evidence.ts";
import { evidenceHashOf } from "../keeper/epochs/quorum/commitment.ts";
import { receiptId } from "../keeper/transfer/receipt.ts";
import type { DumpKind, EpochRecordSource } from "../keeper/epochs/proofs/source.ts";
import type { EpochSummary, RewardDumpValue } from "../keeper/epochs/proofs/publish.ts";
import { rewardCommitmentOf, taskCommitmentOf } from "../keeper/epochs/submit/submitter.ts";
import { DEFAULT_SUBSIDY_BPS, DEFAULT_WEI_PER_GIB } from "../keeper/epochs/collect/constants.ts";
import { SETTLE_GRID_MS, SETTLE_WINDOW_MS, settledAtCommits } from "../keeper/payment/index.ts";
import type {
  BuiltEpoch,
  PaymentRule,
  SettleTerms,
  ContributionEntry,
  EpochEvidence,
  RewardLeafValue,
  TaskRecordValue,
} from "../keeper/epochs/types.ts";
import { formatLum, type LumoraContracts } from "./context.ts";
import { CommitmentEventMissingError, EpochNotPublishedError } from "./errors.ts";
import type { PublishedRecords } from "./published.ts";

/** One contract's comparison. */
export interface ContractCheck {
  contract: "TaskLog" | "RewardPool";
  /** "missing": the chain holds nothing for the epoch. */
  status: "match" | "mismatch" | "missing";
  /** What the published records commit to. */
  expected: { root: string; count: bigint; rewardTotal?: bigint; marker: boolean };
  /** What the chain holds (undefined when missing). */
  chain?: { root: string; count: bigint; rewardTotal?: bigint };
  /** The differences, each naming the contract and the value. */
  problems: string[];
}

export interface EpochVerification {
  epoch: number;
  /** Where the records were read (a folder or a keeper's URL). */
  source: string;
  /** Differences between the dumps and epoch.json. */
  publication: string[];
  /** Differences between what the signed evidence computes (C_i, reports) and what was published. */
  evidence: string[];
  taskLog: ContractCheck;
  rewardPool: ContractCheck;
  ok: boolean;
  /** Every difference, the contracts' first. */
  problems: string[];
  /** One line per check: the publication, then each contract, saying what matched. */
  lines: string[];
  /** One line: verified, or what does not match. */
  message: string;
}

/**
 * The paid-demand terms of the network an epoch is verified against (docs/epochs.md "Publication format"): never the
 * evidence's own. The vault and chain come from the deployment (its record's CreditVault, the chain connected to);
 * the price, subsidy and settlement read are the network's terms — by default the protocol's (DEFAULT_WEI_PER_GIB,
 * DEFAULT_SUBSIDY_BPS, SETTLE_GRID_MS / SETTLE_WINDOW_MS, every keeper's config default), or what the verifier states
 * for a network that announced others (`lumora:verify-epoch --lum-per-gib … --subsidy-bps …`).
 */
export interface NetworkPaymentTerms {
  weiPerGiB: bigint;
  subsidyBps: bigint;
  /** The settlement read's terms; undefined: closes read the vault at their own time (`payment.settle: false`). */
  settle: SettleTerms | undefined;
}

/** The protocol's paid-demand terms (every keeper's default configuration). */
export const DEFAULT_PAYMENT_TERMS: NetworkPaymentTerms = {
  weiPerGiB: DEFAULT_WEI_PER_GIB,
  subsidyBps: DEFAULT_SUBSIDY_BPS,
  settle: { gridMs: SETTLE_GRID_MS, windowMs: SETTLE_WINDOW_MS },
};

/**
 * The evidence's payment rule against the deployment and the network's terms: each difference named. A publication
 * that names another vault (one its operator controls, where it "settled" what it liked), another chain, a lower
 * price (more bytes per token), a higher subsidy or other settlement terms is refused, however consistent it is.
 */
async function checkPaymentRule(
  contracts: LumoraContracts,
  rule: PaymentRule,
  terms: NetworkPaymentTerms,
): Promise<string[]> {
  const problems: string[] = [];
  const vault = contracts.creditVault === undefined ? undefined : await contracts.creditVault.getAddress();
  if (vault === undefined)
    problems.push(`the evidence counts payments on vault ${rule.domain.vault}; the deployment names no CreditVault`);
  else if (getAddress(rule.domain.vault) !== vault)
    problems.push(
      `the evidence counts payments on vault ${rule.domain.vault}; the deployment's CreditVault is ${vault}`,
    );
  const chainId = (await contracts.pool.runner!.provider!.getNetwork()).chainId;
  if (rule.domain.chainId !== chainId)
    problems.push(
      `the evidence's vouchers are for chain ${rule.domain.chainId}; the deployment is on chain ${chainId}`,
    );
  if (rule.weiPerGiB !== terms.weiPerGiB)
    problems.push(`the evidence prices a GiB at ${rule.weiPerGiB} wei; the network's price is ${terms.weiPerGiB} wei`);
  if (rule.subsidyBps !== terms.subsidyBps)
    problems.push(`the evidence's subsidy is ${rule.subsidyBps} bps; the network's is ${terms.subsidyBps} bps`);
  const show = (t: SettleTerms | undefined) =>
    t === undefined ? "none (read at the close)" : `grid ${t.gridMs} ms, window ${t.windowMs} ms`;
  if (rule.settle?.gridMs !== terms.settle?.gridMs || rule.settle?.windowMs !== terms.settle?.windowMs)
    problems.push(`the evidence's settlement terms are ${show(rule.settle)}; the network's are ${show(terms.settle)}`);
  return problems;
}

function fileOf(source: EpochRecordSource, epoch: number, kind: DumpKind): string {
  return `${source.location.replace(/\/$/, "")}/${epoch}/${kind}.json`;
}

function parseLeaves<T>(
  values: readonly { value: readonly unknown[] }[],
  file: string,
  parse: (v: readonly unknown[]) => T,
): T[] {
  return values.map(({ value }, i) => {
    try {
      if (!Array.isArray(value)) throw new Error("not an array");
      return parse(value);
    } catch (err) {
      throw new PublishedEpochError(file, `value ${i} is not a leaf: ${(err as Error).message}`);
    }
  });
}

function taskRecord(v: readonly unknown[]): TaskRecordValue {
  if (v.length !== TASK_LEAF_ENCODING.length) throw new Error(`${v.length} fields`);
  const s = (x: unknown) => String(x);
  const big = (x: unknown) => BigInt(x as string);
  return [
    s(v[0]),
    getAddress(s(v[1])),
    getAddress(s(v[2])),
    big(v[3]),
    big(v[4]),
    big(v[5]),
    Number(big(v[6])),
    s(v[7]),
    Number(big(v[8])),
    s(v[9]),
  ];
}

function rewardLeaf(v: readonly unknown[]): RewardLeafValue {
  if (v.length !== REWARD_LEAF_ENCODING.length) throw new Error(`${v.length} fields`);
  const [epoch, index, account, contribution] = v as RewardDumpValue;
  return [BigInt(epoch), BigInt(index), getAddress(account), BigInt(contribution)];
}

/** The dumps against what epoch.json states about them. */
function checkPublication(
  summary: EpochSummary,
  epoch: number,
  taskTree: MerkleTree<TaskRecordValue> | undefined,
  rewardTree: MerkleTree<RewardLeafValue> | undefined,
  leaves: readonly RewardLeafValue[],
  totalContribution: bigint,
): string[] {
  const problems: string[] = [];
  if (taskTree !== undefined && summary.tasks !== null) {
    if (taskTree.root !== summary.tasks.root.toLowerCase())
      problems.push(`published tasks.json rebuilds to root ${taskTree.root}, epoch.json states ${summary.tasks.root}`);
    if (taskTree.size !== summary.tasks.count)
      problems.push(`published tasks.json holds ${taskTree.size} records, epoch.json states ${summary.tasks.count}`);
  }
  if (rewardTree !== undefined && summary.rewards !== null) {
    if (rewardTree.root !== summary.rewards.root.toLowerCase())
      problems.push(
        `published rewards.json rebuilds to root ${rewardTree.root}, epoch.json states ${summary.rewards.root}`,
      );
    if (totalContribution.toString() !== summary.rewards.totalContribution)
      problems.push(
        `published rewards.json sums to ΣC ${totalContribution}, epoch.json states ${summary.rewards.totalContribution}`,
      );
  }
  const otherEpoch = leaves.filter((l) => l[0] !== BigInt(epoch)).length;
  if (otherEpoch > 0) problems.push(`${otherEpoch} leaves of published rewards.json name another epoch than ${epoch}`);
  if (new Set(leaves.map((l) => l[1])).size !== leaves.length)
    problems.push("two leaves of published rewards.json share an index");
  return problems;
}

/** The task count TaskLog committed for `epoch`: stored nowhere, it is in the epoch's EpochCommitted event. */
async function committedTaskCount(taskLog: LumoraContracts["taskLog"], epoch: number): Promise<bigint> {
  const [event] = await taskLog.queryFilter(taskLog.filters.EpochCommitted(epoch));
  if (event === undefined) throw new CommitmentEventMissingError(epoch);
  return event.args.taskCount;
}

function compare(
  contract: ContractCheck["contract"],
  expected: ContractCheck["expected"],
  chain: ContractCheck["chain"],
  countName: string,
): ContractCheck {
  if (chain === undefined)
    return { contract, status: "missing", expected, problems: [`${contract} holds no commitment for the epoch`] };
  const problems: string[] = [];
  if (chain.root.toLowerCase() !== expected.root.toLowerCase())
    problems.push(`${contract} holds root ${chain.root}, the published records commit to ${expected.root}`);
  if (chain.count !== expected.count)
    problems.push(`${contract} holds ${countName} ${chain.count}, the published records ${expected.count}`);
  if (expected.rewardTotal !== undefined && chain.rewardTotal !== expected.rewardTotal)
    problems.push(`${contract} holds R_total ${chain.rewardTotal} wei, epoch.json ${expected.rewardTotal} wei`);
  return { contract, status: problems.length === 0 ? "match" : "mismatch", expected, chain, problems };
}

function describe(check: ContractCheck): string {
  const { expected: e } = check;
  const what =
    check.contract === "TaskLog"
      ? e.marker
        ? "the marker record of an epoch without tasks"
        : `${e.count} task records`
      : e.marker
        ? `the 1-wei marker of an epoch without contributions (ΣC ${e.count})`
        : `ΣC ${e.count}, R_total ${formatLum(e.rewardTotal ?? 0n)}`;
  const head = `${check.contract.padEnd(10)}`;
  if (check.status === "match") return `${head} match: root ${e.root}, ${what}`;
  if (check.status === "missing") return `${head} NOT COMMITTED: expected root ${e.root}, ${what}`;
  return `${head} MISMATCH: ${check.problems.join("; ")}`;
}

/**
 * Recomputes every C_i and Reputation report from the epoch's signed evidence alone (receipts signed by their
 * consumers, peer records signed by their peers, the frozen health outcomes), with the keeper's own code, and
 * compares them with what was published. An epoch published before full evidence existed (v1) is only noted.
 */
async function checkEvidence(
  contracts: LumoraContracts,
  source: EpochRecordSource,
  summary: EpochSummary,
  contributions: readonly ContributionEntry[],
  options: { signal?: AbortSignal; paymentTerms?: NetworkPaymentTerms },
): Promise<{ problems: string[]; line: string }> {
  const head = "evidence".padEnd(10);
  const evidence = await source.fullEvidence(summary.epoch, options);
  if (evidence === undefined) {
    if (summary.evidence?.format === EVIDENCE_FORMAT_V2)
      return { problems: ["evidence.json is missing or not full evidence"], line: `${head} MISSING` };
    return { problems: [], line: `${head} not published in full (an older epoch): C_i not recomputed` };
  }
  const problems: string[] = [];
  const hash = evidenceHash(encodeEvidence(summary.epoch, evidence));
  if (summary.evidence?.hash !== undefined && summary.evidence.hash !== hash)
    problems.push(`evidence.json hashes to ${hash}, epoch.json states ${summary.evidence.hash}`);
  // Under paid demand, the rule is the network's (not whatever the evidence states), and each channel's payment is
  // checked against what the deployment's CreditVault settled (settle before credit).
  if (evidence.payment !== undefined)
    problems.push(
      ...(await checkPaymentRule(contracts, evidence.payment.rule, options.paymentTerms ?? DEFAULT_PAYMENT_TERMS)),
    );
  const vault = await contracts.creditVault?.getAddress();
  const again = await recompute(evidence, summary.endMs, {
    ...(evidence.payment !== undefined && {
      settled: (channels) => {
        const { domain, settle } = evidence.payment!.rule;
        const read = settle === undefined ? undefined : { endMs: summary.endMs, terms: settle };
        return settledAtCommits(contracts.pool, vault ?? domain.vault, summary.epoch, channels, 0, read);
      },
    }),
  });
  problems.push(...again.problems);
  const approval = await latestApproval(contracts, summary.epoch, options);
  const bound = checkBinding(summary, evidence, approval);
  problems.push(...bound.problems);
  const observers = await checkObservers(contracts, evidence, approval?.blockNumber);
  problems.push(...observers.problems);
  const published = new Map(contributions.map((c) => [c.account.toLowerCase(), c.contribution]));
  const computed = new Map(again.contributions.map((c) => [c.account.toLowerCase(), c.contribution]));
  for (const [account, c] of computed) {
    const p = published.get(account);
    if (p === undefined)
      problems.push(`the evidence credits ${getAddress(account)} with C ${c}; rewards.json has no leaf`);
    else if (p !== c) problems.push(`the evidence gives ${getAddress(account)} C ${c}; rewards.json says ${p}`);
  }
  for (const [account, p] of published)
    if (!computed.has(account))
      problems.push(`rewards.json credits ${getAddress(account)} with C ${p}; the evidence, nothing`);
  const reports = new Map(summary.reputation.map((r) => [r.node.toLowerCase(), r]));
  for (const r of again.reports) {
    const p = reports.get(r.node.toLowerCase());
    if (p === undefined || p.successes !== r.successes || p.failures !== r.failures)
      problems.push(
        `the evidence reports ${r.node} ${r.successes}/${r.failures}; epoch.json ${p === undefined ? "nothing" : `${p.successes}/${p.failures}`}`,
      );
  }
  if (again.reports.length !== reports.size)
    problems.push(`the evidence yields ${again.reports.length} Reputation reports; epoch.json lists ${reports.size}`);
  // Under the bond rule the evidence also fixes R_total (R' of the reward offered, collect/bonded.ts).
  const stated = BigInt(summary.rewards?.rewardTotal ?? 0);
  if (again.rewardTotal !== undefined && again.contributions.length > 0 && again.rewardTotal !== stated)
    problems.push(`the evidence's bond rule yields R_total ${again.rewardTotal} wei; epoch.json states ${stated} wei`);
  const line =
    problems.length === 0
      ? `${head} match: ${evidence.receipts.length} signed receipts and ${evidence.records.length} signed peer records${evidence.bonds === undefined ? "" : ` and ${evidence.bonds.accounts.length} frozen bonds`} recompute every C_i and report${bound.note}${observers.note}`
      : `${head} MISMATCH: ${problems.join("; ")}`;
  return { problems, line };
}

/** The quorum's latest EpochApproved of `epoch` (evidence hash and block), undefined without a quorum or one. */
async function latestApproval(
  contracts: LumoraContracts,
  epoch: number,
  options: { signal?: AbortSignal },
): Promise<{ evidenceHash: string; blockNumber: number } | undefined> {
  if (contracts.quorum === undefined) return undefined;
  const approvals = await contracts.quorum.queryFilter(contracts.quorum.filters.EpochApproved(epoch));
  options.signal?.throwIfAborted();
  const latest = approvals.at(-1);
  return latest === undefined ? undefined : { evidenceHash: latest.args.evidenceHash, blockNumber: latest.blockNumber };
}

/**
 * Whether the published evidence is what the quorum signed (review M-3): the evidence hash the keepers approved
 * binds the receipts and the observation set (quorum/commitment.ts `evidenceHashOf`), so both are recomputed from
 * evidence.json and compared with the approval's. A set swapped after the commitment — observations added, dropped
 * or altered, however well signed — fails here.
 */
function checkBinding(
  summary: EpochSummary,
  evidence: EpochEvidence,
  approval: { evidenceHash: string } | undefined,
): { problems: string[]; note: string } {
  const problems: string[] = [];
  const observations = observationSetHash(evidence.observations);
  const stated = summary.evidence?.observations;
  if (stated !== undefined && stated.toLowerCase() !== observations)
    problems.push(`the published observation set hashes to ${observations}, epoch.json states ${stated}`);
  if (approval === undefined) return { problems, note: "" };
  const receipts = evidence.receipts.map((r) => receiptId(r.body));
  const computed = evidenceHashOf(receipts, observations);
  if (computed !== approval.evidenceHash.toLowerCase())
    problems.push(
      `EpochQuorum approved evidence hash ${approval.evidenceHash}; the published receipts and observation set hash ` +
        `to ${computed}: not the evidence the keepers signed`,
    );
  return { problems, note: problems.length === 0 ? "; the evidence hash the quorum approved binds them" : "" };
}

/**
 * Whether every published health observation is signed for this deployment's EpochQuorum by one of its keepers.
 * `recompute` checks each signature and the rule; who may observe is the chain's to say: the keeper set at the
 * block of the quorum's latest approval of the epoch (the set whose signatures committed it), else the current one.
 */
async function checkObservers(
  contracts: LumoraContracts,
  evidence: EpochEvidence,
  block: number | undefined,
): Promise<{ problems: string[]; note: string }> {
  const { observations, observationDomain: domain } = evidence;
  if (observations === undefined) return { problems: [], note: "" };
  const { quorum } = contracts;
  if (quorum === undefined)
    return {
      problems: ["observations are published but the deployment names no EpochQuorum to check observers"],
      note: "",
    };
  const address = await quorum.getAddress();
  const chainId = (await quorum.runner!.provider!.getNetwork()).chainId;
  if (domain !== undefined && (getAddress(domain.quorum) !== address || BigInt(domain.chainId) !== chainId))
    return {
      problems: [
        `observations are signed for quorum ${domain.quorum} on chain ${domain.chainId}, the deployment's is ${address} on chain ${chainId}`,
      ],
      note: "",
    };
  const keepers = new Set(
    (await quorum.keepers(block === undefined ? {} : { blockTag: block })).map((k) => getAddress(k)),
  );
  const at = block === undefined ? "now (no approval of the epoch found)" : `at block ${block}`;
  const problems = observations
    .filter((o) => !keepers.has(getAddress(o.observer)))
    .map((o) => `observation of ${o.subject} by ${o.observer}: not a keeper of EpochQuorum ${address} ${at}`);
  return { problems, note: `; ${observations.length} observations, every observer a quorum keeper ${at}` };
}

/** Verifies epoch `epoch` of `source` against the chain. @throws EpochUnknownError, PublishedEpochError */
export async function verifyEpoch(
  contracts: LumoraContracts,
  source: EpochRecordSource,
  epoch: number,
  options: { signal?: AbortSignal; paymentTerms?: NetworkPaymentTerms } = {},
): Promise<EpochVerification> {
  const summary = await source.summary(epoch, options);
  const [taskDump, rewardDump] = await Promise.all([
    source.dump(epoch, "tasks", options),
    source.dump(epoch, "rewards", options),
  ]);
  const tasks = parseLeaves(taskDump?.values ?? [], fileOf(source, epoch, "tasks"), taskRecord);
  const leaves = parseLeaves(rewardDump?.values ?? [], fileOf(source, epoch, "rewards"), rewardLeaf);
  const taskTree = tasks.length > 0 ? buildTree(tasks, TASK_LEAF_ENCODING) : undefined;
  const rewardTree = leaves.length > 0 ? buildTree(leaves, REWARD_LEAF_ENCODING) : undefined;
  const contributions = leaves.map(([, index, account, contribution]): ContributionEntry => ({
    account,
    index: Number(index),
    contribution,
  }));
  const totalContribution = contributions.reduce((sum, c) => sum + c.contribution, 0n);
  const publication = checkPublication(summary, epoch, taskTree, rewardTree, leaves, totalContribution);
  const evidence = await checkEvidence(contracts, source, summary, contributions, options);

  // The epoch as the keeper built it, so the keeper's own rule says what it committed (markers included).
  const built: BuiltEpoch = {
    bundle: {
      epoch,
      startMs: summary.startMs,
      endMs: summary.endMs,
      tasks,
      contributions,
      reputation: summary.reputation,
      rewardTotal: BigInt(summary.rewards?.rewardTotal ?? 0),
    },
    taskTree,
    rewardTree,
    totalContribution,
  };
  const poolAddress = await contracts.pool.getAddress();
  const task = taskCommitmentOf(built);
  const reward = rewardCommitmentOf(built, poolAddress);

  const [taskRootOnChain, [rewardOnChain]] = await Promise.all([
    contracts.taskLog.rootOf(epoch),
    contracts.pool.epochOf(epoch),
  ]);
  const taskLog = compare(
    "TaskLog",
    { root: task.root, count: task.taskCount, marker: task.marker },
    taskRootOnChain === ZeroHash
      ? undefined
      : { root: taskRootOnChain, count: await committedTaskCount(contracts.taskLog, epoch) },
    "task count",
  );
  const rewardPool = compare(
    "RewardPool",
    { root: reward.root, count: reward.totalContribution, rewardTotal: reward.rewardTotal, marker: reward.marker },
    rewardOnChain.root === ZeroHash
      ? undefined
      : { root: rewardOnChain.root, count: rewardOnChain.totalContribution, rewardTotal: rewardOnChain.rewardTotal },
    "ΣC",
  );

  const problems = [...taskLog.problems, ...rewardPool.problems, ...publication, ...evidence.problems];
  const ok = problems.length === 0;
  const lines = [
    publication.length > 0
      ? `${"published".padEnd(10)} MISMATCH: ${publication.join("; ")}`
      : taskTree === undefined && rewardTree === undefined
        ? `${"published".padEnd(10)} match: epoch.json lists no tasks.json nor rewards.json (an empty epoch)`
        : `${"published".padEnd(10)} match: ${[
            taskTree !== undefined && `tasks.json (${taskTree.size} records)`,
            rewardTree !== undefined && `rewards.json (${rewardTree.size} leaves)`,
          ]
            .filter(Boolean)
            .join(" and ")} rebuild to the roots epoch.json states`,
    describe(taskLog),
    describe(rewardPool),
    evidence.line,
  ];
  const message = ok
    ? `epoch ${epoch} verified: TaskLog and RewardPool hold what ${source.location} publishes`
    : `epoch ${epoch} does NOT match (records from ${source.location}): ${problems.join("; ")}`;
  return {
    epoch,
    source: source.location,
    publication,
    evidence: evidence.problems,
    taskLog,
    rewardPool,
    ok,
    problems,
    lines,
    message,
  };
}

/**
 * `verifyEpoch` over the records the tooling picked (published.ts); an epoch they lack fails with
 * EpochNotPublishedError, which says where they were read and how to point elsewhere.
 */
export async function verifyPublishedEpoch(
  contracts: LumoraContracts,
  records: PublishedRecords,
  epoch: number,
  options: { signal?: AbortSignal; paymentTerms?: NetworkPaymentTerms } = {},
): Promise<EpochVerification> {
  try {
    return await verifyEpoch(contracts, records.source, epoch, options);
  } catch (err) {
    if (err instanceof EpochUnknownError && err.epoch === epoch) throw new EpochNotPublishedError(epoch, records.where);
    throw err;
  }
}
