/**
 * Settle before credit (docs/epochs.md "Paid demand"): what the chain says a channel paid for an epoch. A close
 * credits a channel's bytes only as far as CreditVault *settled* its vouchers — money that left the consumer's deposit
 * for the pool — never as far as they were merely signed:
 *
 *   before_c  = CreditVault.settledOf(c) at the block of the first RewardPool commitment of epoch e − 1 (0 for e = 1)
 *   settled_c = CreditVault.settledOf(c) now, after this keeper settled the epoch's highest vouchers
 *
 * and the close counts `paidUpTo_c = max(before_c, min(highest voucher_c, settled_c))`, `paid_c = paidUpTo_c − before_c`
 * (collect/paid.ts). Epochs are committed in order and each one's reads happen before its commitment, so the ranges
 * (before_c, paidUpTo_c] of consecutive epochs never overlap: a settled token pays for one epoch at most, and a
 * verifier checks both bounds from the chain alone (`settledAtCommits`).
 */
import { getAddress } from "ethers";

import { CreditVault__factory, type CreditVault, type RewardPool } from "../../types/ethers-contracts/index.ts";
import type { Logger } from "../logger.ts";
import { COMMIT_LOG_WINDOW, COMMIT_POLL_MS } from "./constants.ts";
import { highestPerChannel } from "./settle.ts";
import type { SignedVoucher } from "./voucher.ts";

/** What the vault says of one channel for one epoch. */
export interface ChannelSettlement {
  /** Settled when the previous epoch was committed: what earlier epochs may have counted. */
  before: bigint;
  /** Settled now (the close) or, for a verifier, just before the epoch's own commitment: the most it may count. */
  settled: bigint;
}

/** A channel's key in settlement maps: `consumer>account`, both checksummed. */
export const channelKey = (consumer: string, account: string) => `${getAddress(consumer)}>${getAddress(account)}`;

/** A transaction to send (the keeper's chain client signs, journals and awaits it). */
export interface SettleTx {
  label: string;
  to: string;
  data: string;
}

export interface VaultSettlementComponents {
  vault: CreditVault;
  pool: RewardPool;
  logger: Logger;
  /** Sends a transaction with the keeper's chain key; absent (a read-only keeper): it settles nothing itself. */
  send?: (tx: SettleTx, options: { signal?: AbortSignal }) => Promise<unknown>;
}

export interface VaultSettlementInit {
  /** First block to search for commitments (the deployment's block). */
  fromBlock?: number;
  /** Wait between two looks for the previous epoch's commitment, ms (default COMMIT_POLL_MS). */
  pollMs?: number;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener(
      "abort",
      () => {
        clearTimeout(t);
        reject(signal.reason as Error);
      },
      { once: true },
    );
  });

/**
 * The block of the first RewardPool commitment of `epoch` (a re-commitment after a challenge does not move it), or
 * undefined when the epoch is not committed. Searched backwards from the latest block in COMMIT_LOG_WINDOW windows.
 */
export async function commitBlockOf(pool: RewardPool, epoch: number, fromBlock = 0): Promise<number | undefined> {
  const provider = pool.runner?.provider;
  if (provider == null) throw new Error("the RewardPool contract has no provider");
  let to = await provider.getBlockNumber();
  let first: number | undefined;
  while (to >= fromBlock) {
    const from = Math.max(fromBlock, to - COMMIT_LOG_WINDOW + 1);
    const events = await pool.queryFilter(pool.filters.EpochCommitted(epoch), from, to);
    if (events.length > 0) first = Math.min(...events.map((e) => e.blockNumber));
    else if (first !== undefined) break;
    to = from - 1;
  }
  return first;
}

/** Per channel of `channels`, what the vault had settled at `blockTag`. */
async function settledAt(
  vault: CreditVault,
  channels: readonly { consumer: string; account: string }[],
  blockTag: number | "latest",
): Promise<Map<string, bigint>> {
  const out = new Map<string, bigint>();
  await Promise.all(
    channels.map(async (c) =>
      out.set(channelKey(c.consumer, c.account), await vault.settledOf(c.consumer, c.account, { blockTag })),
    ),
  );
  return out;
}

/**
 * The collector's view of the vault at a close: settles each channel's highest voucher where the vault would take
 * more (so an honest consumer's payment is counted in the epoch its bytes are), then reads the two bounds.
 */
export class VaultSettlement {
  private readonly log: Logger;

  constructor(
    private readonly components: VaultSettlementComponents,
    private readonly init: VaultSettlementInit = {},
  ) {
    this.log = components.logger.child("payment:settlement");
  }

  /**
   * Waits for the previous epoch's commitment, settles `vouchers` (the highest per channel, where above what is
   * settled and the consumer has a deposit), and returns per channel `before` and `settled`.
   */
  async settleAndRead(
    epoch: number,
    vouchers: readonly SignedVoucher[],
    options: { signal?: AbortSignal } = {},
  ): Promise<Map<string, ChannelSettlement>> {
    const { vault, pool, send } = this.components;
    const highest = highestPerChannel(vouchers);
    const channels = highest.map((v) => ({ consumer: v.consumer, account: v.provider }));
    // The previous epoch's commitment first: a settlement sent before it would count in that epoch's `before` and
    // the payment in no epoch at all (its own is capped by its highest voucher).
    const before = epoch <= 1 ? new Map<string, bigint>() : await this.settledAtCommit(epoch - 1, channels, options);
    if (send !== undefined) {
      const to = await vault.getAddress();
      for (const v of highest) {
        options.signal?.throwIfAborted();
        const [settled, deposit] = await Promise.all([
          vault.settledOf(v.consumer, v.provider),
          vault.depositOf(v.consumer),
        ]);
        if (v.cumulativeAmount <= settled || deposit.balance === 0n) continue;
        const data = vault.interface.encodeFunctionData("settle", [
          {
            consumer: v.consumer,
            provider: v.provider,
            consumerPeer: v.consumerPeer,
            cumulativeAmount: v.cumulativeAmount,
          },
          v.signature,
        ]);
        try {
          await send({ label: `CreditVault.settle(${v.consumer} → ${v.provider})`, to, data }, options);
        } catch (err) {
          // Another keeper may have settled the same voucher first; what counts is read below.
          options.signal?.throwIfAborted();
          this.log.info("voucher not settled here", { epoch, consumer: v.consumer, provider: v.provider, error: err });
        }
      }
    }
    const now = await settledAt(vault, channels, "latest");
    const out = new Map<string, ChannelSettlement>();
    for (const [k, settled] of now) out.set(k, { before: before.get(k) ?? 0n, settled });
    return out;
  }

  /** What the channels had settled when `epoch` was first committed; waits for that commitment. */
  private async settledAtCommit(
    epoch: number,
    channels: readonly { consumer: string; account: string }[],
    options: { signal?: AbortSignal },
  ): Promise<Map<string, bigint>> {
    for (let logged = false; ;) {
      options.signal?.throwIfAborted();
      const block = await commitBlockOf(this.components.pool, epoch, this.init.fromBlock);
      if (block !== undefined) return settledAt(this.components.vault, channels, block);
      if (!logged) this.log.info("paid credit waits for the previous epoch's commitment", { previous: epoch });
      logged = true;
      await sleep(this.init.pollMs ?? COMMIT_POLL_MS, options.signal);
    }
  }
}

/**
 * A verifier's bounds for the channels of epoch `epoch` (from the chain alone): `before` at the previous epoch's
 * first commitment, `settled` at the block before the epoch's own first commitment (the most the closing keeper can
 * have read). Throws when the epoch is not committed.
 */
export async function settledAtCommits(
  pool: RewardPool,
  vaultAddress: string,
  epoch: number,
  channels: readonly { consumer: string; account: string }[],
  fromBlock = 0,
): Promise<Map<string, ChannelSettlement>> {
  const vault = CreditVault__factory.connect(vaultAddress, pool.runner);
  const own = await commitBlockOf(pool, epoch, fromBlock);
  if (own === undefined) throw new Error(`epoch ${epoch} has no RewardPool commitment`);
  const previous = epoch <= 1 ? undefined : await commitBlockOf(pool, epoch - 1, fromBlock);
  if (epoch > 1 && previous === undefined) throw new Error(`epoch ${epoch - 1} has no RewardPool commitment`);
  const [before, settled] = await Promise.all([
    previous === undefined ? new Map<string, bigint>() : settledAt(vault, channels, previous),
    settledAt(vault, channels, own - 1),
  ]);
  const out = new Map<string, ChannelSettlement>();
  for (const [k, s] of settled) out.set(k, { before: before.get(k) ?? 0n, settled: s });
  return out;
}
