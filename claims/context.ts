/**
 * What every claim command works with: the deployment's contracts (typed, already connected to a provider)
 * and where proofs come from.
 */
import { formatUnits, getAddress, isAddress, parseUnits } from "ethers";

import type {
  CreditVault,
  EpochQuorum,
  LumoraToken,
  Reputation,
  RewardPool,
  TaskLog,
} from "../types/ethers-contracts/index.ts";
import type { ProofSource } from "../keeper/epochs/proofs/source.ts";
import { ClaimArgumentError } from "./errors.ts";

export interface LumoraContracts {
  token: LumoraToken;
  pool: RewardPool;
  reputation: Reputation;
  taskLog: TaskLog;
  /** The deployment's keeper quorum, when it has one: whose keepers may sign health observations. */
  quorum?: EpochQuorum;
  /** The deployment's CreditVault, when it has one: the only vault an epoch's paid credit may be read from. */
  creditVault?: CreditVault;
}

export interface ClaimContext {
  contracts: LumoraContracts;
  /** Proofs: the published directory (DirectoryProofSource) or a keeper (HttpProofSource). */
  source: ProofSource;
}

/** Token decimals of LUM. */
export const LUM_DECIMALS = 18;

/** `1234.5 LUM` from base units. */
export function formatLum(amount: bigint): string {
  return `${formatUnits(amount, LUM_DECIMALS)} LUM`;
}

/** A UTC date from Unix seconds. */
export function formatTime(unixSeconds: number): string {
  return new Date(unixSeconds * 1000).toISOString().replace(".000Z", "Z");
}

/** Validates an `--account` argument. */
export function parseAccount(value: string, argument = "account"): string {
  if (!isAddress(value)) throw new ClaimArgumentError(argument, `"${value}" is not an address`);
  return getAddress(value);
}

/** Validates an `--epoch` argument. */
export function parseEpoch(value: string | number | undefined, argument = "epoch"): number {
  if (value === undefined) throw new ClaimArgumentError(argument, "is required");
  const n = typeof value === "number" ? value : /^[0-9]+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < 1) throw new ClaimArgumentError(argument, `"${value}" is not an epoch (1, 2, …)`);
  return n;
}

/** The chain's current time (the latest block's timestamp): what the contracts compare against. */
export async function chainTime(contracts: LumoraContracts): Promise<number> {
  const provider = contracts.pool.runner?.provider;
  if (provider == null) throw new Error("the RewardPool contract has no provider");
  const block = await provider.getBlock("latest");
  if (block === null) throw new Error("no latest block");
  return block.timestamp;
}

/** Parses an `--amount` in LUM (decimal, e.g. `1000` or `0.5`) into base units. */
export function parseLum(value: string | undefined, argument = "amount"): bigint {
  if (value === undefined) throw new ClaimArgumentError(argument, "is required");
  let amount: bigint;
  try {
    amount = parseUnits(value.trim(), LUM_DECIMALS);
  } catch {
    throw new ClaimArgumentError(argument, `"${value}" is not an amount of LUM`);
  }
  if (amount <= 0n) throw new ClaimArgumentError(argument, "must be positive");
  return amount;
}
