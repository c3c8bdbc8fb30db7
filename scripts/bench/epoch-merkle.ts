/**
 * Benchmark of the epoch Merkle tree builder (keeper/epochs/merkle*.ts) on reward-schema leaves:
 * build time at 100k and 1M leaves, peak RSS of a process that builds 1M, and OpenZeppelin's
 * StandardMerkleTree.of on the same 100k values for comparison.
 *
 * Run: `npx tsx scripts/bench/epoch-merkle.ts` (one JSON metric per line). Budgets (issue): 1M in
 * ≤ 10 s and ≤ 1.5 GB peak RSS; ≥ 10× faster than OpenZeppelin at 100k.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

import { StandardMerkleTree } from "@openzeppelin/merkle-tree";

import { buildTree, REWARD_LEAF_ENCODING } from "../../keeper/epochs/merkle/tree.ts";
import { buildTreeParallel } from "../../keeper/epochs/merkle/parallel.ts";
import { mulberry32 as prng } from "./lib/prng.ts";

export interface Metric {
  metric: string;
  value: number;
  unit: string;
}

type RewardLeaf = [string, string, string, string];

const CHILD_FLAG = "--merkle-child";
const SEED = 0x1e0a;

/** `n` reward leaves (epoch, index, account, contribution) as the keeper would dump them: strings. */
export function rewardLeaves(n: number, seed = SEED): RewardLeaf[] {
  const rand = prng(seed);
  const word = (): string =>
    Math.floor(rand() * 2 ** 32)
      .toString(16)
      .padStart(8, "0");
  const leaves: RewardLeaf[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const account = `0x${word()}${word()}${word()}${word()}${word()}`;
    const contribution = (BigInt(Math.floor(rand() * 2 ** 32)) * BigInt(Math.floor(rand() * 2 ** 32))).toString();
    leaves[i] = ["42", String(i), account, contribution];
  }
  return leaves;
}

function seconds(since: number): number {
  return Math.round((performance.now() - since) / 10) / 100;
}

/** In the child: build 1M leaves and report the build time and this process's peak RSS. */
async function child(): Promise<void> {
  const leaves = rewardLeaves(1_000_000);
  await warmUp();
  const cpuBefore = process.cpuUsage();
  const start = performance.now();
  const tree = await buildTreeParallel(leaves, REWARD_LEAF_ENCODING);
  const root = tree.root;
  const buildS = seconds(start);
  // All threads' user + system time: shows how much of the wall time other load on the machine took.
  const cpu = process.cpuUsage(cpuBefore);
  const cpuS = Math.round((cpu.user + cpu.system) / 10_000) / 100;
  // maxRSS is in KiB.
  const rssMiB = Math.round(process.resourceUsage().maxRSS / 1024);
  process.stdout.write(JSON.stringify({ buildS, cpuS, rssMiB, root }) + "\n");
}

interface ChildResult {
  buildS: number;
  cpuS: number;
  rssMiB: number;
}

async function runChild(): Promise<ChildResult> {
  const self = fileURLToPath(import.meta.url);
  const proc = spawn(process.execPath, ["--import", import.meta.resolve("tsx"), self, CHILD_FLAG], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  proc.stdout.setEncoding("utf8").on("data", (chunk: string) => (out += chunk));
  const code = await new Promise<number | null>((resolve) => proc.on("close", resolve));
  if (code !== 0) throw new Error(`1M merkle child exited with code ${code}`);
  return JSON.parse(out.trim().split("\n").pop()!) as ChildResult;
}

/** Compiles the hot paths (JIT) of both builders, so neither timed run pays for it. */
async function warmUp(): Promise<void> {
  const few = rewardLeaves(20_000, SEED + 1);
  buildTree(few, REWARD_LEAF_ENCODING);
  await buildTreeParallel(few, REWARD_LEAF_ENCODING, { minParallelLeaves: 1 });
}

export async function benchMerkle(): Promise<Metric[]> {
  const metrics: Metric[] = [];
  const leaves = rewardLeaves(100_000);
  await warmUp();

  let start = performance.now();
  const ours = await buildTreeParallel(leaves, REWARD_LEAF_ENCODING);
  void ours.root;
  const buildS = seconds(start);
  metrics.push({ metric: "merkle.build_s.100k", value: buildS, unit: "s" });

  start = performance.now();
  void buildTree(leaves, REWARD_LEAF_ENCODING).root;
  metrics.push({ metric: "merkle.build_s_1thread.100k", value: seconds(start), unit: "s" });

  start = performance.now();
  const oz = StandardMerkleTree.of(leaves, [...REWARD_LEAF_ENCODING]);
  const ozS = seconds(start);
  if (oz.root !== ours.root) throw new Error(`root mismatch: ours ${ours.root}, OpenZeppelin ${oz.root}`);
  metrics.push({ metric: "merkle.oz_build_s.100k", value: ozS, unit: "s" });
  metrics.push({ metric: "merkle.speedup_vs_oz.100k", value: Math.round((ozS / buildS) * 10) / 10, unit: "x" });

  const big = await runChild();
  metrics.push({ metric: "merkle.build_s.1m", value: big.buildS, unit: "s" });
  metrics.push({ metric: "merkle.build_cpu_s.1m", value: big.cpuS, unit: "s" });
  metrics.push({ metric: "merkle.rss_mib.1m", value: big.rssMiB, unit: "MiB" });
  return metrics;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (process.argv.includes(CHILD_FLAG)) {
    await child();
  } else {
    for (const m of await benchMerkle()) process.stdout.write(JSON.stringify(m) + "\n");
  }
}
