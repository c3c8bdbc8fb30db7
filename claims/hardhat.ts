/**
 * Opening the claim tooling from a Hardhat runtime: the network's connection and first configured account,
 * the contracts of `deployments/<network>.json`, and the published epochs (a folder, or a keeper's HTTP API with
 * `proofsUrl`; which folder by default: published.ts).
 */
import path from "node:path";

import type { Signer } from "ethers";
import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";

import type {
  CreditVault,
  EpochQuorum,
  LumoraToken,
  NodeRegistry,
  Reputation,
  RewardPool,
  TaskLog,
} from "../types/ethers-contracts/index.ts";
import { readDeploymentRecord } from "../scripts/lib/deployments.ts";
import type { BondContracts } from "./bond.ts";
import type { ClaimContext, LumoraContracts } from "./context.ts";
import { BondStateError } from "./errors.ts";
import { publishedRecords, type PublishedRecords } from "./published.ts";

/** What `ethers.getContractAt` offers (hardhat-ethers, or a test's own connection). */
export interface ContractLoader {
  getContractAt(name: string, address: string): Promise<unknown>;
}

/** The four contracts (and EpochQuorum, CreditVault when named) at the given addresses, connected to the loader's provider. */
export async function connectContracts(
  ethers: ContractLoader,
  addresses: {
    LumoraToken: string;
    RewardPool: string;
    Reputation: string;
    TaskLog: string;
    EpochQuorum?: string;
    CreditVault?: string;
  },
): Promise<LumoraContracts> {
  const [token, pool, reputation, taskLog, quorum, creditVault] = await Promise.all([
    ethers.getContractAt("LumoraToken", addresses.LumoraToken),
    ethers.getContractAt("RewardPool", addresses.RewardPool),
    ethers.getContractAt("Reputation", addresses.Reputation),
    ethers.getContractAt("TaskLog", addresses.TaskLog),
    addresses.EpochQuorum === undefined ? undefined : ethers.getContractAt("EpochQuorum", addresses.EpochQuorum),
    addresses.CreditVault === undefined ? undefined : ethers.getContractAt("CreditVault", addresses.CreditVault),
  ]);
  return {
    token: token as LumoraToken,
    pool: pool as RewardPool,
    reputation: reputation as Reputation,
    taskLog: taskLog as TaskLog,
    ...(quorum !== undefined && { quorum: quorum as EpochQuorum }),
    ...(creditVault !== undefined && { creditVault: creditVault as CreditVault }),
  };
}

export interface ToolingOptions {
  /** A keeper's HTTP API to take proofs from instead of the published directory. */
  proofsUrl?: string;
  /** The publication base directory (default: the keeper's publication folder, see published.ts). */
  proofsDir?: string;
}

export interface Tooling {
  ctx: ClaimContext;
  /** The network's first configured account. */
  signer: Signer;
  network: string;
  /** Where published epochs are read from (the same source as `ctx.source`). */
  records: PublishedRecords;
  close(): Promise<void>;
}

export async function openTooling(hre: HardhatRuntimeEnvironment, options: ToolingOptions = {}): Promise<Tooling> {
  const connection = await hre.network.create();
  const network = connection.networkName;
  const root = hre.config.paths.root;
  const record = await readDeploymentRecord(path.join(root, "deployments"), network).catch((err: unknown) => {
    throw new Error(
      `no deployment record deployments/${network}.json (deploy first: npm run deploy:local): ${(err as Error).message}`,
    );
  });
  const contracts = await connectContracts(connection.ethers, record.contracts);
  const [signer] = await connection.ethers.getSigners();
  if (signer === undefined) throw new Error(`network ${network} has no configured account`);
  const records = publishedRecords(root, network, options);
  return { ctx: { contracts, source: records.source }, signer, network, records, close: () => connection.close() };
}

/** What the bond commands work with: the registry and token of `deployments/<network>.json`, and the signer. */
export interface BondTooling {
  contracts: BondContracts;
  /** The network's first configured account. */
  signer: Signer;
  close(): Promise<void>;
}

export async function openBondTooling(hre: HardhatRuntimeEnvironment): Promise<BondTooling> {
  const connection = await hre.network.create();
  const network = connection.networkName;
  try {
    const record = await readDeploymentRecord(path.join(hre.config.paths.root, "deployments"), network).catch(
      (err: unknown) => {
        throw new Error(
          `no deployment record deployments/${network}.json (deploy first: npm run deploy:local): ${(err as Error).message}`,
        );
      },
    );
    if (record.contracts.NodeRegistry === undefined) {
      throw new BondStateError(
        `deployments/${network}.json names no NodeRegistry: the deployment predates bonds (deploy again)`,
      );
    }
    const [registry, token] = await Promise.all([
      connection.ethers.getContractAt("NodeRegistry", record.contracts.NodeRegistry),
      connection.ethers.getContractAt("LumoraToken", record.contracts.LumoraToken),
    ]);
    const [signer] = await connection.ethers.getSigners();
    if (signer === undefined) throw new Error(`network ${network} has no configured account`);
    return {
      contracts: { registry: registry as NodeRegistry, token: token as LumoraToken },
      signer,
      close: () => connection.close(),
    };
  } catch (err) {
    await connection.close();
    throw err;
  }
}

/** What `lumora:settle` works with: the published epochs, CreditVault of `deployments/<network>.json`, the signer. */
export interface SettleTooling {
  vault: CreditVault;
  chainId: bigint;
  records: PublishedRecords;
  /** The network's first configured account (pays the gas; the fees go to the pool whoever sends). */
  signer: Signer;
  close(): Promise<void>;
}

export async function openSettleTooling(
  hre: HardhatRuntimeEnvironment,
  options: ToolingOptions = {},
): Promise<SettleTooling> {
  const connection = await hre.network.create();
  const network = connection.networkName;
  const root = hre.config.paths.root;
  try {
    const record = await readDeploymentRecord(path.join(root, "deployments"), network).catch((err: unknown) => {
      throw new Error(
        `no deployment record deployments/${network}.json (deploy first: npm run deploy:local): ${(err as Error).message}`,
      );
    });
    if (record.contracts.CreditVault === undefined)
      throw new Error(`deployments/${network}.json names no CreditVault: the deployment predates paid demand`);
    const [signer] = await connection.ethers.getSigners();
    if (signer === undefined) throw new Error(`network ${network} has no configured account`);
    const vault = (await connection.ethers.getContractAt(
      "CreditVault",
      record.contracts.CreditVault,
      signer,
    )) as CreditVault;
    const { chainId } = await connection.ethers.provider.getNetwork();
    return {
      vault,
      chainId,
      records: publishedRecords(root, network, options),
      signer,
      close: () => connection.close(),
    };
  } catch (err) {
    await connection.close();
    throw err;
  }
}
