/**
 * The keeper against a real chain (in-process Hardhat, served over JSON-RPC on 127.0.0.1): Reputation's flags
 * are read from chain and cached, and routing never chooses a flagged executor; RewardPool's view of the epochs
 * is what the dashboard shows.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { expect } from "chai";
import { HDNodeWallet, Mnemonic } from "ethers";
import { network } from "hardhat";

import LumoraModule from "../../ignition/modules/Lumora.js";
import { startKeeper, type Keeper } from "../../keeper/keeper.ts";
import { createLogger } from "../../keeper/logger.ts";
import { buildDeploymentRecord, resolveParameters } from "../../scripts/lib/deployments.js";
import { serveJsonRpc } from "../../scripts/lib/rpc-bridge.ts";

const connection = await network.create();
const { ethers, ignition } = connection;

async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("Keeper on chain", function () {
  this.timeout(90_000);
  const keepers: Keeper[] = [];
  let dir: string;
  let rpc: Awaited<ReturnType<typeof serveJsonRpc>>;

  afterEach(async function () {
    await Promise.all(keepers.splice(0).map((k) => k.stop()));
    await rpc?.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it("never routes a task to an executor that Reputation flagged, and shows RewardPool's epoch status", async function () {
    const signers = await ethers.getSigners();
    const [deployer] = signers;
    const deployed = await ignition.deploy(LumoraModule, {});
    const contracts = {
      LumoraToken: await deployed.token.getAddress(),
      Reputation: await deployed.reputation.getAddress(),
      TaskLog: await deployed.taskLog.getAddress(),
      RewardPool: await deployed.rewardPool.getAddress(),
      EpochQuorum: await deployed.epochQuorum.getAddress(),
    };
    const deployment = buildDeploymentRecord({
      network: "test",
      chainId: (await ethers.provider.getNetwork()).chainId,
      deployer: deployer!.address,
      contracts,
      deploymentBlock: 0,
      parameters: resolveParameters({}, deployer!.address),
    });
    rpc = await serveJsonRpc(connection.provider);
    dir = await mkdtemp(path.join(tmpdir(), "lumora-keeper-chain-"));
    const key = HDNodeWallet.fromMnemonic(
      Mnemonic.fromPhrase("test test test test test test test test test test test junk"),
      "m/44'/60'/0'/0/0",
    ).privateKey;
    const logger = createLogger("test", { level: "silent" });
    const flaggedAccount = signers[5]!.address;
    const healthyAccount = signers[6]!.address;
    // Flag one executor's reward address: three failing epochs (the module's default rule). The admin lends itself
    // KEEPER_ROLE on Reputation for this setup (the deployed system reports only through EpochQuorum).
    await (await deployed.reputation.grantRole(ethers.id("KEEPER_ROLE"), deployer!.address)).wait();
    for (const epoch of [1n, 2n, 3n]) {
      const packed = await deployed.reputation.encodeReport({ node: flaggedAccount, successes: 0, failures: 10 });
      await (await deployed.reputation.applyReports(epoch, [packed])).wait();
    }
    expect(await deployed.reputation.isFlagged(flaggedAccount)).to.equal(true);

    const start = async (
      name: string,
      rewardAddress: string,
      capabilities: ("coordinator" | "executor")[],
      chain: boolean,
    ) => {
      const k = await startKeeper({
        dataDir: path.join(dir, name),
        bootstrap: keepers.length > 0 ? [keepers[0]!.addresses[0]!] : [],
        capabilities,
        bandwidthBps: name === "flagged" ? 1_000_000_000 : 100_000_000,
        capacity: 4,
        rewardAddress,
        shards: 1,
        routingRefreshMs: 200,
        dhtQuerySelfIntervalMs: 500,
        logger,
        epochs: chain ? { chain: { rpcUrl: rpc.url, deployment, privateKey: key, confirmations: 1 } } : {},
      });
      keepers.push(k);
      return k;
    };
    const coordinator = await start("coordinator", signers[1]!.address, ["coordinator"], true);
    const flagged = await start("flagged", flaggedAccount, ["executor"], false);
    const healthy = await start("healthy", healthyAccount, ["executor"], false);

    await until("both executors' records", async () => {
      await coordinator.refreshRouting({ refreshDirectory: true });
      return coordinator.discovery.peers().length >= 3;
    });
    await coordinator.refreshFlags();
    await coordinator.refreshRouting();
    expect(coordinator.flagged.has(flaggedAccount.toLowerCase())).to.equal(true);
    expect(coordinator.flagged.has(healthyAccount.toLowerCase())).to.equal(false);
    expect(coordinator.routing.isAvailable(flagged.peerId.toString()), "flagged executor routable").to.equal(false);
    expect(coordinator.routing.isAvailable(healthy.peerId.toString()), "healthy executor routable").to.equal(true);
    // The flagged executor advertises ten times the bandwidth: without the flag it would win every selection.
    for (let i = 0; i < 20; i++) {
      const selection = coordinator.routing.select({ taskId: `t-${i}`, capabilities: ["executor"], minBandwidth: 0 });
      expect(selection?.primary.peerId, `selection ${i}`).to.equal(healthy.peerId.toString());
      expect(selection?.backups.map((b) => b.peerId) ?? [], `backups ${i}`).to.not.include(flagged.peerId.toString());
    }

    // RewardPool's view: no epoch committed yet, so the chain-backed epoch source lists none.
    expect(await coordinator.epochSource!.epochs()).to.deep.equal([]);
  });

  it("takes its epoch numbering from the chain when it joins a network that already committed epochs", async function () {
    const signers = await ethers.getSigners();
    const [deployer] = signers;
    const deployed = await ignition.deploy(LumoraModule, {});
    const contracts = {
      LumoraToken: await deployed.token.getAddress(),
      Reputation: await deployed.reputation.getAddress(),
      TaskLog: await deployed.taskLog.getAddress(),
      RewardPool: await deployed.rewardPool.getAddress(),
      EpochQuorum: await deployed.epochQuorum.getAddress(),
    };
    const deployment = buildDeploymentRecord({
      network: "test",
      chainId: (await ethers.provider.getNetwork()).chainId,
      deployer: deployer!.address,
      contracts,
      deploymentBlock: 0,
      parameters: resolveParameters({}, deployer!.address),
    });
    // Another keeper already committed epochs 1..3 to TaskLog (the admin lends itself KEEPER_ROLE to stand in).
    await (await deployed.taskLog.grantRole(ethers.id("KEEPER_ROLE"), deployer!.address)).wait();
    for (let e = 1; e <= 3; e++) {
      await (await deployed.taskLog.commit(e, ethers.id(`root-${e}`), 1, `lumora:epoch/${e}`)).wait();
    }
    rpc = await serveJsonRpc(connection.provider);
    dir = await mkdtemp(path.join(tmpdir(), "lumora-keeper-epochs-"));
    const keeper = await startKeeper({
      dataDir: path.join(dir, "late"),
      capabilities: ["coordinator"],
      bandwidthBps: 1_000_000,
      capacity: 1,
      rewardAddress: signers[1]!.address,
      logger: createLogger("test", { level: "silent" }),
      epochs: { chain: { rpcUrl: rpc.url, deployment, confirmations: 1 } },
    });
    keepers.push(keeper);
    // The keeper never waits for the chain at start: the numbering follows it after the first chain check.
    await until("the numbering taken from the chain", () => keeper.chainSync?.isReady() === true);
    expect(keeper.epoch).to.equal(4);
    // A restart keeps the numbering (the store remembers it).
    await keeper.stop();
    keepers.splice(keepers.indexOf(keeper), 1);
    const again = await startKeeper({
      dataDir: path.join(dir, "late"),
      capabilities: ["coordinator"],
      bandwidthBps: 1_000_000,
      capacity: 1,
      rewardAddress: signers[1]!.address,
      logger: createLogger("test", { level: "silent" }),
    });
    keepers.push(again);
    expect(again.epoch).to.equal(4);
  });
});
