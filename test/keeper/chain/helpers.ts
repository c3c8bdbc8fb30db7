/**
 * Test helpers for chain work: a real Hardhat JSON-RPC node on 127.0.0.1 (a child process, so tests can
 * SIGSTOP it), the Lumora contracts deployed from the compiled TypeChain factories, and deterministic epochs.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";

import { HDNodeWallet, JsonRpcProvider, Network, Wallet, getAddress, id, keccak256, toBeHex } from "ethers";

import { LUMORA_DEFAULTS } from "../../../ignition/modules/Lumora.js";
import type { DeploymentRecord } from "../../../keeper/chain/index.ts";
import { buildTree, REWARD_LEAF_ENCODING, TASK_LEAF_ENCODING } from "../../../keeper/epochs/merkle/tree.ts";
import type { BuiltEpoch, EpochBundle, RewardLeafValue, TaskRecordValue } from "../../../keeper/epochs/types.ts";
import {
  EpochQuorum__factory,
  LumoraToken__factory,
  Reputation__factory,
  RewardPool__factory,
  TaskLog__factory,
} from "../../../types/ethers-contracts/index.ts";

export const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const HARDHAT_NODE = fileURLToPath(new URL("./fixtures/hardhat-node.mjs", import.meta.url));
const MNEMONIC = "test test test test test test test test test test test junk";

/** Hardhat's well-known dev account `i` (funded with 10,000 ETH on a fresh node). */
export function devWallet(i: number): HDNodeWallet {
  return HDNodeWallet.fromPhrase(MNEMONIC, undefined, `m/44'/60'/0'/0/${i}`);
}

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, "close");
  return port;
}

export interface HardhatNode {
  url: string;
  child: ChildProcess;
  pid: number;
  stop(): Promise<void>;
}

/**
 * Starts a Hardhat JSON-RPC node on 127.0.0.1 at a free or given port (Node 22 of the test run; the network
 * `hardhat node` runs, see fixtures/hardhat-node.mjs) and waits until it answers.
 */
export async function startHardhatNode(options: { port?: number } = {}): Promise<HardhatNode> {
  const port = options.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, [HARDHAT_NODE, String(port)], {
    cwd: REPO_ROOT,
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`hardhat node exited: ${stderr}`);
    try {
      const res = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
      });
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error("hardhat node did not start");
    await new Promise((r) => setTimeout(r, 150));
  }
  return {
    url,
    child,
    pid: child.pid!,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGCONT");
      child.kill("SIGTERM");
      await once(child, "exit");
    },
  };
}

export function rpcProvider(url: string): JsonRpcProvider {
  return new JsonRpcProvider(url, Network.from(31337), { staticNetwork: Network.from(31337), cacheTimeout: -1 });
}

export const KEEPER_ROLE = id("KEEPER_ROLE");

export interface Deployed {
  record: DeploymentRecord;
  deployer: Wallet | HDNodeWallet;
}

/**
 * Deploys the four contracts from the compiled factories, grants KEEPER_ROLE to `keepers` on TaskLog,
 * Reputation and RewardPool and funds the pool with `fund` LUM (deployer = treasury = account 0).
 */
export async function deployLumora(
  url: string,
  options: {
    keepers: string[];
    fund?: bigint;
    challengeWindow?: number;
    /** An EpochQuorum over the three contracts with these keepers and threshold, holding KEEPER_ROLE. */
    quorum?: { keepers: string[]; threshold: number };
  } = { keepers: [] },
): Promise<Deployed> {
  const provider = rpcProvider(url);
  const deployer = devWallet(0).connect(provider);
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
      options.challengeWindow ?? 3600,
      24 * 3600,
    );
    await pool.waitForDeployment();
    await (await reputation.setFlagMirror(await pool.getAddress())).wait();
    for (const keeper of options.keepers) {
      for (const c of [taskLog, reputation, pool]) await (await c.grantRole(KEEPER_ROLE, keeper)).wait();
    }
    let quorumAddress: string | undefined;
    if (options.quorum !== undefined) {
      const quorum = await new EpochQuorum__factory(deployer).deploy(
        deployer.address,
        await taskLog.getAddress(),
        await reputation.getAddress(),
        await pool.getAddress(),
        options.quorum.keepers,
        options.quorum.threshold,
      );
      quorumAddress = await quorum.getAddress();
      for (const c of [taskLog, reputation, pool]) await (await c.grantRole(KEEPER_ROLE, quorumAddress)).wait();
    }
    if (options.fund !== undefined && options.fund > 0n) {
      await (await token.approve(await pool.getAddress(), options.fund)).wait();
      await (await pool.fund(options.fund)).wait();
    }
    const record: DeploymentRecord = {
      network: "test",
      chainId: 31337,
      deployer: deployer.address,
      contracts: {
        LumoraToken: await token.getAddress(),
        Reputation: await reputation.getAddress(),
        TaskLog: await taskLog.getAddress(),
        RewardPool: await pool.getAddress(),
        ...(quorumAddress !== undefined && { EpochQuorum: quorumAddress }),
      },
      deploymentBlock: 0,
      parameters: {} as DeploymentRecord["parameters"],
    };
    return { record, deployer };
  } finally {
    provider.destroy();
  }
}

/** Stable reward account / node address `i` (no key: they only receive). */
export function account(i: number): string {
  return getAddress("0x" + keccak256(toBeHex(i + 1, 32)).slice(26));
}

export interface EpochShape {
  tasks: number;
  contributors: number;
  reports: number;
  rewardTotal?: bigint;
}

/** A deterministic epoch: the same (epoch, shape) always gives the same trees (child processes rebuild it). */
export function makeBuiltEpoch(epoch: number, shape: EpochShape): BuiltEpoch {
  const startMs = 1_700_000_000_000 + epoch * 3_600_000;
  const tasks: TaskRecordValue[] = Array.from({ length: shape.tasks }, (_, i) => [
    keccak256(toBeHex(epoch * 1_000_000 + i, 32)),
    account(i % 97),
    account(1000 + (i % 89)),
    BigInt(1024 * (i + 1)),
    BigInt(Math.floor(startMs / 1000) + i),
    BigInt(Math.floor(startMs / 1000) + i + 5),
    1,
    keccak256(toBeHex(i + 7, 32)),
    1,
    keccak256(toBeHex(i + 11, 32)),
  ]);
  const contributions = Array.from({ length: shape.contributors }, (_, i) => ({
    account: account(i),
    index: i,
    contribution: BigInt((i + 1) * 1000 + epoch),
  }));
  const reputation = Array.from({ length: shape.reports }, (_, i) => ({
    node: account(5000 + i),
    successes: (i % 5) + 1,
    failures: i % 3,
  }));
  const bundle: EpochBundle = {
    epoch,
    startMs,
    endMs: startMs + 3_600_000,
    tasks,
    contributions,
    reputation,
    rewardTotal: shape.rewardTotal ?? 1_000n * 10n ** 18n,
  };
  const totalContribution = contributions.reduce((s, c) => s + c.contribution, 0n);
  return {
    bundle,
    taskTree: tasks.length > 0 ? buildTree(tasks, TASK_LEAF_ENCODING) : undefined,
    rewardTree:
      contributions.length > 0
        ? buildTree(
            contributions.map((c): RewardLeafValue => [BigInt(epoch), BigInt(c.index), c.account, c.contribution]),
            REWARD_LEAF_ENCODING,
          )
        : undefined,
    totalContribution,
  };
}
