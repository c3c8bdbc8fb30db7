import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { concat, getAddress, keccak256, type ContractTransactionResponse } from "ethers";

/** RewardPool's leaf encoding: `(epoch, index, account, contribution)`, as the keeper builds it. */
export const LEAF_ENCODING = ["uint64", "uint256", "address", "uint256"];

/** One leaf's values, in {@link LEAF_ENCODING} order. */
export type RewardLeaf = [epoch: bigint, index: bigint, account: string, contribution: bigint];

/** One contributor of an epoch; `index` defaults to its position in the list. */
export interface RewardEntry {
  account: string;
  contribution: bigint;
  index?: bigint;
}

/** One leaf with its proof, ready to be passed to `claim` or `claimMany`. */
export interface RewardClaim {
  epoch: bigint;
  index: bigint;
  account: string;
  contribution: bigint;
  proof: string[];
}

/** An epoch's distribution as the keeper commits it. */
export interface EpochDistribution {
  epoch: bigint;
  tree: StandardMerkleTree<RewardLeaf>;
  root: string;
  /** ΣC over the leaves. */
  totalContribution: bigint;
  claims: RewardClaim[];
}

/**
 * Builds an epoch's tree with `@openzeppelin/merkle-tree` (the third-party tool whose encoding RewardPool
 * must accept) and the proof of every leaf.
 */
export function buildDistribution(epoch: bigint, entries: readonly RewardEntry[]): EpochDistribution {
  const values: RewardLeaf[] = entries.map((entry, position) => [
    epoch,
    entry.index ?? BigInt(position),
    getAddress(entry.account),
    entry.contribution,
  ]);
  const tree = StandardMerkleTree.of(values, LEAF_ENCODING);
  const claims = values.map(([leafEpoch, index, account, contribution], position) => ({
    epoch: leafEpoch,
    index,
    account,
    contribution,
    proof: tree.getProof(position),
  }));
  const totalContribution = values.reduce((sum, [, , , contribution]) => sum + contribution, 0n);
  return { epoch, tree, root: tree.root, totalContribution, claims };
}

/** `R_total · C_i / ΣC` rounded down: what RewardPool must pay for one leaf. */
export function expectedReward(rewardTotal: bigint, contribution: bigint, totalContribution: bigint): bigint {
  return (rewardTotal * contribution) / totalContribution;
}

/** The `Claim` struct of `claimMany`, without its epoch header ({@link claimer} adds it). */
export function toClaimStruct(claim: RewardClaim) {
  return { epoch: claim.epoch, index: claim.index, contribution: claim.contribution, proof: claim.proof };
}

/** An epoch's header as `claim` / `claimMany` carry it. */
export interface EpochHeader {
  root: string;
  terms: bigint;
}

/** The pool's part a claim needs: the header view and the two claim functions. */
interface ClaimingPool {
  claimHeaderOf(epoch: bigint): Promise<{ root: string; terms: bigint }>;
  claim(
    epoch: bigint,
    header: EpochHeader,
    index: bigint,
    account: string,
    contribution: bigint,
    proof: string[],
  ): Promise<ContractTransactionResponse>;
  claimMany(
    account: string,
    claims: (ReturnType<typeof toClaimStruct> & { header: EpochHeader })[],
  ): Promise<ContractTransactionResponse>;
}

/** The header of `epoch` read from the pool right before a claim, as a fresh object (ethers refuses its own results). */
export async function headerOf(pool: Pick<ClaimingPool, "claimHeaderOf">, epoch: bigint): Promise<EpochHeader> {
  const { root, terms } = await pool.claimHeaderOf(epoch);
  return { root, terms };
}

/**
 * Claims with the leaf's own arguments: reads each epoch's header from the pool (as the claim tooling does) and
 * sends `claim` / `claimMany` with it. A `Claim` that already carries a header (a forged one, say) keeps it.
 */
export function claimer(pool: ClaimingPool) {
  return {
    claim: async (epoch: bigint, index: bigint, account: string, contribution: bigint, proof: string[]) =>
      pool.claim(epoch, await headerOf(pool, epoch), index, account, contribution, proof),
    claimMany: async (
      account: string,
      claims: readonly (ReturnType<typeof toClaimStruct> & { header?: EpochHeader })[],
    ) =>
      pool.claimMany(
        account,
        await Promise.all(claims.map(async (c) => ({ ...c, header: c.header ?? (await headerOf(pool, c.epoch)) }))),
      ),
  };
}

/** OpenZeppelin's commutative node hash: `keccak256` of the two children in ascending order. */
export function hashPair(a: string, b: string): string {
  return BigInt(a) < BigInt(b) ? keccak256(concat([a, b])) : keccak256(concat([b, a]));
}

/** Folds a proof onto a node, as `MerkleProof.processProof` does. */
export function processProof(node: string, proof: readonly string[]): string {
  return proof.reduce((acc, sibling) => hashPair(acc, sibling), node);
}

/** An internal (non-leaf, non-root) node of a tree, with its two children and the proof above it. */
export interface InternalNode {
  hash: string;
  left: string;
  right: string;
  proof: string[];
}

/**
 * Picks an internal node of `tree` below the root (the tree needs at least 4 leaves). The tree's array layout
 * is OpenZeppelin's: root at 0, children of node `i` at `2i + 1` and `2i + 2`.
 */
export function internalNodeOf(tree: StandardMerkleTree<RewardLeaf>): InternalNode {
  const nodes = tree.dump().tree;
  const position = 1;
  if (2 * position + 2 >= nodes.length) throw new Error("tree too small to have an internal node below the root");
  const proof: string[] = [];
  for (let i = position; i > 0; i = Math.floor((i - 1) / 2)) {
    proof.push(nodes[i % 2 === 1 ? i + 1 : i - 1]);
  }
  return { hash: nodes[position], left: nodes[2 * position + 1], right: nodes[2 * position + 2], proof };
}
