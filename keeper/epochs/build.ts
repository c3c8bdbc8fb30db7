/**
 * Bundle → trees: the reward tree over `(epoch, index, account, contribution)` and the task-record tree, both
 * StandardMerkleTree-identical. Large epochs are hashed on worker threads.
 */
import { PARALLEL_BUILD_MIN_LEAVES } from "./epoch-constants.ts";
import { buildTree, REWARD_LEAF_ENCODING, TASK_LEAF_ENCODING, type MerkleTree } from "./merkle.ts";
import { buildTreeParallel } from "./merkle-parallel.ts";
import { totalContribution } from "./contribution.ts";
import type { BuiltEpoch, EpochBundle, RewardLeafValue, TaskRecordValue } from "./types.ts";

export interface BuildEpochOptions {
  /** Leaves from which worker threads are used (default PARALLEL_BUILD_MIN_LEAVES); Infinity never. */
  parallelMinLeaves?: number;
  signal?: AbortSignal;
}

/** The reward leaves of a bundle, in stable-index order. */
export function rewardLeaves(bundle: EpochBundle): RewardLeafValue[] {
  return [...bundle.contributions]
    .sort((a, b) => a.index - b.index)
    .map((c) => [BigInt(bundle.epoch), BigInt(c.index), c.account, c.contribution] as const);
}

async function build<T extends readonly unknown[]>(
  values: readonly T[],
  encoding: readonly string[],
  options: BuildEpochOptions,
): Promise<MerkleTree<T> | undefined> {
  if (values.length === 0) return undefined;
  const min = options.parallelMinLeaves ?? PARALLEL_BUILD_MIN_LEAVES;
  if (values.length < min) return buildTree(values, encoding);
  return buildTreeParallel(values, encoding, { minParallelLeaves: min, signal: options.signal });
}

/** Builds both trees of an epoch; a tree is absent when the epoch has no leaf of its kind. */
export async function buildEpoch(bundle: EpochBundle, options: BuildEpochOptions = {}): Promise<BuiltEpoch> {
  const rewardTree = await build<RewardLeafValue>(rewardLeaves(bundle), REWARD_LEAF_ENCODING, options);
  const taskTree = await build<TaskRecordValue>(bundle.tasks, TASK_LEAF_ENCODING, options);
  return { bundle, rewardTree, taskTree, totalContribution: totalContribution(bundle.contributions) };
}
