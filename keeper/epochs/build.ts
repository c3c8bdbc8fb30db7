/**
 * Bundle → trees: the reward tree over `(epoch, index, account, contribution)` and the task-record tree, both
 * StandardMerkleTree-identical. Large epochs are hashed on worker threads.
 */
import { MERKLE_PARALLEL_MIN_LEAVES } from "./merkle/constants.ts";
import { buildTree, REWARD_LEAF_ENCODING, TASK_LEAF_ENCODING, type MerkleTree } from "./merkle/tree.ts";
import { buildTreeParallel } from "./merkle/parallel.ts";
import { totalContribution } from "./collect/contribution.ts";
import type { BuiltEpoch, EpochBundle, RewardLeafValue, TaskRecordValue } from "./types.ts";

export interface BuildEpochOptions {
  /** Leaves from which worker threads are used (default MERKLE_PARALLEL_MIN_LEAVES); Infinity never. */
  parallelMinLeaves?: number;
  signal?: AbortSignal;
}

/**
 * The reward leaves of a bundle, in stable-index order. Throws when two leaves share an index: RewardPool keys its
 * claimed bitmap by (epoch, index), so the second of them could never be claimed (AccountIndex never assigns one
 * index twice; a bundle read from elsewhere is checked here before its root can reach the chain).
 */
export function rewardLeaves(bundle: EpochBundle): RewardLeafValue[] {
  const sorted = [...bundle.contributions].sort((a, b) => a.index - b.index);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i].index === sorted[i - 1].index) {
      throw new Error(
        `epoch ${bundle.epoch}: leaf index ${sorted[i].index} is given to both ${sorted[i - 1].account} and ` +
          `${sorted[i].account}; the second could never claim`,
      );
    }
  }
  return sorted.map((c) => [BigInt(bundle.epoch), BigInt(c.index), c.account, c.contribution] as const);
}

async function build<T extends readonly unknown[]>(
  values: readonly T[],
  encoding: readonly string[],
  options: BuildEpochOptions,
): Promise<MerkleTree<T> | undefined> {
  if (values.length === 0) return undefined;
  const min = options.parallelMinLeaves ?? MERKLE_PARALLEL_MIN_LEAVES;
  if (values.length < min) return buildTree(values, encoding);
  return buildTreeParallel(values, encoding, { minParallelLeaves: min, signal: options.signal });
}

/** Builds both trees of an epoch; a tree is absent when the epoch has no leaf of its kind. */
export async function buildEpoch(bundle: EpochBundle, options: BuildEpochOptions = {}): Promise<BuiltEpoch> {
  const rewardTree = await build<RewardLeafValue>(rewardLeaves(bundle), REWARD_LEAF_ENCODING, options);
  const taskTree = await build<TaskRecordValue>(bundle.tasks, TASK_LEAF_ENCODING, options);
  return { bundle, rewardTree, taskTree, totalContribution: totalContribution(bundle.contributions) };
}
