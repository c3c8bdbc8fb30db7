/**
 * A holder's rewards, epoch by epoch, from the chain (status, windows, claimed flags, flags) and the proofs
 * (leaf, index, amount). Every state comes with the sentence the tooling prints.
 */
import { EPOCH_STATUS } from "../keeper/chain/epoch-status.ts";
import { EpochUnknownError } from "../keeper/epochs/collect/errors.ts";
import { AccountNotInEpochError } from "../keeper/epochs/proofs/errors.ts";
import type { RewardProof } from "../keeper/epochs/proofs/source.ts";
import { chainTime, formatLum, formatTime, type ClaimContext } from "./context.ts";

/** RewardPool.EpochStatus. */

export type RewardState =
  /** Committed, inside the challenge window: claimable from `claimableAt`. */
  | "pending"
  /** Claimable now. */
  | "claimable"
  /** Already claimed. */
  | "claimed"
  /** Vetoed by the guardian: never claimable (a corrected distribution may be committed for the epoch). */
  | "vetoed"
  /** The claim period ended; the unclaimed rest went back to the pool. */
  | "expired"
  /** Someone challenged the epoch while it was pending: frozen until the guardian upholds or rejects it. */
  | "challenged"
  /** Claimable, but the account is flagged by Reputation: claims revert until it is unflagged. */
  | "flagged"
  /** The account has no leaf in the epoch. */
  | "not-included"
  /** The epoch is committed on chain but its proofs are not available from the chosen source. */
  | "unpublished";

export interface EpochReward {
  epoch: number;
  state: RewardState;
  /** The reward (base units): what the pool pays, or would have paid for vetoed/expired epochs. */
  amount?: bigint;
  /** Unix seconds from which the epoch is claimable. */
  claimableAt?: number;
  /** Unix seconds after which the epoch may be expired. */
  expiresAt?: number;
  proof?: RewardProof;
  message: string;
}

export interface RewardsReport {
  account: string;
  flagged: boolean;
  /** Chain time (Unix seconds) the report was made at. */
  now: number;
  epochs: EpochReward[];
  /** Sum of `amount` over claimable epochs. */
  claimableTotal: bigint;
}

/**
 * The account's state in each committed epoch (default: 1 … RewardPool.lastEpoch).
 */
export async function rewardsOf(
  ctx: ClaimContext,
  account: string,
  options: { epochs?: readonly number[]; signal?: AbortSignal } = {},
): Promise<RewardsReport> {
  const { pool, reputation } = ctx.contracts;
  const [last, flagged, now, claimPeriod] = await Promise.all([
    pool.lastEpoch(),
    reputation.isFlagged(account),
    chainTime(ctx.contracts),
    pool.claimPeriod(),
  ]);
  const epochs = options.epochs ?? Array.from({ length: Number(last) }, (_, i) => i + 1);
  const out: EpochReward[] = [];
  for (const epoch of epochs) {
    options.signal?.throwIfAborted();
    out.push(
      await epochReward(ctx, account, epoch, {
        flagged,
        now,
        claimPeriod: Number(claimPeriod),
        signal: options.signal,
      }),
    );
  }
  const claimableTotal = out.reduce((sum, r) => (r.state === "claimable" ? sum + (r.amount ?? 0n) : sum), 0n);
  return { account, flagged, now, epochs: out, claimableTotal };
}

async function epochReward(
  ctx: ClaimContext,
  account: string,
  epoch: number,
  at: { flagged: boolean; now: number; claimPeriod: number; signal?: AbortSignal },
): Promise<EpochReward> {
  const { pool } = ctx.contracts;
  const [status, [data]] = await Promise.all([pool.statusOf(epoch), pool.epochOf(epoch)]);
  if (Number(status) === EPOCH_STATUS.None) {
    return { epoch, state: "unpublished", message: `epoch ${epoch} is not committed on chain` };
  }
  const claimableAt = Number(data.claimableAt);
  const expiresAt = claimableAt + at.claimPeriod;
  let proof: RewardProof;
  try {
    proof = await ctx.source.proof(epoch, account, { signal: at.signal });
  } catch (err) {
    if (err instanceof AccountNotInEpochError) {
      return { epoch, state: "not-included", claimableAt, message: `no reward for ${account} in epoch ${epoch}` };
    }
    if (err instanceof EpochUnknownError) {
      return {
        epoch,
        state: "unpublished",
        claimableAt,
        message: `epoch ${epoch}'s proofs are not available from this source`,
      };
    }
    throw err;
  }
  // The proof must be for the committed root: a stale publication (a vetoed, recommitted epoch) would revert.
  if (proof.root.toLowerCase() !== data.root.toLowerCase()) {
    return {
      epoch,
      state: "unpublished",
      claimableAt,
      proof,
      message: `epoch ${epoch}'s published root ${proof.root} is not the committed root ${data.root}`,
    };
  }
  const contribution = BigInt(proof.contribution);
  const amount =
    Number(status) === EPOCH_STATUS.Vetoed || Number(status) === EPOCH_STATUS.Expired
      ? BigInt(proof.amount ?? (data.rewardTotal * contribution) / data.totalContribution)
      : await pool.rewardFor(epoch, contribution);
  const base = { epoch, amount, claimableAt, expiresAt, proof };
  const lum = formatLum(amount);
  switch (Number(status)) {
    case EPOCH_STATUS.Vetoed:
      return {
        ...base,
        state: "vetoed",
        message: `epoch ${epoch} was vetoed by the guardian: its ${lum} cannot be claimed`,
      };
    case EPOCH_STATUS.Expired:
      return {
        ...base,
        state: "expired",
        message: `epoch ${epoch} expired at ${formatTime(expiresAt)}: ${lum} can no longer be claimed`,
      };
  }
  if (await pool.isClaimed(epoch, proof.index)) {
    return { ...base, state: "claimed", message: `epoch ${epoch}: ${lum} already claimed` };
  }
  if (Number(status) === EPOCH_STATUS.Pending) {
    const wait = Math.max(0, claimableAt - at.now);
    return {
      ...base,
      state: "pending",
      message:
        `epoch ${epoch}: ${lum} pending, claimable from ${formatTime(claimableAt)} (in ${wait} s)` +
        (at.flagged ? "; the account is currently flagged by Reputation" : ""),
    };
  }
  if (Number(status) === EPOCH_STATUS.Challenged) {
    return {
      ...base,
      state: "challenged",
      message: `epoch ${epoch}: ${lum} frozen by an open challenge until the guardian upholds (veto) or rejects it`,
    };
  }
  if (at.flagged) {
    return {
      ...base,
      state: "flagged",
      message: `epoch ${epoch}: ${lum} blocked: ${account} is flagged by Reputation and cannot claim until it is unflagged`,
    };
  }
  return { ...base, state: "claimable", message: `epoch ${epoch}: ${lum} claimable until ${formatTime(expiresAt)}` };
}

/** The report as the `lumora:rewards` task prints it. */
export function formatRewardsReport(report: RewardsReport): string {
  const lines = [`rewards of ${report.account} (chain time ${formatTime(report.now)})`];
  if (report.flagged) lines.push(`  ! ${report.account} is flagged by Reputation: claims revert until it is unflagged`);
  const shown = report.epochs.filter((r) => r.state !== "not-included");
  if (report.epochs.length === 0) lines.push("  no epoch is committed yet");
  else if (shown.length === 0)
    lines.push(
      `  ${report.account} has no reward in any of the ${report.epochs.length} committed epochs (unknown account)`,
    );
  for (const r of shown) lines.push(`  [${r.state}] ${r.message}`);
  lines.push(`  claimable now: ${formatLum(report.claimableTotal)}`);
  return lines.join("\n");
}
