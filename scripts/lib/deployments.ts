import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";

import { listTransactions, type DeploymentParameters } from "@nomicfoundation/ignition-core";
import { getAddress, isAddress, type Provider } from "ethers";

import { LUMORA_DEFAULTS } from "../../ignition/modules/Lumora.js";
import {
  CONTRACT_NAMES,
  CREDIT_CONTRACT_NAMES,
  QUORUM_CONTRACT_NAME,
  type ContractName,
  type CreditContractName,
  type DeploymentRecord,
  type ReputationParameters,
} from "../../keeper/chain/deployment.ts";

export {
  CONTRACT_NAMES,
  CREDIT_CONTRACT_NAMES,
  type ContractName,
  type CreditContractName,
  type DeploymentRecord,
  type ReputationParameters,
};

/** The Ignition module's id; parameter files key their values by it. */
export const MODULE_ID = "LumoraModule";

// The record's types live with the keeper (which imports neither Ignition nor scripts): they must name the
// module's reputation parameters exactly; this fails to compile when the two drift apart.
type SameKeys<A, B> = [keyof A] extends [keyof B] ? ([keyof B] extends [keyof A] ? true : false) : false;
const reputationParametersMatch: SameKeys<ReputationParameters, typeof LUMORA_DEFAULTS.reputationParameters> = true;
void reputationParametersMatch;

/** The module's parameters after defaults were applied: what the deployment actually ran with. */
export type LumoraParameters = Omit<DeploymentRecord["parameters"], AmountParameter | "threshold"> & {
  threshold: bigint;
  initialSupply: bigint;
  challengeWindow: bigint;
  claimPeriod: bigint;
  rewardCap: bigint;
  rewardCapBps: bigint;
  challengeBond: bigint;
  challengeReward: bigint;
  minBond: bigint;
  unbondingDelay: bigint;
  burnBps: bigint;
  withdrawalDelay: bigint;
};

/** The module's parameters that are amounts or durations (bigints; decimal strings in a record). */
export const AMOUNT_PARAMETERS = [
  "initialSupply",
  "challengeWindow",
  "claimPeriod",
  "rewardCap",
  "rewardCapBps",
  "challengeBond",
  "challengeReward",
  "minBond",
  "unbondingDelay",
  "burnBps",
  "withdrawalDelay",
] as const;
type AmountParameter = (typeof AMOUNT_PARAMETERS)[number];

/**
 * The module's single-account parameters; on a live network each must be given, and they must differ from each
 * other and from every keeper (`keepers`, checked with them: scripts/lib/deploy-lumora.ts).
 */
export const ROLE_PARAMETERS = ["admin", "guardian", "treasury"] as const;

/** An Ignition parameter file: `{ "LumoraModule": { ... } }`, with bigints parsed from `"123n"` strings. */
export type IgnitionParameters = DeploymentParameters;

/**
 * Applies the module's defaults to the `LumoraModule` entry of an Ignition parameter set, the way Ignition
 * does: a missing account is the deployer, a missing value is the default, a given reputation parameter set
 * replaces the default one as a whole.
 */
export function resolveParameters(parameters: IgnitionParameters, deployer: string): LumoraParameters {
  const given = parameters[MODULE_ID] ?? {};
  const account = (name: string): string => {
    const value = given[name] ?? deployer;
    if (typeof value !== "string" || !isAddress(value)) throw new Error(`parameter ${name} is not an address`);
    return getAddress(value);
  };
  const amount = (name: AmountParameter): bigint => {
    const value = given[name] ?? LUMORA_DEFAULTS[name];
    if (typeof value !== "bigint" && typeof value !== "number") throw new Error(`parameter ${name} is not a number`);
    return BigInt(value);
  };
  return {
    admin: account("admin"),
    treasury: account("treasury"),
    keepers: keepersOf(given.keepers, deployer),
    threshold: BigInt((given.threshold as bigint | number | undefined) ?? LUMORA_DEFAULTS.threshold),
    guardian: account("guardian"),
    initialSupply: amount("initialSupply"),
    challengeWindow: amount("challengeWindow"),
    claimPeriod: amount("claimPeriod"),
    rewardCap: amount("rewardCap"),
    rewardCapBps: amount("rewardCapBps"),
    challengeBond: amount("challengeBond"),
    challengeReward: amount("challengeReward"),
    minBond: amount("minBond"),
    unbondingDelay: amount("unbondingDelay"),
    burnBps: amount("burnBps"),
    withdrawalDelay: amount("withdrawalDelay"),
    reputationParameters: {
      ...((given.reputationParameters as ReputationParameters | undefined) ?? LUMORA_DEFAULTS.reputationParameters),
    },
  };
}

/** The `keepers` parameter, checksummed; the module's default is the development chain's deployer. */
function keepersOf(value: unknown, deployer: string): string[] {
  if (value === undefined) return [getAddress(deployer)];
  if (!Array.isArray(value) || value.some((k) => typeof k !== "string" || !isAddress(k))) {
    throw new Error("parameter keepers is not a list of addresses");
  }
  return value.map((k: string) => getAddress(k));
}

/** Builds the record of a deployment, with checksummed addresses and JSON-safe numbers. */
export function buildDeploymentRecord(input: {
  network: string;
  chainId: bigint | number;
  deployer: string;
  contracts: Record<ContractName, string> & Partial<Record<CreditContractName | typeof QUORUM_CONTRACT_NAME, string>>;
  deploymentBlock: number;
  parameters: LumoraParameters;
}): DeploymentRecord {
  const { parameters } = input;
  return {
    network: input.network,
    chainId: Number(input.chainId),
    deployer: getAddress(input.deployer),
    contracts: Object.fromEntries(
      [...CONTRACT_NAMES, ...CREDIT_CONTRACT_NAMES, QUORUM_CONTRACT_NAME]
        .filter((name) => input.contracts[name] !== undefined)
        .map((name) => [name, getAddress(input.contracts[name]!)]),
    ) as DeploymentRecord["contracts"],
    deploymentBlock: input.deploymentBlock,
    parameters: {
      ...parameters,
      threshold: parameters.threshold.toString(),
      ...(Object.fromEntries(AMOUNT_PARAMETERS.map((name) => [name, parameters[name].toString()])) as Record<
        AmountParameter,
        string
      >),
    },
  };
}

/** The path of a network's record in `directory`. */
export function deploymentRecordPath(directory: string, network: string): string {
  return path.join(directory, `${network}.json`);
}

/**
 * Writes `<directory>/<network>.json`. The file is written next to its final name and then renamed, so that a
 * reader (a keeper starting up) never sees half a record.
 */
export async function writeDeploymentRecord(directory: string, record: DeploymentRecord): Promise<string> {
  await mkdir(directory, { recursive: true });
  const file = deploymentRecordPath(directory, record.network);
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(record, null, 2)}\n`);
  await rename(temporary, file);
  return file;
}

/** Reads a record written by {@link writeDeploymentRecord}. */
export async function readDeploymentRecord(directory: string, network: string): Promise<DeploymentRecord> {
  return JSON.parse(await readFile(deploymentRecordPath(directory, network), "utf8")) as DeploymentRecord;
}

/**
 * The block of the deployment's first contract creation, from the transactions Ignition journaled in
 * `deploymentDir` (`ignition/deployments/chain-<id>`). Readers of the contracts' events start there. Works on
 * nodes without archive state, and also when Ignition resumed or skipped an earlier, finished deployment.
 */
export async function deploymentBlockFromJournal(provider: Provider, deploymentDir: string): Promise<number> {
  // listTransactions does not use its artifact resolver; the type still asks for one.
  const transactions = await listTransactions(deploymentDir, {
    loadArtifact: () => Promise.reject(new Error("not needed")),
  });
  const creations = transactions.filter((tx) => tx.type === "DEPLOYMENT_EXECUTION_STATE" && tx.address !== undefined);
  if (creations.length === 0) throw new Error(`no contract creation journaled in ${deploymentDir}`);
  const blocks = await Promise.all(
    creations.map(async ({ txHash }) => {
      const receipt = await provider.getTransactionReceipt(txHash);
      if (receipt === null) throw new Error(`no receipt for deployment transaction ${txHash}`);
      return receipt.blockNumber;
    }),
  );
  return Math.min(...blocks);
}
