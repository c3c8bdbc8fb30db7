/**
 * Reads and checks `deployments/<network>.json` (format: deployments/README.md). Only the fields the keeper
 * needs are checked; the record type is the deploy script's.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";

import { getAddress, isAddress } from "ethers";

import type { DeploymentRecord } from "../../scripts/lib/deployments.ts";
import { ChainConfigError } from "./errors.ts";

export type { DeploymentRecord };

/** The contracts the keeper talks to. */
export const KEEPER_CONTRACTS = ["LumoraToken", "Reputation", "TaskLog", "RewardPool"] as const;

/** Checks a record's chain id and addresses; returns it with checksummed addresses. */
export function checkDeploymentRecord(record: DeploymentRecord): DeploymentRecord {
  if (record === null || typeof record !== "object") throw new ChainConfigError("deployment", "not an object");
  if (!Number.isInteger(record.chainId) || record.chainId <= 0) {
    throw new ChainConfigError("deployment.chainId", "not a positive integer");
  }
  const contracts = { ...record.contracts };
  for (const name of KEEPER_CONTRACTS) {
    const address = contracts?.[name];
    if (typeof address !== "string" || !isAddress(address)) {
      throw new ChainConfigError(`deployment.contracts.${name}`, "missing or not an address");
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
