/**
 * Anyone can check an epoch: rebuild both trees from the published records (the values in the dumps, not the
 * dumps' hashes), and compare the roots and totals with the published summary and with the chain
 * (`TaskLog.epochOf(e).root`, `RewardPool.epochOf(e).root`).
 */
import { getAddress } from "ethers";

import { buildTree, REWARD_LEAF_ENCODING, TASK_LEAF_ENCODING } from "../epochs/merkle.ts";
import { readEpochDump, readEpochSummary, type RewardDumpValue } from "../epochs/publish.ts";
import type { LumoraContracts } from "./context.ts";

const ZERO_ROOT = "0x" + "0".repeat(64);

export interface TreeCheck {
  /** Root rebuilt from the published records; undefined when none were published. */
  rebuilt?: string;
  /** Root the summary states. */
  published?: string;
  /** Root committed on chain (undefined when nothing is committed). */
  chain?: string;
  /** Leaves rebuilt vs committed count (tasks) or ΣC (rewards). */
  rebuiltCount: bigint;
  chainCount?: bigint;
  match: boolean;
}

export interface EpochVerification {
  epoch: number;
  tasks: TreeCheck;
  rewards: TreeCheck;
  ok: boolean;
  problems: string[];
  message: string;
}

function normal(root: string | undefined): string | undefined {
  return root === undefined || root.toLowerCase() === ZERO_ROOT ? undefined : root.toLowerCase();
}

/** Verifies epoch `epoch` published under `base` against the chain. */
export async function verifyEpoch(contracts: LumoraContracts, base: string, epoch: number): Promise<EpochVerification> {
  const problems: string[] = [];
  const summary = await readEpochSummary(base, epoch);
  const [taskCommit, [poolEpoch]] = await Promise.all([
    contracts.taskLog.epochOf(epoch),
    contracts.pool.epochOf(epoch),
  ]);

  // Tasks.
  const taskDump = await readEpochDump<readonly unknown[]>(base, epoch, "tasks");
  const taskValues = taskDump?.values.map((v) => v.value) ?? [];
  const tasks: TreeCheck = {
    rebuilt: taskValues.length > 0 ? buildTree(taskValues, TASK_LEAF_ENCODING).root : undefined,
    published: summary.tasks?.root,
    chain: normal(taskCommit.root),
    rebuiltCount: BigInt(taskValues.length),
    chainCount: taskCommit.root === ZERO_ROOT ? undefined : taskCommit.taskCount,
    match: false,
  };
  tasks.match =
    normal(tasks.rebuilt) === tasks.chain &&
    normal(tasks.published) === tasks.chain &&
    (tasks.chainCount === undefined || tasks.chainCount === tasks.rebuiltCount);
  if (normal(tasks.rebuilt) !== normal(tasks.published))
    problems.push(`task records rebuild to ${tasks.rebuilt}, the summary states ${tasks.published}`);
  if (normal(tasks.rebuilt) !== tasks.chain)
    problems.push(`task records rebuild to ${tasks.rebuilt}, TaskLog holds ${tasks.chain ?? "nothing"}`);
  if (tasks.chainCount !== undefined && tasks.chainCount !== tasks.rebuiltCount) {
    problems.push(`${tasks.rebuiltCount} task records published, TaskLog counts ${tasks.chainCount}`);
  }

  // Rewards.
  const rewardDump = await readEpochDump<RewardDumpValue>(base, epoch, "rewards");
  const rewardValues = (rewardDump?.values ?? []).map(
    ({ value }) => [BigInt(value[0]), BigInt(value[1]), getAddress(value[2]), BigInt(value[3])] as const,
  );
  const totalC = rewardValues.reduce((s, v) => s + v[3], 0n);
  const poolRoot = normal(poolEpoch.root);
  const rewards: TreeCheck = {
    rebuilt: rewardValues.length > 0 ? buildTree(rewardValues, REWARD_LEAF_ENCODING).root : undefined,
    published: summary.rewards?.root,
    chain: poolRoot,
    rebuiltCount: totalC,
    chainCount: poolRoot === undefined ? undefined : poolEpoch.totalContribution,
    match: false,
  };
  const wrongEpoch = rewardValues.filter((v) => v[0] !== BigInt(epoch)).length;
  if (wrongEpoch > 0) problems.push(`${wrongEpoch} reward leaves name another epoch`);
  const indices = new Set(rewardValues.map((v) => v[1]));
  if (indices.size !== rewardValues.length) problems.push("two reward leaves share an index");
  rewards.match =
    normal(rewards.rebuilt) === rewards.chain &&
    normal(rewards.published) === rewards.chain &&
    (rewards.chainCount === undefined || rewards.chainCount === totalC) &&
    wrongEpoch === 0 &&
    indices.size === rewardValues.length;
  if (normal(rewards.rebuilt) !== normal(rewards.published))
    problems.push(`reward leaves rebuild to ${rewards.rebuilt}, the summary states ${rewards.published}`);
  if (normal(rewards.rebuilt) !== rewards.chain)
    problems.push(`reward leaves rebuild to ${rewards.rebuilt}, RewardPool holds ${rewards.chain ?? "nothing"}`);
  if (rewards.chainCount !== undefined && rewards.chainCount !== totalC) {
    problems.push(`published ΣC is ${totalC}, RewardPool holds ${rewards.chainCount}`);
  }
  if (summary.rewards !== null && BigInt(summary.rewards.totalContribution) !== totalC) {
    problems.push(`the summary states ΣC ${summary.rewards.totalContribution}, the leaves sum to ${totalC}`);
  }

  const ok = problems.length === 0 && tasks.match && rewards.match;
  const message = ok
    ? `epoch ${epoch} verified: task root ${tasks.chain ?? "(none)"} (${tasks.rebuiltCount} records) and reward root ${rewards.chain ?? "(none)"} (ΣC ${totalC}) match the chain`
    : `epoch ${epoch} does NOT match:\n  - ${problems.join("\n  - ")}`;
  return { epoch, tasks, rewards, ok, problems, message };
}
