/**
 * The deployment itself, shared by `scripts/deploy.ts` and its tests: checks the parameters, sets EIP-1559 fees
 * (scripts/lib/fees.ts), asks for confirmation on a live network, deploys the Ignition module and records the
 * result in `<recordsDir>/<network>.json`.
 *
 * A live network is any chain but Hardhat's development chain (31337). There, every role (admin, guardian, treasury
 * and each of the keepers) must be named explicitly, must not be left as a placeholder (`"<…>"`, as
 * `ignition/parameters/amoy.json` ships), and all must be distinct accounts: one key holding two roles is exactly
 * what the review refused. The keeper quorum must be a majority of at least two: `threshold > keepers / 2` and
 * `threshold >= 2`, so that no single key — and no minority of keepers — commits an epoch.
 */
import { existsSync } from "node:fs";
import path from "node:path";

import { readDeploymentParameters } from "@nomicfoundation/hardhat-ignition/helpers";
import { formatUnits, getAddress, isAddress } from "ethers";
import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import type { NetworkConnection } from "hardhat/types/network";

import LumoraModule from "../../ignition/modules/Lumora.js";
import {
  buildDeploymentRecord,
  deploymentBlockFromJournal,
  MODULE_ID,
  resolveParameters,
  ROLE_PARAMETERS,
  writeDeploymentRecord,
  type DeploymentRecord,
  type IgnitionParameters,
} from "./deployments.js";
import { currentFees, installEip1559Fees, type FeeOverrides, type Fees } from "./fees.js";

/** Hardhat's development chain: the only chain deployed to without role checks and confirmation. */
export const DEVELOPMENT_CHAIN_ID = 31337n;

/** A deployment refused before anything was sent. */
export class DeploymentRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DeploymentRefusedError";
  }
}

/** `"<…>"`: a value the deployer must replace (ignition/parameters/amoy.json ships its roles so). */
export function isPlaceholder(value: unknown): boolean {
  return typeof value === "string" && value.startsWith("<") && value.endsWith(">");
}

/**
 * The problems of the role parameters for a live network (empty when none): each role given, not a placeholder,
 * an address, and the four distinct.
 */
export function liveRoleProblems(parameters: IgnitionParameters, source: string): string[] {
  const given = parameters[MODULE_ID] ?? {};
  const problems: string[] = [];
  const seen = new Map<string, string>();
  const check = (role: string, value: unknown) => {
    if (value === undefined) {
      problems.push(`${role} is not set in ${source}: a live network needs every role named explicitly`);
    } else if (isPlaceholder(value)) {
      problems.push(`${role} is still the placeholder ${String(value)} in ${source}: write the account's address`);
    } else if (typeof value !== "string" || !isAddress(value)) {
      problems.push(`${role} in ${source} is not an address: ${String(value)}`);
    } else {
      const address = getAddress(value);
      const other = seen.get(address);
      if (other !== undefined) {
        problems.push(`${other} and ${role} are the same account ${address}: every role must be a distinct account`);
      } else seen.set(address, role);
    }
  };
  for (const role of ROLE_PARAMETERS) check(role, given[role]);
  const keepers = given.keepers;
  if (!Array.isArray(keepers) || keepers.length === 0) {
    problems.push(`keepers is not set in ${source}: a live network names its keepers (a list of addresses)`);
    return problems;
  }
  keepers.forEach((keeper, i) => check(`keepers[${i}]`, keeper));
  const threshold = given.threshold;
  if (typeof threshold !== "bigint" && typeof threshold !== "number") {
    problems.push(`threshold is not set in ${source}: a live network names how many keeper signatures an epoch needs`);
  } else if (BigInt(threshold) < 2n || BigInt(threshold) * 2n <= BigInt(keepers.length)) {
    problems.push(
      `threshold ${threshold} of ${keepers.length} keepers in ${source} is not a majority of at least two: ` +
        `one key, or a minority of keepers, could commit an epoch`,
    );
  } else if (BigInt(threshold) > BigInt(keepers.length)) {
    problems.push(`threshold ${threshold} in ${source} is above the ${keepers.length} keepers: no epoch could commit`);
  }
  return problems;
}

export interface DeployLumoraOptions {
  hre: HardhatRuntimeEnvironment;
  connection: NetworkConnection;
  /** `ignition/parameters/<network>.json` or another file; module defaults when it does not exist. */
  parameterFile: string;
  /** Where the record goes (`deployments/`). */
  recordsDir: string;
  /** Ignition's deployment id (its journal folder); default `chain-<chainId>`. */
  deploymentId?: string;
  /** Asked on a live network with a summary of what will be sent; false refuses the deployment. */
  confirm: (summary: string) => Promise<boolean>;
  log?: (line: string) => void;
  displayUi?: boolean;
}

export interface DeployLumoraResult {
  record: DeploymentRecord;
  file: string;
  /** The fees of every transaction sent, in order. */
  fees: Fees[];
}

/** Deploys Lumora (see the file header). Nothing is sent when a check fails or the confirmation is refused. */
export async function deployLumora(options: DeployLumoraOptions): Promise<DeployLumoraResult> {
  const { hre, connection, parameterFile } = options;
  const log = options.log ?? (() => {});
  const { ethers, ignition, networkName, networkConfig } = connection;
  const source = path.relative(hre.config.paths.root, parameterFile) || parameterFile;
  const parameters: IgnitionParameters = existsSync(parameterFile) ? await readDeploymentParameters(parameterFile) : {};
  const [deployer] = await ethers.getSigners();
  const { chainId } = await ethers.provider.getNetwork();
  const live = chainId !== DEVELOPMENT_CHAIN_ID;
  if (live) {
    const problems = liveRoleProblems(parameters, existsSync(parameterFile) ? source : `${source} (missing)`);
    if (problems.length > 0) {
      throw new DeploymentRefusedError(
        `refusing to deploy to ${networkName} (chain ${chainId}):\n- ${problems.join("\n- ")}`,
      );
    }
  }
  const resolved = resolveParameters(parameters, deployer.address);

  const ignitionConfig = (networkConfig as { ignition?: FeeOverrides }).ignition ?? {};
  const overrides: FeeOverrides = {
    ...(ignitionConfig.maxFeePerGas !== undefined && { maxFeePerGas: BigInt(ignitionConfig.maxFeePerGas) }),
    ...(ignitionConfig.maxPriorityFeePerGas !== undefined && {
      maxPriorityFeePerGas: BigInt(ignitionConfig.maxPriorityFeePerGas),
    }),
  };
  const request = (method: string, params: unknown[] = []) => connection.provider.request({ method, params });
  const now = await currentFees(request, overrides);
  const gwei = (wei: bigint) => `${formatUnits(wei, "gwei")} gwei`;
  const summary = [
    `network ${networkName} (chain ${chainId}), deployer ${deployer.address}`,
    `parameters ${existsSync(parameterFile) ? source : "module defaults"}`,
    ...ROLE_PARAMETERS.map((role) => `${role.padEnd(8)} ${resolved[role]}`),
    `keepers  ${resolved.threshold} of ${resolved.keepers.join(", ")}`,
    `fees (EIP-1559, ${overrides.maxFeePerGas !== undefined || overrides.maxPriorityFeePerGas !== undefined ? "config" : "node's fee data"}): ` +
      `max ${gwei(now.maxFeePerGas)}, tip ${gwei(now.maxPriorityFeePerGas)} per gas`,
  ].join("\n");
  log(summary);
  if (live && !(await options.confirm(summary))) {
    throw new DeploymentRefusedError(`deployment to ${networkName} (chain ${chainId}) not confirmed: nothing sent`);
  }

  const fees: Fees[] = [];
  const uninstall = installEip1559Fees(hre.hooks, connection, overrides, (f) => fees.push(f));
  const deploymentId = options.deploymentId ?? `chain-${chainId}`;
  try {
    const deployed = await ignition.deploy(LumoraModule, {
      parameters,
      deploymentId,
      displayUi: options.displayUi ?? false,
    });
    const record = buildDeploymentRecord({
      network: networkName,
      chainId,
      deployer: deployer.address,
      contracts: {
        LumoraToken: await deployed.token.getAddress(),
        Reputation: await deployed.reputation.getAddress(),
        TaskLog: await deployed.taskLog.getAddress(),
        RewardPool: await deployed.rewardPool.getAddress(),
        EpochQuorum: await deployed.epochQuorum.getAddress(),
        NodeRegistry: await deployed.nodeRegistry.getAddress(),
        CreditVault: await deployed.creditVault.getAddress(),
      },
      deploymentBlock: await deploymentBlockFromJournal(
        ethers.provider,
        path.join(hre.config.paths.ignition, "deployments", deploymentId),
      ),
      parameters: resolved,
    });
    const file = await writeDeploymentRecord(options.recordsDir, record);
    return { record, file, fees };
  } finally {
    uninstall();
  }
}
