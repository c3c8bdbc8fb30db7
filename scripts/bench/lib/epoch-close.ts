/**
 * Epoch close benchmark on a local chain.
 *
 * - epoch.close_s.10k: wall seconds to close one epoch of 10,000 contributors: build the task tree (10,000 task
 *   records) and the reward tree (10,000 leaves), compute every proof of both, and submit — TaskLog.commit,
 *   Reputation.applyReports for 10,000 nodes in batches of REPUTATION_BATCH_NODES, RewardPool.commitEpoch —
 *   through the keeper's chain module to a Hardhat node over JSON-RPC on 127.0.0.1 (automine). Node start-up and
 *   contract deployment are not counted.
 * - epoch.close_submit_s.10k / epoch.close_trees_s.10k: the two parts of it.
 *
 * Run directly: `npx tsx scripts/bench/lib/epoch-close.ts` prints one JSON object per line.
 */
import { LUMORA_DEFAULTS } from "../../../ignition/modules/Lumora.js";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";

import { HDNodeWallet, JsonRpcProvider, Network, getAddress, id, keccak256, toBeHex } from "ethers";

import { Chain, type DeploymentRecord } from "../../../keeper/chain/index.ts";
import { buildTree, REWARD_LEAF_ENCODING, TASK_LEAF_ENCODING } from "../../../keeper/epochs/merkle/tree.ts";
import { EpochSubmitter } from "../../../keeper/epochs/submit/submitter.ts";
import type { BuiltEpoch, EpochBundle, RewardLeafValue, TaskRecordValue } from "../../../keeper/epochs/types.ts";
import { createLogger } from "../../../keeper/logger.ts";
import { openStore } from "../../../keeper/store/index.ts";
import {
  LumoraToken__factory,
  Reputation__factory,
  RewardPool__factory,
  TaskLog__factory,
} from "../../../types/ethers-contracts/index.ts";

export interface Metric {
  metric: string;
  value: number;
  unit: string;
}

const N = 10_000;
const MNEMONIC = "test test test test test test test test test test test junk";
const HARDHAT_CLI = fileURLToPath(new URL("../../../node_modules/hardhat/dist/src/cli.js", import.meta.url));
const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const silent = createLogger("bench", { level: "silent" });

const wallet = (i: number) => HDNodeWallet.fromPhrase(MNEMONIC, undefined, `m/44'/60'/0'/0/${i}`);
const address = (i: number) => getAddress("0x" + keccak256(toBeHex(i + 1, 32)).slice(26));

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, "close");
  return port;
}

async function startNode(): Promise<{ url: string; stop: () => Promise<void> }> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, [HARDHAT_CLI, "node", "--hostname", "127.0.0.1", "--port", String(port)], {
    cwd: REPO_ROOT,
    stdio: "ignore",
  });
  for (let i = 0; ; i++) {
    try {
      const res = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}',
      });
      if (res.ok) break;
    } catch {
      // not up yet
    }
    if (i > 400) throw new Error("hardhat node did not start");
    await new Promise((r) => setTimeout(r, 150));
  }
  return {
    url,
    stop: async () => {
      child.kill("SIGTERM");
      await once(child, "exit");
    },
  };
}

async function deploy(url: string, keeper: string, fund: bigint): Promise<DeploymentRecord> {
  const provider = new JsonRpcProvider(url, Network.from(31337), {
    staticNetwork: Network.from(31337),
    cacheTimeout: -1,
  });
  const deployer = wallet(0).connect(provider);
  try {
    const token = await new LumoraToken__factory(deployer).deploy(deployer.address, 10n ** 27n);
    const reputation = await new Reputation__factory(deployer).deploy(deployer.address, {
      ...LUMORA_DEFAULTS.reputationParameters,
    });
    const taskLog = await new TaskLog__factory(deployer).deploy(deployer.address);
    const pool = await new RewardPool__factory(deployer).deploy(
      deployer.address,
      await token.getAddress(),
      await reputation.getAddress(),
      3600,
      86400,
    );
    await pool.waitForDeployment();
    await (await reputation.setFlagMirror(await pool.getAddress())).wait();
    const role = id("KEEPER_ROLE");
    for (const c of [taskLog, reputation, pool]) await (await c.grantRole(role, keeper)).wait();
    await (await token.approve(await pool.getAddress(), fund)).wait();
    await (await pool.fund(fund)).wait();
    return {
      network: "bench",
      chainId: 31337,
      deployer: deployer.address,
      contracts: {
        LumoraToken: await token.getAddress(),
        Reputation: await reputation.getAddress(),
        TaskLog: await taskLog.getAddress(),
        RewardPool: await pool.getAddress(),
      },
      deploymentBlock: 0,
      parameters: {} as DeploymentRecord["parameters"],
    };
  } finally {
    provider.destroy();
  }
}

function bundle(epoch: number): EpochBundle {
  const startMs = Date.now() - 3_600_000;
  const s = BigInt(Math.floor(startMs / 1000));
  const tasks: TaskRecordValue[] = Array.from({ length: N }, (_, i) => [
    keccak256(toBeHex(i + 1, 32)),
    address(i),
    address((i * 7 + 3) % N),
    BigInt(1 << 20),
    s + BigInt(i % 3600),
    s + BigInt((i % 3600) + 10),
    1,
    keccak256(toBeHex(i + 2, 32)),
    1,
    keccak256(toBeHex(i + 3, 32)),
  ]);
  return {
    epoch,
    startMs,
    endMs: startMs + 3_600_000,
    tasks,
    contributions: Array.from({ length: N }, (_, i) => ({
      account: address(i),
      index: i,
      contribution: BigInt(1_000 + i),
    })),
    reputation: Array.from({ length: N }, (_, i) => ({ node: address(i), successes: 10 + (i % 7), failures: i % 3 })),
    rewardTotal: 1_000_000n * 10n ** 18n,
  };
}

export async function benchEpochClose(): Promise<Metric[]> {
  const node = await startNode();
  const dir = mkdtempSync(join(tmpdir(), "lumora-bench-epoch-"));
  const keeper = wallet(1);
  const store = openStore(join(dir, "keeper.db"));
  let chain: Chain | undefined;
  try {
    const record = await deploy(node.url, keeper.address, 10n ** 24n * 10n);
    chain = new Chain(
      { logger: silent },
      { rpcUrl: node.url, deployment: record, privateKey: keeper.privateKey, receiptPollMs: 20 },
    );
    await chain.start();
    const submitter = new EpochSubmitter({ chain, store, logger: silent });
    const b = bundle(1);

    const t0 = performance.now();
    const taskTree = buildTree(b.tasks, TASK_LEAF_ENCODING);
    const rewardTree = buildTree(
      b.contributions.map((c): RewardLeafValue => [BigInt(b.epoch), BigInt(c.index), c.account, c.contribution]),
      REWARD_LEAF_ENCODING,
    );
    let proofNodes = 0;
    for (let i = 0; i < N; i++) proofNodes += taskTree.getProof(i).length + rewardTree.getProof(i).length;
    const built: BuiltEpoch = {
      bundle: b,
      taskTree,
      rewardTree,
      totalContribution: b.contributions.reduce((s, c) => s + c.contribution, 0n),
    };
    const t1 = performance.now();
    const result = await submitter.submit(built);
    const t2 = performance.now();
    if (result.reputation.sent !== N || proofNodes === 0) throw new Error("benchmark epoch incomplete");
    return [
      { metric: "epoch.close_s.10k", value: +((t2 - t0) / 1000).toFixed(2), unit: "s" },
      { metric: "epoch.close_trees_s.10k", value: +((t1 - t0) / 1000).toFixed(2), unit: "s" },
      { metric: "epoch.close_submit_s.10k", value: +((t2 - t1) / 1000).toFixed(2), unit: "s" },
    ];
  } finally {
    await chain?.stop();
    store.close();
    await node.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const m of await benchEpochClose()) process.stdout.write(JSON.stringify(m) + "\n");
}
