/**
 * Reads and checks `deployments/<network>.json` (format: deployments/README.md). Only the fields the keeper
 * needs are checked. The record's type is declared here, where the keeper reads it; the deploy script
 * (scripts/lib/deployments.ts) writes records of this type, and checks its parameter names against the
 * Ignition module's.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";

import { getAddress, isAddress } from "ethers";

import { ChainConfigError } from "./errors.ts";

/** The contracts a Lumora deployment consists of, by their names in the record; the keeper talks to all of them. */
export const CONTRACT_NAMES = ["LumoraToken", "Reputation", "TaskLog", "RewardPool"] as const;
export type ContractName = (typeof CONTRACT_NAMES)[number];
/**
 * The bond registry and the consumers' credit vault (issue 11). Optional in a record: records written before they
 * existed lack them. The keeper reads NodeRegistry when present (bond gating: routing, credit, Reputation reports).
 */
export const CREDIT_CONTRACT_NAMES = ["NodeRegistry", "CreditVault"] as const;
export type CreditContractName = (typeof CREDIT_CONTRACT_NAMES)[number];

/**
 * The keeper quorum (contracts/EpochQuorum.sol), which holds KEEPER_ROLE on TaskLog, Reputation and RewardPool in
 * every deployment of the Ignition module: with it in the record, epochs are committed through t-of-n keeper
 * signatures. Records without it (test deployments that grant KEEPER_ROLE to keeper keys) commit directly.
 */
export const QUORUM_CONTRACT_NAME = "EpochQuorum" as const;

/** Reputation's constructor parameters (the Ignition module's `reputationParameters`). */
export type ReputationParameters = {
  neutralScore: number;
  decayBps: number;
  learningRateBps: number;
  failingRateBps: number;
  flagAfterFailingEpochs: number;
  flagBelowScore: number;
  warnBelowScore: number;
  unflagAfterGoodEpochs: number;
  unflagAtScore: number;
};

/** `deployments/<network>.json`: where the keeper and the scripts find a network's contracts. */
export interface DeploymentRecord {
  network: string;
  chainId: number;
  deployer: string;
  contracts: Record<ContractName, string> & Partial<Record<CreditContractName | typeof QUORUM_CONTRACT_NAME, string>>;
  deploymentBlock: number;
  /** The resolved module parameters; amounts and durations as decimal strings (JSON has no bigint). */
  parameters: {
    admin: string;
    treasury: string;
    /** The keepers whose signatures EpochQuorum counts. */
    keepers: string[];
    /** Signatures an epoch needs (decimal string). */
    threshold: string;
    guardian: string;
    initialSupply: string;
    challengeWindow: string;
    claimPeriod: string;
    rewardCap: string;
    rewardCapBps: string;
    challengeBond: string;
    challengeReward: string;
    /** NodeRegistry's and CreditVault's parameters; absent from records written before those contracts. */
    minBond?: string;
    unbondingDelay?: string;
    burnBps?: string;
    withdrawalDelay?: string;
    reputationParameters: ReputationParameters;
  };
}

/** Checks a record's chain id and addresses; returns it with checksummed addresses. */
export function checkDeploymentRecord(record: DeploymentRecord): DeploymentRecord {
  if (record === null || typeof record !== "object") throw new ChainConfigError("deployment", "not an object");
  if (!Number.isInteger(record.chainId) || record.chainId <= 0) {
    throw new ChainConfigError("deployment.chainId", "not a positive integer");
  }
  const contracts = { ...record.contracts };
  for (const name of CONTRACT_NAMES) {
    const address = contracts?.[name];
    if (typeof address !== "string" || !isAddress(address)) {
      throw new ChainConfigError(`deployment.contracts.${name}`, "missing or not an address");
    }
    contracts[name] = getAddress(address);
  }
  for (const name of [...CREDIT_CONTRACT_NAMES, QUORUM_CONTRACT_NAME] as const) {
    const address = contracts[name];
    if (address === undefined) continue;
    if (typeof address !== "string" || !isAddress(address)) {
      throw new ChainConfigError(`deployment.contracts.${name}`, "not an address");
    }
    contracts[name] = getAddress(address);
  }
  return { ...record, contracts };
}

/** Loads `<directory>/<network>.json` (by default `deployments/`), checked. */
export async function loadDeploymentRecord(
  network: string,
  directory = "deployments",
  options: { signal?: AbortSignal } = {},
): Promise<DeploymentRecord> {
  const file = path.join(directory, `${network}.json`);
  let text: string;
  try {
    text = await readFile(file, { encoding: "utf8", signal: options.signal });
  } catch (err) {
    throw new ChainConfigError("deployment", `cannot read ${file}: ${(err as Error).message}`);
  }
  let record: DeploymentRecord;
  try {
    record = JSON.parse(text) as DeploymentRecord;
  } catch {
    throw new ChainConfigError("deployment", `${file} is not JSON`);
  }
  return checkDeploymentRecord(record);
}
