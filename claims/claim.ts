/**
 * Claiming: one epoch (`RewardPool.claim`) or every claimable epoch in one `claimMany` transaction. Nothing is
 * sent unless the chain says the claim will succeed (claimable, not claimed, account not flagged); the result
 * says what happened in a sentence either way. Anyone may send a claim; the tokens always go to the account.
 */
import type { Signer } from "ethers";

import type { RewardPool } from "../types/ethers-contracts/index.ts";
import { formatLum, type ClaimContext } from "./context.ts";
import { ClaimTransactionError } from "./errors.ts";
import { rewardsOf, type EpochReward } from "./rewards.ts";

export interface ClaimResult {
  /** Whether a transaction was sent (and mined successfully). */
  sent: boolean;
  txHash?: string;
  /** Epochs paid by the transaction. */
  epochs: number[];
  /** Total paid (base units). */
  amount: bigint;
  message: string;
  /** The account's state in the epochs considered, before the transaction. */
  rewards: EpochReward[];
}

/** Decodes a revert into the pool's custom error name and arguments, when it is one. */
export function revertReason(pool: RewardPool, err: unknown): string {
  const data =
    (err as { data?: string; error?: { data?: string } }).data ?? (err as { error?: { data?: string } }).error?.data;
  if (typeof data === "string") {
    const parsed = pool.interface.parseError(data);
    if (parsed !== null) return `${parsed.name}(${parsed.args.map(String).join(", ")})`;
  }
  const revert = (err as { revert?: { name: string; args: unknown[] } }).revert;
  if (revert !== undefined) return `${revert.name}(${revert.args.map(String).join(", ")})`;
  return (err as Error).message;
}

async function send(
  pool: RewardPool,
  tx: () => Promise<{ hash: string; wait: () => Promise<unknown> }>,
): Promise<string> {
  try {
    const sent = await tx();
    await sent.wait();
    return sent.hash;
  } catch (err) {
    throw new ClaimTransactionError(revertReason(pool, err), { cause: err });
  }
}

/** Claims `account`'s reward of one epoch, signed by `signer`. */
export async function claimEpoch(
  ctx: ClaimContext,
  signer: Signer,
  request: { epoch: number; account: string },
  options: { signal?: AbortSignal } = {},
): Promise<ClaimResult> {
  const report = await rewardsOf(ctx, request.account, { epochs: [request.epoch], signal: options.signal });
  const r = report.epochs[0]!;
  if (r.state !== "claimable" || r.proof === undefined) {
    return { sent: false, epochs: [], amount: 0n, message: `nothing sent: ${r.message}`, rewards: report.epochs };
  }
  const pool = ctx.contracts.pool.connect(signer);
  const p = r.proof;
  const header = await headerOf(ctx, p.epoch);
  const txHash = await send(pool, () => pool.claim(p.epoch, header, p.index, request.account, p.contribution, p.proof));
  const amount = r.amount ?? 0n;
  return {
    sent: true,
    txHash,
    epochs: [r.epoch],
    amount,
    message: `claimed ${formatLum(amount)} for ${request.account} in epoch ${r.epoch} (tx ${txHash})`,
    rewards: report.epochs,
  };
}

/**
 * The epoch header a claim carries (RewardPool.claimHeaderOf: the epoch's two committed words, checked on chain), as
 * a plain object: ethers does not take its own results back as arguments.
 */
async function headerOf(ctx: ClaimContext, epoch: number): Promise<{ root: string; terms: bigint }> {
  const { root, terms } = await ctx.contracts.pool.claimHeaderOf(epoch);
  return { root, terms };
}

/** Claims every claimable epoch of `account` in one `claimMany` transaction; sends nothing when none is. */
export async function claimAll(
  ctx: ClaimContext,
  signer: Signer,
  request: { account: string },
  options: { signal?: AbortSignal } = {},
): Promise<ClaimResult> {
  const report = await rewardsOf(ctx, request.account, { signal: options.signal });
  const claimable = report.epochs.filter((r) => r.state === "claimable" && r.proof !== undefined);
  if (claimable.length === 0) {
    const why = report.flagged
      ? `${request.account} is flagged by Reputation`
      : report.epochs.length === 0
        ? "no epoch is committed yet"
        : "no epoch is claimable now";
    const pending = report.epochs.filter((r) => r.state === "pending").map((r) => r.message);
    return {
      sent: false,
      epochs: [],
      amount: 0n,
      message: [`nothing to claim for ${request.account}: ${why}`, ...pending].join("\n"),
      rewards: report.epochs,
    };
  }
  const claims = await Promise.all(
    claimable.map(async (r) => ({
      epoch: r.proof!.epoch,
      header: await headerOf(ctx, r.proof!.epoch),
      index: r.proof!.index,
      contribution: r.proof!.contribution,
      proof: r.proof!.proof,
    })),
  );
  const pool = ctx.contracts.pool.connect(signer);
  const txHash = await send(pool, () => pool.claimMany(request.account, claims));
  const amount = claimable.reduce((s, r) => s + (r.amount ?? 0n), 0n);
  const epochs = claimable.map((r) => r.epoch);
  return {
    sent: true,
    txHash,
    epochs,
    amount,
    message: `claimed ${formatLum(amount)} for ${request.account} over epochs ${epochs.join(", ")} in one transaction (tx ${txHash})`,
    rewards: report.epochs,
  };
}
