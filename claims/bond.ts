/**
 * Bonding a reward account in NodeRegistry (node operators): approve + bond (or bondFor another account), ask to
 * unbond, withdraw once the unbonding delay has passed. Every state the registry would refuse is checked first and
 * reported as one clear {@link BondStateError}; nothing is sent then.
 */
import type { Signer } from "ethers";

import type { LumoraToken, NodeRegistry } from "../types/ethers-contracts/index.ts";
import { formatLum, formatTime } from "./context.ts";
import { BondStateError, InsufficientBalanceError } from "./errors.ts";

/** The registry and the token it bonds, connected to a provider. */
export interface BondContracts {
  registry: NodeRegistry;
  token: LumoraToken;
}

export interface BondResult {
  account: string;
  /** The active bond after the transaction. */
  active: bigint;
  /** Whether the account counts (active ≥ minBond). */
  bonded: boolean;
  txHash: string;
  message: string;
}

/** The block time the registry compares against. */
async function chainNow(registry: NodeRegistry): Promise<number> {
  const block = await registry.runner?.provider?.getBlock("latest");
  if (block == null) throw new Error("NodeRegistry has no provider");
  return block.timestamp;
}

/**
 * Bonds `amount` of the signer's LUM for `account` (default: the signer's own). The bond belongs to `account`:
 * only it can unbond, withdrawals go to it.
 */
export async function bondAccount(
  contracts: BondContracts,
  signer: Signer,
  amount: bigint,
  account?: string,
): Promise<BondResult> {
  const from = await signer.getAddress();
  const target = account ?? from;
  const registry = contracts.registry.connect(signer);
  const token = contracts.token.connect(signer);
  const registryAddress = await registry.getAddress();
  const [balance, active, minBond] = await Promise.all([
    token.balanceOf(from),
    registry.bondOf(target),
    registry.minBond(),
  ]);
  if (balance < amount) throw new InsufficientBalanceError(from, amount, balance);
  if (active + amount < minBond) {
    throw new BondStateError(
      `${target} would have ${formatLum(active + amount)} bonded, below the minimum bond of ${formatLum(minBond)}`,
    );
  }
  if ((await token.allowance(from, registryAddress)) < amount) {
    await (await token.approve(registryAddress, amount)).wait();
  }
  const tx = target === from ? await registry.bond(amount) : await registry.bondFor(target, amount);
  await tx.wait();
  const [after, bonded] = await Promise.all([registry.bondOf(target), registry.isBonded(target)]);
  return {
    account: target,
    active: after,
    bonded,
    txHash: tx.hash,
    message: `bonded ${formatLum(amount)} for ${target} (tx ${tx.hash}); active bond now ${formatLum(after)}${bonded ? "" : " (below the minimum: not counted)"}`,
  };
}

export interface UnbondResult {
  /** In unbonding after the request. */
  unbonding: bigint;
  withdrawableAt: number;
  active: bigint;
  txHash: string;
  message: string;
}

/** Asks to unbond `amount` of the signer's active bond: it stops counting at once, withdrawable after the delay. */
export async function requestUnbond(contracts: BondContracts, signer: Signer, amount: bigint): Promise<UnbondResult> {
  const account = await signer.getAddress();
  const registry = contracts.registry.connect(signer);
  const active = await registry.bondOf(account);
  if (amount > active) {
    throw new BondStateError(`${account} has ${formatLum(active)} bonded, cannot unbond ${formatLum(amount)}`);
  }
  const tx = await registry.requestUnbond(amount);
  await tx.wait();
  const [[unbonding, withdrawableAt], after, bonded] = await Promise.all([
    registry.unbondingOf(account),
    registry.bondOf(account),
    registry.isBonded(account),
  ]);
  return {
    unbonding,
    withdrawableAt: Number(withdrawableAt),
    active: after,
    txHash: tx.hash,
    message:
      `asked to unbond ${formatLum(amount)} for ${account} (tx ${tx.hash}); ${formatLum(unbonding)} withdrawable from ` +
      `${formatTime(Number(withdrawableAt))}; active bond now ${formatLum(after)}${bonded ? "" : " (not counted)"}`,
  };
}

export interface WithdrawResult {
  amount: bigint;
  txHash: string;
  message: string;
}

/** Withdraws the signer's unbonded LUM once the unbonding delay has passed. */
export async function withdrawUnbonded(contracts: BondContracts, signer: Signer): Promise<WithdrawResult> {
  const account = await signer.getAddress();
  const registry = contracts.registry.connect(signer);
  const [amount, withdrawableAt] = await registry.unbondingOf(account);
  if (amount === 0n) throw new BondStateError(`${account} has nothing in unbonding`);
  if ((await chainNow(registry)) < Number(withdrawableAt)) {
    throw new BondStateError(
      `${formatLum(amount)} of ${account} is unbonding until ${formatTime(Number(withdrawableAt))}`,
    );
  }
  const tx = await registry.withdraw();
  await tx.wait();
  return { amount, txHash: tx.hash, message: `withdrew ${formatLum(amount)} to ${account} (tx ${tx.hash})` };
}
