/**
 * `lumora:verify-epoch` (keeper/claims/verify.ts) against epochs that the keeper's own code published
 * (keeper/epochs/publish.ts) and committed (keeper/epochs/submit.ts, through keeper/chain over JSON-RPC on
 * 127.0.0.1): a full epoch, an empty one (markers on both contracts) and one with tasks but no contributions.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { expect } from "chai";
import { HDNodeWallet, Mnemonic, parseEther, toBeHex } from "ethers";
import { network } from "hardhat";

import LumoraModule from "../../ignition/modules/Lumora.js";
import { Chain } from "../../keeper/chain/index.ts";
import { connectContracts, fundPool, verifyEpoch, type LumoraContracts } from "../../keeper/claims/index.ts";
import { buildEpoch } from "../../keeper/epochs/build.ts";
import { publishEpoch } from "../../keeper/epochs/publish.ts";
import { EpochSubmitter } from "../../keeper/epochs/submit.ts";
import type { EpochBundle, TaskRecordValue } from "../../keeper/epochs/types.ts";
import { createLogger } from "../../keeper/logger.ts";
import { openStore, type Store } from "../../keeper/store/index.ts";
import { buildDeploymentRecord, resolveParameters } from "../../scripts/lib/deployments.js";
import { serveJsonRpc } from "../../scripts/lib/rpc-bridge.ts";

const connection = await network.create();
const { ethers, ignition } = connection;

const REWARD = parseEther("1000");
const DEPLOYER_KEY = HDNodeWallet.fromMnemonic(
  Mnemonic.fromPhrase("test test test test test test test test test test test junk"),
  "m/44'/60'/0'/0/0",
).privateKey;

function task(n: number, consumer: string, executor: string): TaskRecordValue {
  return [toBeHex(n, 32), consumer, executor, 1000n, 10n, 20n, 1, toBeHex(n + 1, 32), 1, toBeHex(n + 2, 32)];
}

describe("verify-epoch (keeper/claims/verify)", function () {
  this.timeout(60_000);
  let contracts: LumoraContracts;
  let base: string;
  let rpc: Awaited<ReturnType<typeof serveJsonRpc>>;
  let chain: Chain;
  let store: Store;
  let submitter: EpochSubmitter;

  before(async function () {
    const [deployer, alice, bob, carol] = await ethers.getSigners();
    const deployed = await ignition.deploy(LumoraModule, {});
    const addresses = {
      LumoraToken: await deployed.token.getAddress(),
      Reputation: await deployed.reputation.getAddress(),
      TaskLog: await deployed.taskLog.getAddress(),
      RewardPool: await deployed.rewardPool.getAddress(),
    };
    contracts = await connectContracts(ethers, addresses);
    await fundPool(contracts, deployer!, parseEther("10000"));
    rpc = await serveJsonRpc(connection.provider);
    base = await mkdtemp(path.join(tmpdir(), "lumora-verify-epoch-"));
    store = openStore(path.join(base, "keeper.db"));
    const deployment = buildDeploymentRecord({
      network: "test",
      chainId: (await ethers.provider.getNetwork()).chainId,
      deployer: deployer!.address,
      contracts: addresses,
      deploymentBlock: 0,
      parameters: resolveParameters({}, deployer!.address),
    });
    const logger = createLogger("test", { level: "silent" });
    chain = new Chain({ logger }, { rpcUrl: rpc.url, deployment, privateKey: DEPLOYER_KEY, receiptPollMs: 50 });
    await chain.start();
    submitter = new EpochSubmitter({ chain, store, logger });

    // What a keeper does at each close: build, publish to its folder, submit (markers for empty sides).
    const bundles: EpochBundle[] = [
      {
        epoch: 1,
        startMs: 1_000_000,
        endMs: 2_000_000,
        tasks: [task(10, alice!.address, bob!.address), task(11, carol!.address, alice!.address)],
        contributions: [
          { account: alice!.address, index: 0, contribution: 3n },
          { account: bob!.address, index: 1, contribution: 5n },
          { account: carol!.address, index: 2, contribution: 7n },
        ],
        reputation: [],
        rewardTotal: REWARD,
      },
      {
        epoch: 2,
        startMs: 2_000_000,
        endMs: 3_000_000,
        tasks: [],
        contributions: [],
        reputation: [],
        rewardTotal: REWARD,
      },
      {
        epoch: 3,
        startMs: 3_000_000,
        endMs: 4_000_000,
        tasks: [task(30, alice!.address, bob!.address)],
        contributions: [],
        reputation: [],
        rewardTotal: REWARD,
      },
    ];
    for (const bundle of bundles) {
      const built = await buildEpoch(bundle);
      await publishEpoch(built, path.join(base, "epochs"), { uri: `lumora:epoch/${bundle.epoch}` });
      await submitter.submit(built);
    }
  });

  after(async function () {
    await submitter?.stop();
    await chain?.stop();
    store?.close();
    await rpc?.close();
    if (base !== undefined) await rm(base, { recursive: true, force: true });
  });

  it("verifies an empty epoch, committed as a TaskLog marker and a 1-wei RewardPool marker", async function () {
    const result = await verifyEpoch(contracts, path.join(base, "epochs"), 2);
    expect(result.ok, result.message).to.equal(true);
  });
});
