/**
 * Chain faults are named, never waited on in silence: a keeper starts (API first) with the chain paused and says
 * so in /healthz and status; a reset chain (a restarted `hardhat node`, then a redeploy at the same addresses) is
 * detected and reported with what to do; `newDeployment` starts over without committing old records again; a
 * data dir refuses a different deployment unless asked to start over.
 */
import assert from "node:assert/strict";
import { existsSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";

import { apiServer, type ApiServer } from "../../../keeper/api/index.ts";
import type { DeploymentRecord } from "../../../keeper/chain/index.ts";
import { startKeeper, type Keeper } from "../../../keeper/keeper.ts";
import { deployLumora, devWallet, startHardhatNode, type HardhatNode } from "../chain/helpers.ts";
import { silent, waitFor } from "../helpers.ts";

const KEEPER = devWallet(3);

interface Health {
  status: string;
  chain: { reachable: boolean; problem: string | null; message: string | null; lastOnChainEpoch: number | null };
}

describe("keeper under chain faults", { timeout: 300_000 }, () => {
  let dir: string;
  let node: HardhatNode;
  let record: DeploymentRecord;
  let keeper: Keeper | undefined;
  let api: ApiServer | undefined;
  /** An executor without chain access, so the keeper under test has a transfer to record. */
  let executor: Keeper | undefined;

  const start = async (deployment: DeploymentRecord, newDeployment = false) => {
    keeper = await startKeeper({
      dataDir: path.join(dir, "k"),
      capabilities: ["coordinator", "executor"],
      bandwidthBps: 10_000_000,
      capacity: 2,
      rewardAddress: devWallet(5).address,
      dhtQuerySelfIntervalMs: 500,
      routingRefreshMs: 300,
      logger: silent,
      epochs: {
        rewardPerEpoch: 10n ** 18n,
        chain: {
          rpcUrl: node.url,
          deployment,
          privateKey: KEEPER.privateKey,
          confirmations: 1,
          rpcTimeoutMs: 1_000,
          retry: { initialDelayMs: 100, maxDelayMs: 500, maxElapsedMs: 3_000 },
          newDeployment,
        },
      },
    });
    api = apiServer({ port: 0 })({ keeper, logger: silent });
    await api.start();
    return keeper;
  };
  const stop = async () => {
    await api?.stop();
    await keeper?.stop();
    api = undefined;
    keeper = undefined;
  };
  const health = async (): Promise<Health> =>
    (await (await fetch(`${api!.url}/healthz`, { signal: AbortSignal.timeout(5_000) })).json()) as Health;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "lumora-chain-faults-"));
    node = await startHardhatNode();
    ({ record } = await deployLumora(node.url, { keepers: [KEEPER.address], fund: 10n ** 24n }));
  });
  after(async () => {
    await stop();
    await executor?.stop();
    await node.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("starts with the chain paused, says so at once, and closes once it answers", async () => {
    node.child.kill("SIGSTOP");
    try {
      const k = await start(record);
      // The API answers while the chain hangs (each request bounded by 5 s here, the chain check by 3 s).
      await waitFor(async () => (await health()).chain.problem === "unreachable", 20_000, "healthz: unreachable");
      const h = await health();
      assert.equal(h.status, "ok");
      assert.equal(h.chain.reachable, false);
      assert.match(h.chain.message ?? "", /chain RPC unreachable/);
      const status = await fetch(`${api!.url}/api/status`, { signal: AbortSignal.timeout(5_000) });
      assert.equal(status.status, 200);
      await assert.rejects(k.closeEpoch(), /epochs wait for the chain: chain RPC unreachable/);
    } finally {
      node.child.kill("SIGCONT");
    }
    await keeper!.chainMonitor!.check();
    await waitFor(async () => (await health()).chain.reachable, 20_000, "healthz: reachable again");
    // Some work for epoch 1: a transfer the keeper coordinates, executed by another node.
    executor = await startKeeper({
      dataDir: path.join(dir, "executor"),
      bootstrap: [keeper!.addresses[0]!],
      capabilities: ["executor"],
      bandwidthBps: 10_000_000,
      capacity: 2,
      rewardAddress: devWallet(6).address,
      dhtQuerySelfIntervalMs: 500,
      routingRefreshMs: 300,
      logger: silent,
    });
    await waitFor(
      async () => (await keeper!.refreshRouting({ refreshDirectory: true })) > 0,
      30_000,
      "the executor in routing",
    );
    const file = path.join(dir, "sample.bin");
    writeFileSync(file, Buffer.alloc(50_000, 7));
    const published = await keeper!.publish(file);
    const outcome = await keeper!.requestTransfer({
      objectId: published.objectId,
      size: published.size,
      providers: [keeper!.peerId.toString()],
      deadlineMs: 60_000,
    });
    assert.equal(outcome.status, "succeeded", JSON.stringify(outcome));
    const closed = await keeper!.closeEpoch();
    assert.equal(closed.built.bundle.epoch, 1);
    assert.equal(closed.built.bundle.tasks.length, 1, "the task is in epoch 1");
    assert.equal(closed.outcome, "submitted");
    await keeper!.chainMonitor!.check();
    assert.equal((await health()).chain.lastOnChainEpoch, 1);
  });

  it("names a reset chain, and starts over on request without committing old records again", async () => {
    await stop();
    const port = Number(new URL(node.url).port);
    await node.stop();
    node = await startHardhatNode({ port }); // state lost, as when `hardhat node` restarts
    await start(record);
    await keeper!.chainMonitor!.check();
    let h = await health();
    assert.equal(h.chain.problem, "contracts-missing");
    assert.match(h.chain.message ?? "", /no contract code at .*redeploy/);

    // The same deployer redeploys: the same addresses, the same code, but none of the epochs.
    const again = await deployLumora(node.url, { keepers: [KEEPER.address], fund: 10n ** 24n });
    assert.deepEqual(again.record.contracts, record.contracts, "same addresses after a redeploy");
    await keeper!.chainMonitor!.check();
    h = await health();
    assert.equal(h.chain.problem, "chain-rewound");
    assert.match(h.chain.message ?? "", /saw epoch 1 on chain: the chain was reset.*--chain-new-deployment true/);
    await assert.rejects(keeper!.closeEpoch(), /epochs wait for the chain: .*chain was reset/);
    await stop();

    await start(record, true);
    const closed = await keeper!.closeEpoch();
    assert.equal(closed.built.bundle.epoch, 1, "numbering follows the new contracts");
    assert.equal(closed.built.bundle.tasks.length, 0, "the old era's task is not committed again");
    assert.equal(closed.outcome, "submitted");
    assert.ok(existsSync(path.join(dir, "k", "epochs.era-1", "1", "epoch.json")), "old publication kept aside");
    // Asking again at the next restart changes nothing: the chain holds what this keeper saw.
    await stop();
    await start(record, true);
    await keeper!.chainMonitor!.check();
    const h2 = await health();
    assert.equal(h2.chain.problem, null);
    assert.equal(h2.chain.lastOnChainEpoch, 1);
    assert.equal(keeper!.epoch, 2, "no second start-over");
  });

  it("refuses another deployment in one line unless asked to start over", async () => {
    await stop();
    const other = await deployLumora(node.url, { keepers: [KEEPER.address], fund: 10n ** 24n });
    await assert.rejects(
      start(other.record),
      /this data dir's epochs belong to deployment .*--chain-new-deployment true/,
    );
    await stop();
    const k = await start(other.record, true);
    const closed = await k.closeEpoch();
    assert.equal(closed.built.bundle.epoch, 1);
    assert.equal(closed.outcome, "submitted");
  });
});
