/**
 * The quorum part of `npm run bench:gas`: an epoch's commitments through EpochQuorum with t = 3 of n = 5 keeper
 * signatures, next to the same commitments sent directly by a KEEPER_ROLE key (the pre-quorum path), both on fresh
 * deployments in steady state (the second epoch: the first pays for fresh pool-wide slots).
 */
import { Wallet, id } from "ethers";
import type { HardhatEthers } from "@nomicfoundation/hardhat-ethers/types";

import { LUMORA_DEFAULTS } from "../../ignition/modules/Lumora.js";
import { buildTree, REWARD_LEAF_ENCODING } from "../../keeper/epochs/merkle/tree.ts";
import { commitmentDigest, packSignatures, quorumDomain } from "../../keeper/epochs/quorum/commitment.ts";

const KEEPERS = 5;
const THRESHOLD = 3;

type Out = (metric: string, value: number, unit?: string) => void;

export async function benchQuorumCommit(ethers: HardhatEthers, out: Out): Promise<void> {
  const [deployer] = await ethers.getSigners();
  const gasOf = async (tx: Promise<{ wait(): Promise<{ gasUsed: bigint } | null> }>) =>
    Number((await (await tx).wait())!.gasUsed);
  const reward = 10n ** 21n;

  async function deploySet() {
    const token = await ethers.deployContract("LumoraToken", [deployer.address, 10n ** 27n]);
    const reputation = await ethers.deployContract("Reputation", [
      deployer.address,
      { ...LUMORA_DEFAULTS.reputationParameters },
    ]);
    const taskLog = await ethers.deployContract("TaskLog", [deployer.address]);
    const pool = await ethers.deployContract("RewardPool", [
      deployer.address,
      await token.getAddress(),
      await reputation.getAddress(),
      3600,
      86_400 * 30,
    ]);
    // The pool refuses commitments until Reputation mirrors its flags into it (as the Ignition module links them).
    await (await reputation.setFlagMirror(await pool.getAddress())).wait();
    await (await token.approve(await pool.getAddress(), 100n * reward)).wait();
    await (await pool.fund(100n * reward)).wait();
    return { reputation, taskLog, pool };
  }
  const epochData = (epoch: number) => {
    const values = Array.from({ length: 10 }, (_, i) => [epoch, i, Wallet.createRandom().address, 1000n + BigInt(i)]);
    const tree = buildTree(values, REWARD_LEAF_ENCODING);
    return {
      epoch: BigInt(epoch),
      taskRoot: id(`tasks ${epoch}`),
      taskCount: 10n,
      taskUri: `lumora:epoch/${epoch}/tasks`,
      rewardRoot: tree.root,
      totalContribution: values.reduce((s, v) => s + (v[3] as bigint), 0n),
      rewardTotal: reward,
      reportsRoot: "0x" + "00".repeat(32),
      evidenceHash: id(`evidence ${epoch}`),
    };
  };

  // ── direct: one KEEPER_ROLE key, two transactions ──
  const direct = await deploySet();
  for (const c of [direct.taskLog, direct.pool]) {
    await (await c.grantRole(await c.KEEPER_ROLE(), deployer.address)).wait();
  }
  let directTaskLog = 0;
  let directPool = 0;
  for (const epoch of [1, 2]) {
    const c = epochData(epoch);
    directTaskLog = await gasOf(direct.taskLog.commit(c.epoch, c.taskRoot, c.taskCount, c.taskUri));
    directPool = await gasOf(direct.pool.commitEpoch(c.epoch, c.rewardRoot, c.totalContribution, c.rewardTotal));
  }

  // ── quorum: t of n signatures, one transaction for both contracts ──
  const set = await deploySet();
  const keepers = Array.from({ length: KEEPERS }, (_, i) => new Wallet(id(`bench keeper ${i}`)));
  const quorum = await ethers.deployContract("EpochQuorum", [
    deployer.address,
    await set.taskLog.getAddress(),
    await set.reputation.getAddress(),
    await set.pool.getAddress(),
    keepers.map((k) => k.address),
    THRESHOLD,
  ]);
  for (const c of [set.taskLog, set.reputation, set.pool]) {
    await (await c.grantRole(await c.KEEPER_ROLE(), await quorum.getAddress())).wait();
  }
  const { chainId } = await ethers.provider.getNetwork();
  const domain = quorumDomain(chainId, await quorum.getAddress());
  const commitWith = async (epoch: number, signers: Wallet[]) => {
    const c = epochData(epoch);
    const digest = commitmentDigest(domain, c);
    const signatures = packSignatures(new Map(signers.map((k) => [k.address, k.signingKey.sign(digest).serialized])));
    return gasOf(quorum.commitEpoch(c, [], [], signatures));
  };
  const first = await commitWith(1, keepers.slice(0, THRESHOLD));
  const steady = await commitWith(2, keepers.slice(0, THRESHOLD));
  const all = await commitWith(3, keepers);
  const directBoth = directTaskLog + directPool - 21_000; // one transaction's base cost instead of two
  out("gas.commit.direct.tasklog", directTaskLog);
  out("gas.commit.direct.rewardpool", directPool);
  out("gas.commit.quorum.first_epoch", first);
  out(`gas.commit.quorum.t${THRESHOLD}_of_${KEEPERS}`, steady);
  out(`gas.commit.quorum.t${THRESHOLD}_of_${KEEPERS}.per_contract`, steady / 2);
  out(`gas.commit.quorum.t${THRESHOLD}_of_${KEEPERS}.check`, steady - directBoth);
  out("gas.commit.quorum.per_extra_signature", (all - steady) / (KEEPERS - THRESHOLD));
}
