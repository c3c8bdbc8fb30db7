import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, afterEach, before, describe, it } from "node:test";

import { ZeroHash } from "ethers";

import { Chain } from "../../../../keeper/chain/index.ts";
import { EpochSubmitter, taskMarkerRecord } from "../../../../keeper/epochs/submit/submitter.ts";
import { InsufficientRewardError, PreviousEpochPendingError } from "../../../../keeper/epochs/submit/errors.ts";
import { openStore, type Store } from "../../../../keeper/store/index.ts";
import {
  LumoraToken__factory,
  RewardPool__factory,
  TaskLog__factory,
} from "../../../../types/ethers-contracts/index.ts";
import { silent } from "../../helpers.ts";
import {
  account,
  deployLumora,
  devWallet,
  makeBuiltEpoch,
  rpcProvider,
  startHardhatNode,
  type HardhatNode,
} from "../../chain/helpers.ts";

const KEEPER = devWallet(1);

describe("epoch submission", () => {
  let node: HardhatNode;
  let dir: string;
  const cleanups: (() => Promise<void> | void)[] = [];

  before(async () => {
    node = await startHardhatNode();
    dir = await mkdtemp(path.join(tmpdir(), "lumora-submit-"));
  });
  after(async () => {
    await node.stop();
    await rm(dir, { recursive: true, force: true });
  });
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function keeper(
    record: Awaited<ReturnType<typeof deployLumora>>["record"],
    name: string,
    init: Partial<ConstructorParameters<typeof Chain>[1]> = {},
  ) {
    const store: Store = openStore(path.join(dir, `${name}.db`));
    const chain = new Chain(
      { logger: silent },
      { rpcUrl: node.url, deployment: record, privateKey: KEEPER.privateKey, receiptPollMs: 50, ...init },
    );
    await chain.start();
    const submitter = new EpochSubmitter({ chain, store, logger: silent }, { reputationBatchNodes: 4 });
    cleanups.push(async () => {
      await submitter.stop();
      await chain.stop();
      store.close();
    });
    return { chain, store, submitter };
  }

  it("commits one epoch to all three contracts; roots match, proofs verify and a claim pays R_total·C_i/ΣC", async () => {
    const { record } = await deployLumora(node.url, { keepers: [KEEPER.address], fund: 10n ** 24n });
    const { submitter, chain } = await keeper(record, "happy");
    const built = makeBuiltEpoch(1, { tasks: 20, contributors: 10, reports: 10 });

    const result = await submitter.submit(built);
    assert.equal(result.taskLog, "sent");
    assert.equal(result.rewardPool, "sent");
    assert.deepEqual(result.reputation, { sent: 10, found: 0, batches: 3 });

    const { taskLog, rewardPool, reputation } = chain.contracts;
    assert.equal(await taskLog.rootOf(1), built.taskTree!.root);
    // TaskLog stores the root only; the task count is in the commitment's event.
    const [committed] = await taskLog.queryFilter(taskLog.filters.EpochCommitted(1));
    assert.equal(committed!.args.taskCount, 20n);
    const [r] = await rewardPool.epochOf(1);
    assert.equal(r.root, built.rewardTree!.root);
    assert.equal(r.totalContribution, built.totalContribution);
    assert.equal(r.rewardTotal, built.bundle.rewardTotal);
    for (const rep of built.bundle.reputation) {
      const n = await reputation.nodeOf(rep.node);
      assert.equal(n.lastEpoch, 1n, `node ${rep.node} reported for epoch 1`);
      assert.equal(n.successes, BigInt(rep.successes), `successes of ${rep.node}`);
    }

    // A task proof verifies on chain.
    const rec = built.bundle.tasks[3]!;
    const record3 = {
      taskId: rec[0],
      consumer: rec[1],
      executor: rec[2],
      bytesMoved: rec[3],
      startedAt: rec[4],
      endedAt: rec[5],
      status: rec[6],
      dataSha256: rec[7],
      attempts: rec[8],
      evidence: rec[9],
    };
    assert.equal(await taskLog.verifyTask(1, record3, built.taskTree!.getProof(3)), true);

    // Submitting again changes nothing: every step is found on chain.
    const again = await submitter.submit(built);
    assert.equal(again.taskLog, "found");
    assert.equal(again.rewardPool, "found");
    assert.deepEqual(again.reputation, { sent: 0, found: 10, batches: 0 });
    assert.deepEqual(again.txHashes, { reputation: [] });

    // A claim after the challenge window pays R_total · C_i / ΣC.
    const provider = rpcProvider(node.url);
    cleanups.push(() => provider.destroy());
    await provider.send("evm_increaseTime", [3601]);
    await provider.send("evm_mine", []);
    const claimer = devWallet(2).connect(provider);
    const pool = RewardPool__factory.connect(record.contracts.RewardPool, claimer);
    const token = LumoraToken__factory.connect(record.contracts.LumoraToken, provider);
    const c = built.bundle.contributions[4]!;
    const { root, terms } = await pool.claimHeaderOf(1);
    const header = { root, terms };
    await (await pool.claim(1, header, c.index, c.account, c.contribution, built.rewardTree!.getProof(4))).wait();
    assert.equal(
      await token.balanceOf(c.account),
      (built.bundle.rewardTotal * c.contribution) / built.totalContribution,
    );
  });

  it("commits markers for an epoch without tasks or contributions, keeping epoch numbers aligned", async () => {
    const { record } = await deployLumora(node.url, { keepers: [KEEPER.address], fund: 10n ** 24n });
    const { submitter, chain } = await keeper(record, "markers");
    await submitter.submit(makeBuiltEpoch(1, { tasks: 3, contributors: 3, reports: 0 }));
    const empty = makeBuiltEpoch(2, { tasks: 0, contributors: 0, reports: 2 });
    const result = await submitter.submit(empty);
    assert.equal(result.taskLog, "sent");
    const [committed] = await chain.contracts.taskLog.queryFilter(chain.contracts.taskLog.filters.EpochCommitted(2));
    assert.equal(committed!.args.taskCount, 1n);
    const marker = taskMarkerRecord(empty);
    assert.equal(marker[6], 0, "marker status is 0");
    const [r] = await chain.contracts.rewardPool.epochOf(2);
    assert.equal(r.rewardTotal, 1n);
    assert.equal(r.totalContribution, 1n);
    await submitter.submit(makeBuiltEpoch(3, { tasks: 1, contributors: 1, reports: 1 }));
    assert.equal(await chain.contracts.taskLog.lastEpoch(), 3n);
    assert.equal(await chain.contracts.rewardPool.lastEpoch(), 3n);
  });

  it("keeps an epoch pending while the pool cannot pay R_total, and finishes it once funded", async () => {
    const { record, deployer } = await deployLumora(node.url, { keepers: [KEEPER.address], fund: 10n ** 18n });
    const { submitter, chain } = await keeper(record, "underfunded");
    const built = makeBuiltEpoch(1, { tasks: 2, contributors: 2, reports: 2, rewardTotal: 5n * 10n ** 18n });
    await assert.rejects(submitter.submit(built), (err: unknown) => {
      assert.ok(err instanceof InsufficientRewardError);
      assert.equal(err.availableWei, 10n ** 18n);
      return true;
    });
    assert.equal(submitter.journal.epoch(1)?.status, "pending");
    assert.equal((await chain.contracts.rewardPool.epochOf(1))[0].root, ZeroHash);
    // The next epoch waits for this one.
    await assert.rejects(
      submitter.submit(makeBuiltEpoch(2, { tasks: 1, contributors: 1, reports: 0 })),
      PreviousEpochPendingError,
    );

    const provider = rpcProvider(node.url);
    cleanups.push(() => provider.destroy());
    const token = LumoraToken__factory.connect(record.contracts.LumoraToken, deployer.connect(provider));
    await (await token.transfer(record.contracts.RewardPool, 10n ** 19n)).wait();
    const result = await submitter.submit(built);
    assert.equal(result.taskLog, "found");
    assert.equal(result.reputation.found, 2);
    assert.equal(result.rewardPool, "sent");
    assert.equal(submitter.journal.epoch(1)?.status, "submitted");
  });

  it("retries with back-off while the RPC node is stopped and completes once it is back", async () => {
    const { record } = await deployLumora(node.url, { keepers: [KEEPER.address], fund: 10n ** 24n });
    const { submitter, chain } = await keeper(record, "rpc-stop", {
      rpcTimeoutMs: 400,
      retry: { initialDelayMs: 100, maxDelayMs: 800, maxElapsedMs: 60_000 },
    });
    const built = makeBuiltEpoch(1, { tasks: 50, contributors: 20, reports: 12 });
    node.child.kill("SIGSTOP");
    const started = Date.now();
    const submission = submitter.submit(built);
    await new Promise((r) => setTimeout(r, 3000));
    node.child.kill("SIGCONT");
    const result = await submission;
    assert.ok(Date.now() - started >= 3000, "the submission waited for the node");
    assert.equal(result.taskLog, "sent");
    assert.equal(result.rewardPool, "sent");
    assert.equal(result.reputation.sent + result.reputation.found, 12);
    const taskLog = TaskLog__factory.connect(record.contracts.TaskLog, chain.provider);
    assert.equal(await taskLog.rootOf(1), built.taskTree!.root);
    assert.equal((await chain.contracts.rewardPool.epochOf(1))[0].root, built.rewardTree!.root);
    for (const rep of built.bundle.reputation) {
      assert.equal((await chain.contracts.reputation.nodeOf(rep.node)).lastEpoch, 1n, `node ${rep.node} reported`);
    }
    assert.ok(account(0));
  });
});
