/**
 * `npm run bench:gas` — gas figures of the contracts on the in-process Hardhat network, one JSON object per line.
 * Baselines (a minimal Uniswap-style distributor, a one-task-per-transaction log) are measured in the same run.
 */
import { network } from "hardhat";

import { LUMORA_DEFAULTS } from "../../ignition/modules/Lumora.js";
import { buildTree, REWARD_LEAF_ENCODING } from "../../keeper/epochs/merkle/tree.ts";

import { benchQuorumCommit } from "./gas-quorum.ts";
import { printMetrics, type Metric } from "./lib/metrics.ts";

const TREE_LEAVES = Number(process.env.LUMORA_BENCH_LEAVES ?? 100_000);
const CLAIMERS = 25;
const CLAIM_MANY_EPOCHS = 5;
const REPUTATION_BATCH = 500;

const { ethers, networkHelpers } = await network.create();
const [deployer] = await ethers.getSigners();

let seed = 0x1badb002;
const rand = () => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed / 0x80000000;
};
const randomAddress = () => ethers.getAddress(ethers.hexlify(ethers.randomBytes(20)));
const gasOf = async (tx: Promise<{ wait(): Promise<{ gasUsed: bigint } | null> }>) =>
  Number((await (await tx).wait())!.gasUsed);

const metrics: Metric[] = [];
const out = (metric: string, value: number, unit = "gas") => {
  const digits = unit === "ratio" ? 1000 : 100;
  const m = { metric, value: Math.round(value * digits) / digits, unit };
  metrics.push(m);
  printMetrics([m]);
};

// ── deploy ──────────────────────────────────────────────────────────────────
const token = await ethers.deployContract("LumoraToken", [deployer.address, ethers.parseEther("1000000000")]);
const reputation = await ethers.deployContract("Reputation", [
  deployer.address,
  { ...LUMORA_DEFAULTS.reputationParameters },
]);
const pool = await ethers.deployContract("RewardPool", [
  deployer.address,
  await token.getAddress(),
  await reputation.getAddress(),
  3600,
  86_400 * 30,
]);
await (await reputation.setFlagMirror(await pool.getAddress())).wait();
const taskLog = await ethers.deployContract("TaskLog", [deployer.address]);
for (const c of [pool, taskLog, reputation]) await (await c.grantRole(await c.KEEPER_ROLE(), deployer.address)).wait();
const funding = ethers.parseEther("100000000");
await (await token.approve(await pool.getAddress(), funding)).wait();
await (await pool.fund(funding)).wait();

/** The header a claim of `epoch` carries, as a plain object (ethers refuses its own frozen results as arguments). */
async function headerOf(epoch: number) {
  const { root, terms } = await pool.claimHeaderOf(epoch);
  return { root, terms };
}

// ── trees ───────────────────────────────────────────────────────────────────
function rewardTree(epoch: number, size: number, pinned: Map<number, string> = new Map()) {
  const values: [number, number, string, bigint][] = [];
  for (let i = 0; i < size; i++) {
    values.push([epoch, i, pinned.get(i) ?? randomAddress(), BigInt(1 + Math.floor(rand() * 1e12))]);
  }
  // Same root and proofs as OpenZeppelin's StandardMerkleTree (property-tested in test/keeper/epochs).
  const tree = buildTree(values, REWARD_LEAF_ENCODING);
  const total = values.reduce((s, v) => s + v[3], 0n);
  return { tree, values, total };
}
const reward = ethers.parseEther("1000000");
const randomIndices = (n: number, exclude: Set<number> = new Set()) => {
  const s = new Set<number>();
  while (s.size < n) {
    const i = Math.floor(rand() * TREE_LEAVES);
    if (!exclude.has(i)) s.add(i);
  }
  return [...s];
};

// ── RewardPool.commitEpoch: the very first epoch pays for fresh pool-wide slots; later ones are the steady state.
const first = rewardTree(1, 10);
out("gas.rewardpool.commit.first_epoch", await gasOf(pool.commitEpoch(1, first.tree.root, first.total, reward)));
// Claimers whose leaves fall in distinct 256-index blocks: every claim writes a fresh bitmap word in RewardPool
// (32 indices a word) and in the baseline (256 a word) alike, so neither is flattered by a warm word.
const claimIndices: number[] = [];
while (claimIndices.length < CLAIMERS) {
  const [i] = randomIndices(1);
  if (!claimIndices.some((j) => j >> 8 === i >> 8)) claimIndices.push(i);
}
const claimers = new Map(claimIndices.map((i) => [i, randomAddress()]));
const big = rewardTree(2, TREE_LEAVES, claimers);
const commitBig = await gasOf(pool.commitEpoch(2, big.tree.root, big.total, reward));
const small = rewardTree(3, 10);
out("gas.rewardpool.commit.10", await gasOf(pool.commitEpoch(3, small.tree.root, small.total, reward)));
out(`gas.rewardpool.commit.${TREE_LEAVES}`, commitBig);
await networkHelpers.time.increase(3601);

// ── RewardPool.claim: 25 first-time holders across the big tree (submitted on their behalf) ─────────
let claimGas = 0;
const bigHeader = await headerOf(2);
for (const index of claimIndices) {
  const [e, i, account, contribution] = big.values[index];
  claimGas += await gasOf(pool.claim(e, bigHeader, i, account, contribution, big.tree.getProof(index)));
}
out("gas.claim.avg", claimGas / CLAIMERS);

// Baseline in the same run: a minimal Uniswap-style distributor on a tree of the same shape, same leaf
// positions, fresh holders too.
const baseClaimers = new Map(claimIndices.map((i) => [i, randomAddress()]));
const baseTree = rewardTree(1, TREE_LEAVES, baseClaimers);
const baseline = await ethers.deployContract("BaselineMerkleDistributor", [
  await token.getAddress(),
  baseTree.tree.root,
  1,
]);
await (await token.transfer(await baseline.getAddress(), baseTree.total)).wait();
let baselineGas = 0;
for (const index of claimIndices) {
  const [, i, account, amount] = baseTree.values[index];
  baselineGas += await gasOf(baseline.claim(i, account, amount, baseTree.tree.getProof(index)));
}
out("gas.claim.baseline_minimal.avg", baselineGas / CLAIMERS);
out("gas.claim.ratio_vs_baseline", claimGas / baselineGas, "ratio");

// ── claimMany: marginal gas of each extra epoch, trees of TREE_LEAVES leaves ──────────────────────
// Two fresh holders per scenario: `one` claims a single epoch, `many` claims CLAIM_MANY_EPOCHS epochs; the
// difference divided by the extra epochs is the marginal cost of an epoch.
// - stableIndex: the holder keeps its leaf index across epochs (the keeper assigns stable indices), so its
//   claimed flags share one bitmap word per 8 epochs;
// - warm: another holder already claimed in each epoch (the steady state of an epoch with many claimers);
//   otherwise the holder is its epochs' first claimer and pays the epoch's fresh `claimed` slot.
type ClaimArg = {
  epoch: number;
  header: Awaited<ReturnType<typeof headerOf>>;
  index: number;
  contribution: bigint;
  proof: string[];
};
let nextEpoch = 4;
async function claimManyMarginal(stableIndex: boolean, warm: boolean) {
  const one = randomAddress();
  const many = randomAddress();
  const [oneIndex, manyIndex] = randomIndices(2);
  const manyClaims: ClaimArg[] = [];
  const warmers: { account: string; claim: ClaimArg }[] = [];
  let oneClaim: ClaimArg | undefined;
  // Start on a group boundary so the stable-index word is fresh for the first epoch, as for `one`.
  while (nextEpoch % 8 !== 0) {
    const filler = rewardTree(nextEpoch, 10);
    await (await pool.commitEpoch(nextEpoch++, filler.tree.root, filler.total, reward)).wait();
  }
  const first = nextEpoch;
  for (let k = 0; k <= CLAIM_MANY_EPOCHS; k++) {
    const epoch = nextEpoch++;
    const iOne = stableIndex ? oneIndex : randomIndices(1)[0];
    const iMany = stableIndex ? manyIndex : randomIndices(1, new Set([iOne]))[0];
    const iWarm = randomIndices(1, new Set([iOne, iMany]))[0];
    const warmAccount = randomAddress();
    const pinned = new Map<number, string>([[iWarm, warmAccount]]);
    if (k === 0) pinned.set(iOne, one);
    else pinned.set(iMany, many);
    const t = rewardTree(epoch, TREE_LEAVES, pinned);
    await (await pool.commitEpoch(epoch, t.tree.root, t.total, reward)).wait();
    const header = await headerOf(epoch);
    const arg = (i: number) => ({ epoch, header, index: i, contribution: t.values[i][3], proof: t.tree.getProof(i) });
    if (k === 0) oneClaim = arg(iOne);
    else manyClaims.push(arg(iMany));
    warmers.push({ account: warmAccount, claim: arg(iWarm) });
  }
  if (first % 8 !== 0) throw new Error("epoch group misaligned");
  await networkHelpers.time.increase(3601);
  if (warm) for (const w of warmers) await (await pool.claimMany(w.account, [w.claim])).wait();
  const gasOne = await gasOf(pool.claimMany(one, [oneClaim!]));
  const gasMany = await gasOf(pool.claimMany(many, manyClaims));
  return { gasOne, gasMany, perExtra: (gasMany - gasOne) / (CLAIM_MANY_EPOCHS - 1) };
}
const steady = await claimManyMarginal(true, true);
out("gas.claimMany.1_epoch", steady.gasOne);
out(`gas.claimMany.${CLAIM_MANY_EPOCHS}_epochs`, steady.gasMany);
out("gas.claimMany.per_extra_epoch", steady.perExtra);
out("gas.claimMany.per_extra_epoch.first_claimer", (await claimManyMarginal(true, false)).perExtra);
out("gas.claimMany.per_extra_epoch.random_index", (await claimManyMarginal(false, true)).perExtra);

// ── TaskLog.commit for 10 and TREE_LEAVES tasks, and the naive baseline ─────
const taskRoot = ethers.keccak256(ethers.toUtf8Bytes("tasks"));
const uri = "ipfs://bafybeigdyrztxq5b6yq4xq2m3kq3nq2y7n6x3c5i6c3k4z2e4s7t2u5v6w";
out("gas.tasklog.commit.first_epoch", await gasOf(taskLog.commit(1, taskRoot, 10, uri)));
const commitTasks10 = await gasOf(taskLog.commit(2, taskRoot, 10, uri));
const commitTasksBig = await gasOf(taskLog.commit(3, taskRoot, TREE_LEAVES, uri));
out("gas.tasklog.commit.10", commitTasks10);
out(`gas.tasklog.commit.${TREE_LEAVES}`, commitTasksBig);
const naive = await ethers.deployContract("NaiveTaskLog");
let naiveGas = 0;
const NAIVE_SAMPLES = 10;
for (let i = 0; i < NAIVE_SAMPLES; i++) {
  naiveGas += await gasOf(
    naive.log({
      taskId: ethers.id(`task-${i}`),
      consumer: randomAddress(),
      executor: randomAddress(),
      bytesMoved: 1_048_576 + i,
      startedAt: 1_700_000_000 + i,
      endedAt: 1_700_000_060 + i,
      status: 1,
      dataSha256: ethers.sha256(ethers.toUtf8Bytes(`data-${i}`)),
      attempts: 1,
      evidence: ethers.id(`receipt-${i}`),
    }),
  );
}
const naivePerTask = naiveGas / NAIVE_SAMPLES;
out("gas.tasklog.per_task_naive", naivePerTask);
out("gas.tasklog.per_task_batched.10", commitTasks10 / 10);
out(`gas.tasklog.per_task_batched.${TREE_LEAVES}`, commitTasksBig / TREE_LEAVES);
out("gas.tasklog.batch_advantage.10", naivePerTask / (commitTasks10 / 10), "ratio");
out("gas.tasklog.batch_advantage", naivePerTask / (commitTasksBig / TREE_LEAVES), "ratio");

// ── Reputation: per already-known node in a batch of 500 ────────────────────
const nodes = Array.from({ length: REPUTATION_BATCH }, randomAddress);
const report = (k: number) =>
  nodes.map((node, i) =>
    ethers.solidityPacked(["address", "uint32", "uint32", "uint32"], [node, 10 + ((i + k) % 7), (i * k) % 3, 0]),
  );
const firstBatch = await gasOf(reputation.applyReports(1, report(1)));
const knownBatch = await gasOf(reputation.applyReports(2, report(2)));
out("gas.reputation.per_new_node", firstBatch / REPUTATION_BATCH);
out("gas.reputation.per_node", knownBatch / REPUTATION_BATCH);

// ── Epoch commitments through the keeper quorum (t of n signatures), next to the direct path ──
await benchQuorumCommit(ethers, out);
