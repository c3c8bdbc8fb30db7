/**
 * The claim tooling (claims) against an in-process Hardhat chain: epochs are published to a directory
 * by the keeper's publication code, committed from that directory, then claimed, vetoed, flagged and verified.
 */
import { cp, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import { expect } from "chai";
import { parseEther, toBeHex } from "ethers";
import { network } from "hardhat";

import {
  claimAll,
  claimEpoch,
  connectContracts,
  formatRewardsReport,
  fundPool,
  rewardsOf,
  verifyEpoch,
  type ClaimContext,
} from "../../claims/index.ts";
import { buildEpoch } from "../../keeper/epochs/build.ts";
import { DirectoryProofSource } from "../../keeper/epochs/proofs/source.ts";
import { epochDir, publishEpoch, readEpochSummary } from "../../keeper/epochs/proofs/publish.ts";
import type { EpochBundle, TaskRecordValue } from "../../keeper/epochs/types.ts";
import type { Reputation } from "../../types/ethers-contracts/index.js";
import { FAST_FLAG_PARAMETERS } from "./helpers/reputation-parameters.ts";

const { ethers, networkHelpers } = await network.create();
const { time, loadFixture } = networkHelpers;

const HOUR = 3600;
const CHALLENGE_WINDOW = 6 * HOUR;
const CLAIM_PERIOD = 7 * 24 * HOUR;
const REWARD = parseEther("1000");
const REPUTATION_PARAMETERS = FAST_FLAG_PARAMETERS;

function task(n: number, consumer: string, executor: string): TaskRecordValue {
  return [toBeHex(n, 32), consumer, executor, 1000n, 10n, 20n, 1, toBeHex(n + 1, 32), 1, toBeHex(n + 2, 32)];
}

async function flag(reputation: Reputation, keeper: HardhatEthersSigner, account: string): Promise<void> {
  for (const epoch of [1n, 2n]) {
    const packed = await reputation.encodeReport({ node: account, successes: 0, failures: 10 });
    await reputation.connect(keeper).applyReports(epoch, [packed]);
  }
}

async function deployFixture() {
  const [admin, alice, bob, carol, outsider] = await ethers.getSigners();
  const token = await ethers.deployContract("LumoraToken", [admin.address, parseEther("1000000")]);
  const reputation = await ethers.deployContract("Reputation", [admin.address, REPUTATION_PARAMETERS]);
  const taskLog = await ethers.deployContract("TaskLog", [admin.address]);
  const pool = await ethers.deployContract("RewardPool", [
    admin.address,
    await token.getAddress(),
    await reputation.getAddress(),
    CHALLENGE_WINDOW,
    CLAIM_PERIOD,
  ]);
  await reputation.setFlagMirror(await pool.getAddress());
  for (const c of [reputation, taskLog, pool]) await c.grantRole(await c.KEEPER_ROLE(), admin.address);
  await pool.grantRole(await pool.GUARDIAN_ROLE(), admin.address);
  const contracts = await connectContracts(ethers, {
    LumoraToken: await token.getAddress(),
    RewardPool: await pool.getAddress(),
    Reputation: await reputation.getAddress(),
    TaskLog: await taskLog.getAddress(),
  });
  await fundPool(contracts, admin, parseEther("10000"));

  // Three epochs published by the keeper's code; the three accounts keep their indices 0, 1, 2.
  const base = await mkdtemp(path.join(tmpdir(), "lumora-claims-"));
  for (const epoch of [1, 2, 3]) {
    const bundle: EpochBundle = {
      epoch,
      startMs: epoch * 1000,
      endMs: (epoch + 1) * 1000,
      tasks: [task(epoch * 10, alice.address, bob.address), task(epoch * 10 + 1, carol.address, alice.address)],
      contributions: [
        { account: alice.address, index: 0, contribution: 3n * BigInt(epoch) },
        { account: bob.address, index: 1, contribution: 5n },
        { account: carol.address, index: 2, contribution: 7n },
      ],
      reputation: [],
      rewardTotal: REWARD,
    };
    await publishEpoch(await buildEpoch(bundle), base, { uri: `file://${epochDir(base, epoch)}` });
  }
  const ctx: ClaimContext = { contracts, source: new DirectoryProofSource(base) };

  /** Commits an epoch to TaskLog and RewardPool from its published summary (what the submitter does). */
  const commitFromDir = async (epoch: number, dir = base) => {
    const s = await readEpochSummary(dir, epoch);
    await taskLog.commit(epoch, s.tasks!.root, s.tasks!.count, s.uri ?? "");
    await pool.commitEpoch(epoch, s.rewards!.root, s.rewards!.totalContribution, s.rewards!.rewardTotal);
  };
  await commitFromDir(1);
  return { admin, alice, bob, carol, outsider, token, pool, reputation, taskLog, contracts, ctx, base, commitFromDir };
}

describe("Claims (claims)", function () {
  it("tells a holder an epoch is pending, with the time it becomes claimable, and sends nothing", async function () {
    const { ctx, alice } = await loadFixture(deployFixture);
    const before = await ethers.provider.getBlockNumber();
    const result = await claimEpoch(ctx, alice, { epoch: 1, account: alice.address });
    expect(result.sent).to.equal(false);
    expect(result.message).to.match(/pending, claimable from \d{4}-\d\d-\d\dT/);
    expect(await ethers.provider.getBlockNumber()).to.equal(before, "no transaction");
  });

  it("claims once the challenge window is over, then says it was already claimed and sends nothing", async function () {
    const { ctx, alice, token, pool } = await loadFixture(deployFixture);
    await time.increase(CHALLENGE_WINDOW);
    const expected = await pool.rewardFor(1, 3n);
    const balance = await token.balanceOf(alice.address);
    const result = await claimEpoch(ctx, alice, { epoch: 1, account: alice.address });
    expect(result.sent).to.equal(true);
    expect(result.amount).to.equal(expected);
    expect(await token.balanceOf(alice.address)).to.equal(balance + expected);

    const before = await ethers.provider.getBlockNumber();
    const again = await claimEpoch(ctx, alice, { epoch: 1, account: alice.address });
    expect(again.sent).to.equal(false);
    expect(again.message).to.contain("already claimed");
    expect(await ethers.provider.getBlockNumber()).to.equal(before, "no transaction");
  });

  it("claims on an account's behalf: the signer pays gas, the account gets the tokens", async function () {
    const { ctx, bob, outsider, token, pool } = await loadFixture(deployFixture);
    await time.increase(CHALLENGE_WINDOW);
    const expected = await pool.rewardFor(1, 5n);
    const result = await claimEpoch(ctx, outsider, { epoch: 1, account: bob.address });
    expect(result.sent).to.equal(true);
    expect(await token.balanceOf(bob.address)).to.equal(expected);
    expect(await token.balanceOf(outsider.address)).to.equal(0n);
  });

  it("says an epoch was vetoed and sends nothing", async function () {
    const { ctx, alice, pool, commitFromDir } = await loadFixture(deployFixture);
    await commitFromDir(2);
    await pool.vetoEpoch(2);
    await time.increase(CHALLENGE_WINDOW);
    const before = await ethers.provider.getBlockNumber();
    const result = await claimEpoch(ctx, alice, { epoch: 2, account: alice.address });
    expect(result.sent).to.equal(false);
    expect(result.message).to.contain("vetoed");
    expect(await ethers.provider.getBlockNumber()).to.equal(before);
  });

  it("says a flagged account cannot claim and sends nothing", async function () {
    const { ctx, admin, bob, reputation } = await loadFixture(deployFixture);
    await flag(reputation, admin, bob.address);
    await time.increase(CHALLENGE_WINDOW);
    const before = await ethers.provider.getBlockNumber();
    const result = await claimEpoch(ctx, bob, { epoch: 1, account: bob.address });
    expect(result.sent).to.equal(false);
    expect(result.message).to.contain("flagged");
    expect((await claimAll(ctx, bob, { account: bob.address })).message).to.contain("flagged");
    expect(await ethers.provider.getBlockNumber()).to.equal(before);
    const report = await rewardsOf(ctx, bob.address);
    expect(report.epochs.map((r) => r.state)).to.deep.equal(["flagged"]);
  });

  it("claims every claimable epoch in exactly one claimMany transaction", async function () {
    const { ctx, carol, outsider, token, pool, commitFromDir } = await loadFixture(deployFixture);
    await commitFromDir(2);
    await commitFromDir(3);
    await time.increase(CHALLENGE_WINDOW);
    const expected = (await pool.rewardFor(1, 7n)) + (await pool.rewardFor(2, 7n)) + (await pool.rewardFor(3, 7n));
    const before = await ethers.provider.getBlockNumber();
    const result = await claimAll(ctx, outsider, { account: carol.address });
    expect(result.sent).to.equal(true);
    expect(result.epochs).to.deep.equal([1, 2, 3]);
    expect(await ethers.provider.getBlockNumber()).to.equal(before + 1, "one transaction");
    const tx = await ethers.provider.getTransaction(result.txHash!);
    expect(pool.interface.parseTransaction({ data: tx!.data })?.name).to.equal("claimMany");
    expect(await token.balanceOf(carol.address)).to.equal(expected);

    const again = await claimAll(ctx, outsider, { account: carol.address });
    expect(again.sent).to.equal(false);
    expect(again.message).to.contain("nothing to claim");
    expect(await ethers.provider.getBlockNumber()).to.equal(before + 1, "nothing sent the second time");
  });

  it("reports each epoch's state with amounts, and an unknown account clearly", async function () {
    const { ctx, alice, outsider, commitFromDir } = await loadFixture(deployFixture);
    await time.increase(CHALLENGE_WINDOW);
    await claimEpoch(ctx, alice, { epoch: 1, account: alice.address });
    await commitFromDir(2);
    const report = await rewardsOf(ctx, alice.address);
    expect(report.epochs.map((r) => r.state)).to.deep.equal(["claimed", "pending"]);
    expect(formatRewardsReport(report)).to.contain("claimable from");
    const unknown = await rewardsOf(ctx, outsider.address);
    expect(unknown.epochs.map((r) => r.state)).to.deep.equal(["not-included", "not-included"]);
    expect(formatRewardsReport(unknown)).to.contain("unknown account");
  });

  it("verifies a published epoch against the chain and detects a tampered dump", async function () {
    const { contracts, base } = await loadFixture(deployFixture);
    const ok = await verifyEpoch(contracts, new DirectoryProofSource(base), 1);
    expect(ok.ok, ok.message).to.equal(true);
    expect([ok.taskLog.status, ok.rewardPool.status]).to.deep.equal(["match", "match"]);
    expect(ok.rewardPool.chain?.root).to.equal(ok.rewardPool.expected.root);
    expect(ok.taskLog.chain?.root).to.equal(ok.taskLog.expected.root);

    // Someone raises alice's contribution in a copy of the published records.
    const copy = await mkdtemp(path.join(tmpdir(), "lumora-tampered-"));
    await cp(base, copy, { recursive: true });
    const file = path.join(epochDir(copy, 1), "rewards.json");
    const dump = JSON.parse(await readFile(file, "utf8")) as { values: { value: string[] }[] };
    dump.values[0]!.value[3] = "300";
    await writeFile(file, JSON.stringify(dump));
    const bad = await verifyEpoch(contracts, new DirectoryProofSource(copy), 1);
    expect(bad.ok).to.equal(false);
    expect(bad.message).to.contain("does NOT match");
    expect(bad.rewardPool.status).to.equal("mismatch");
    expect(bad.problems.join("\n")).to.contain("RewardPool holds root");

    const tasksFile = path.join(epochDir(copy, 1), "tasks.json");
    const tasks = JSON.parse(await readFile(tasksFile, "utf8")) as { values: { value: unknown[] }[] };
    tasks.values[0]!.value[3] = "999999";
    await writeFile(tasksFile, JSON.stringify(tasks));
    expect((await verifyEpoch(contracts, new DirectoryProofSource(copy), 1)).problems.join("\n")).to.contain(
      "TaskLog holds root",
    );
  });
});
