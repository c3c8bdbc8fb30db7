/**
 * The epoch closer over a real store and a real Hardhat node: a hand-over that cannot finish is a visible,
 * counted stall that retries on its own; later epochs wait behind it and settle in order; a keeper without a
 * chain publishes, and a restart publishes what a crash left unpublished.
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, afterEach, before, describe, it } from "node:test";

import { Chain } from "../../../keeper/chain/index.ts";
import { EpochCloser } from "../../../keeper/epochs/closer.ts";
import { EpochSubmitter } from "../../../keeper/epochs/submit/submitter.ts";
import { LumoraToken__factory, RewardPool__factory } from "../../../types/ethers-contracts/index.ts";
import { deployLumora, devWallet, rpcProvider, startHardhatNode, type HardhatNode } from "../chain/helpers.ts";
import { silent, waitFor } from "../helpers.ts";
import { peer, world } from "./fixtures.ts";

const KEEPER = devWallet(3);

describe("epochs/closer", { timeout: 180_000 }, () => {
  let node: HardhatNode;
  let dir: string;
  const cleanups: Array<() => Promise<void> | void> = [];

  before(async () => {
    node = await startHardhatNode();
    dir = await mkdtemp(path.join(tmpdir(), "lumora-closer-"));
  });
  after(async () => {
    await node.stop();
    await rm(dir, { recursive: true, force: true });
  });
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it("counts a stalled hand-over, raises the alarm, keeps later epochs behind it and settles all once funded", async () => {
    const { record, deployer } = await deployLumora(node.url, { keepers: [KEEPER.address], fund: 10n });
    const w = world({ rewardPerEpoch: 10n ** 18n, genesisMs: Date.now() - 10_000 });
    const chain = new Chain(
      { logger: silent },
      { rpcUrl: node.url, deployment: record, privateKey: KEEPER.privateKey, receiptPollMs: 50 },
    );
    await chain.start();
    const submitter = new EpochSubmitter({ chain, store: w.store, logger: silent });
    const failures: number[] = [];
    const submitted: number[] = [];
    const closer = new EpochCloser(
      {
        collector: w.collector,
        store: w.store,
        logger: silent,
        submitter,
        onAttemptFailed: (e) => failures.push(e),
        onSubmitted: (e) => submitted.push(e),
      },
      { publishDir: path.join(dir, "stall"), retryMs: 100, stallAlarmMs: 300 },
    );
    cleanups.push(async () => {
      await closer.stop();
      await submitter.stop();
      await chain.stop();
      w.close();
    });
    await closer.start();
    const [consumer, provider] = await Promise.all([peer(1), peer(2)]);
    w.addresses.set(provider.id, provider.address);
    await w.receipt(consumer, provider, 5_000, Date.now() - 1);

    // R_total (1 LUM) is more than the pool's 10 wei: the hand-over stalls, and whoever waits learns why.
    await assert.rejects(closer.closeNow(), /epoch 1 not settled: .*10/);
    assert.deepEqual(closer.status().pending, [1]);
    assert.equal(closer.status().stall?.epoch, 1);
    assert.ok(failures.includes(1), "the failed attempt is counted");
    // Epoch 2 closes, but cannot overtake epoch 1 (the contracts take epochs in order).
    await w.receipt(consumer, provider, 7_000, Date.now() - 1);
    await assert.rejects(closer.closeNow(), /epoch 1 not settled/);
    assert.deepEqual(closer.status().pending, [1, 2]);
    // It keeps retrying on its own and, after stallAlarmMs, the stall is an alarm.
    const attempts = closer.status().stall!.attempts;
    await waitFor(() => closer.status().stall?.alarm === true, 20_000, "the stall to become an alarm");
    assert.ok(closer.status().stall!.attempts > attempts, "retried without being asked");

    const rpc = rpcProvider(node.url);
    cleanups.push(() => rpc.destroy());
    const token = LumoraToken__factory.connect(record.contracts.LumoraToken, deployer.connect(rpc));
    await (await token.transfer(record.contracts.RewardPool, 10n ** 19n)).wait();
    await waitFor(() => closer.status().pending.length === 0, 30_000, "both epochs to settle once funded");
    const status = closer.status();
    assert.equal(status.lastSettled, 2);
    assert.equal(status.stall, undefined, "no stall left");
    assert.deepEqual(submitted, [1, 2], "submitted in order, once each");
    const pool = RewardPool__factory.connect(record.contracts.RewardPool, rpc);
    assert.equal(Number(await pool.lastEpoch()), 2);
    const summary = JSON.parse(await readFile(path.join(dir, "stall", "1", "epoch.json"), "utf8")) as {
      transactions: { taskLog?: string; rewardPool?: string };
    };
    assert.match(summary.transactions.rewardPool ?? "", /^0x[0-9a-f]{64}$/, "the published summary names the tx");
  });

  it("without a chain: publishes every close, and a restart publishes an epoch a crash left unpublished", async () => {
    const w = world({ genesisMs: Date.now() - 10_000 });
    const publishDir = path.join(dir, "publish-only");
    const make = () => new EpochCloser({ collector: w.collector, store: w.store, logger: silent }, { publishDir });
    const first = make();
    cleanups.push(() => w.close());
    // Not started: the close happens, the hand-over does not (what a crash right after the close leaves).
    assert.equal(await first.closeOnly(), 1);
    await assert.rejects(readFile(path.join(publishDir, "1", "epoch.json")), { code: "ENOENT" });
    await first.stop();

    const second = make();
    cleanups.push(() => second.stop());
    await second.start();
    await waitFor(() => second.status().pending.length === 0, 10_000, "epoch 1 published at start");
    const result = await second.closeNow();
    assert.equal(result.summary.epoch, 2);
    assert.equal(result.outcome, "published");
    for (const e of [1, 2]) {
      const s = JSON.parse(await readFile(path.join(publishDir, String(e), "epoch.json"), "utf8")) as { epoch: number };
      assert.equal(s.epoch, e);
    }
    assert.equal(second.status().lastSettled, 2);
  });
});
