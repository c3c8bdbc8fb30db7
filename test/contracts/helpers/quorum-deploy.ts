/**
 * The contract set an EpochQuorum commits to, deployed for a test: token, Reputation (with the test parameters),
 * TaskLog, RewardPool and the EpochQuorum holding KEEPER_ROLE on the three; the flag mirror set, a guardian, the
 * pool funded, a challenger funded and approved. Returns the contracts and the quorum's EIP-712 domain.
 */
import type { HardhatEthers, HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";

import type {
  EpochQuorum,
  LumoraToken,
  Reputation,
  RewardPool,
  TaskLog,
} from "../../../types/ethers-contracts/index.js";
import { quorumDomain } from "./quorum.ts";
import { REPUTATION_PARAMETERS } from "./reputation-parameters.ts";

export interface QuorumSetOptions {
  admin: HardhatEthersSigner;
  guardian: HardhatEthersSigner;
  challenger: HardhatEthersSigner;
  keepers: string[];
  threshold: number;
  challengeWindow: bigint;
  claimPeriod: bigint;
  supply: bigint;
  /** Funded into the pool. */
  fund: bigint;
  /** The challenge bond (no challenge reward). */
  bond: bigint;
  /** Sent to the challenger and approved for the pool. */
  challengerFunds: bigint;
}

export async function deployQuorumSet(ethers: HardhatEthers, o: QuorumSetOptions) {
  const { admin } = o;
  const token: LumoraToken = await ethers.deployContract("LumoraToken", [admin.address, o.supply]);
  const reputation: Reputation = await ethers.deployContract("Reputation", [admin.address, REPUTATION_PARAMETERS]);
  const taskLog: TaskLog = await ethers.deployContract("TaskLog", [admin.address]);
  const pool: RewardPool = await ethers.deployContract("RewardPool", [
    admin.address,
    await token.getAddress(),
    await reputation.getAddress(),
    o.challengeWindow,
    o.claimPeriod,
  ]);
  const quorum: EpochQuorum = await ethers.deployContract("EpochQuorum", [
    admin.address,
    await taskLog.getAddress(),
    await reputation.getAddress(),
    await pool.getAddress(),
    o.keepers,
    o.threshold,
  ]);
  for (const c of [taskLog, reputation, pool]) await c.grantRole(await c.KEEPER_ROLE(), await quorum.getAddress());
  await reputation.setFlagMirror(await pool.getAddress());
  await pool.grantRole(await pool.GUARDIAN_ROLE(), o.guardian.address);
  await pool.setChallengeTerms(o.bond, 0n);
  await token.approve(await pool.getAddress(), o.fund);
  await pool.fund(o.fund);
  await token.transfer(o.challenger.address, o.challengerFunds);
  await token.connect(o.challenger).approve(await pool.getAddress(), o.challengerFunds);
  const { chainId } = await ethers.provider.getNetwork();
  const domain = quorumDomain(chainId, await quorum.getAddress());
  return { token, reputation, taskLog, pool, quorum, domain };
}
