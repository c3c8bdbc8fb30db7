/**
 * Settle before credit (docs/epochs.md "Paid demand"): what the chain says a channel paid for an epoch. A close
 * credits a channel's bytes only as far as CreditVault *settled* its vouchers — money that left the consumer's deposit
 * for the pool — never as far as they were merely signed:
 *
 *   before_c  = CreditVault.settledOf(c) at the block of the first RewardPool commitment of epoch e − 1 (0 for e = 1)
 *   settled_c = CreditVault.settledOf(c) at the settlement block of epoch e: the last block whose timestamp is at
 *               most the cutoff  max(⌊end / grid⌋ · grid + window, t(commitment of e − 1) + window / 4)
 *               (`settleCutoff`)
 *
 * and the close counts `paidUpTo_c = max(before_c, min(highest voucher_c, settled_c))`, `paid_c = paidUpTo_c − before_c`
 * (collect/paid.ts). The settlement block is fixed by the epoch's end (floored to the grid, one minute, so every
 * keeper closing on the same cron tick takes the same one) and by the chain: a keeper settles the epoch's vouchers,
 * waits until the chain is past the cutoff, and reads there — so keepers that close at different times, with a
 * consumer settling in between, read the same amounts, and a verifier reads them again from the chain alone
 * (`settledAtCommits`). Epochs are committed in order and each one's settlement block comes before its commitment,
 * so the ranges (before_c, paidUpTo_c] of consecutive epochs never overlap: a settled token pays for one epoch at most.
 */
import { getAddress } from "ethers";

import { CreditVault__factory, type CreditVault, type RewardPool } from "../../types/ethers-contracts/index.ts";
import type { Logger } from "../logger.ts";
import {
  COMMIT_LOG_WINDOW,
  COMMIT_POLL_MS,
  DEFAULT_MAX_SETTLES_PER_CLOSE,
  DEFAULT_MIN_SETTLE_AMOUNT,
  SETTLE_IDLE_MARGIN_MS,
} from "./constants.ts";
import { highestPerChannel } from "./settle.ts";
import type { SignedVoucher } from "./voucher.ts";

/** What the vault says of one channel for one epoch. */
export interface ChannelSettlement {
  /** Settled when the previous epoch was committed: what earlier epochs may have counted. */
  before: bigint;
  /**
   * Settled at the epoch's settlement block (under settle terms; without them, at the close, or for a verifier just
   * before the epoch's own commitment): the most it may count.
   */
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
  /** Wait between two looks for the previous epoch's commitment or the cutoff, ms (default COMMIT_POLL_MS). */
  pollMs?: number;
  /** See SETTLE_IDLE_MARGIN_MS. */
  idleMarginMs?: number;
  /** The least the vault must take on a channel for this keeper to settle it (default DEFAULT_MIN_SETTLE_AMOUNT). */
  minSettleAmount?: bigint;
  /** The most settlements one close sends (default DEFAULT_MAX_SETTLES_PER_CLOSE). */
  maxSettlesPerClose?: number;
}

/** The settlement read's terms (constants.ts SETTLE_GRID_MS, SETTLE_WINDOW_MS), published with each epoch's rule. */
export interface SettleTerms {
  gridMs: number;
  windowMs: number;
}

/** When epoch e's settlement read happens: the epoch's end and its terms. */
export interface SettleRead {
  /** The end of the epoch's window (its freeze), ms. */
  endMs: number;
  terms: SettleTerms;
}

/**
 * The cutoff of an epoch's settlement read, in chain seconds: the epoch's end floored to the grid plus the window, or,
 * when the previous epoch's commitment came late (closes settle only after it), that commitment plus a quarter of
 * the window — enough for the settlements sent after it to land, and short enough that a late commitment does not
 * push every later one back by a whole window (epochs shorter than the window would otherwise fall ever further
 * behind: each commitment at least a window after the one before).
 */
export function settleCutoff(endMs: number, previousCommitSeconds: number, terms: SettleTerms): number {
  const end = Math.floor(endMs / terms.gridMs) * terms.gridMs;
  return Math.floor(Math.max(end + terms.windowMs, previousCommitSeconds * 1000 + terms.windowMs / 4) / 1000);
}

type ChainProvider = NonNullable<NonNullable<RewardPool["runner"]>["provider"]>;

async function timestampOf(provider: ChainProvider, block: number): Promise<number> {
  const b = await provider.getBlock(block);
  if (b === null) throw new Error(`block ${block} not found`);
  return b.timestamp;
}

/** The last block in [from, to) whose timestamp is at most `cutoff` (`from` when none); `to` must be past it. */
async function lastBlockAtOrBefore(provider: ChainProvider, cutoff: number, from: number, to: number): Promise<number> {
  let lo = from;
  let hi = to;
  while (hi - lo > 1) {
    const mid = lo + Math.floor((hi - lo) / 2);
    if ((await timestampOf(provider, mid)) <= cutoff) lo = mid;
    else hi = mid;
  }
  return lo;
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
  /** First commitment block per epoch, once found. */
  private readonly firstCommit = new Map<number, number>();
  /** Per epoch not yet found committed, the last block searched. */
  private readonly searchedTo = new Map<number, number>();

  constructor(
    private readonly components: VaultSettlementComponents,
    private readonly init: VaultSettlementInit = {},
  ) {
    this.log = components.logger.child("payment:settlement");
  }

  /**
   * Waits for the previous epoch's commitment, settles `vouchers` (the highest per channel, where the vault would
   * take at least `minSettleAmount`, at most `maxSettlesPerClose` of them: `settleWorthwhile`), and returns per
   * channel `before` and `settled`.
   */
  async settleAndRead(
    epoch: number,
    vouchers: readonly SignedVoucher[],
    options: { signal?: AbortSignal; read?: SettleRead } = {},
  ): Promise<Map<string, ChannelSettlement>> {
    const { vault, pool, send } = this.components;
    const highest = highestPerChannel(vouchers);
    const channels = highest.map((v) => ({ consumer: v.consumer, account: v.provider }));
    // The previous epoch's commitment first: a settlement sent before it would count in that epoch's `before` and
    // the payment in no epoch at all (its own is capped by its highest voucher).
    const previous = epoch <= 1 ? undefined : await this.commitment(epoch - 1, options);
    const before =
      previous === undefined ? new Map<string, bigint>() : await settledAt(vault, channels, previous.block);
    if (send !== undefined) await this.settleWorthwhile(epoch, highest, send, options);
    let at: number | "latest" = "latest";
    if (options.read !== undefined) {
      const cutoff = settleCutoff(options.read.endMs, previous?.timestamp ?? 0, options.read.terms);
      at = await this.blockAtCutoff(cutoff, previous?.block ?? this.init.fromBlock ?? 0, options);
      this.log.info("payments read at the epoch's settlement block", { epoch, cutoff, block: at });
    }
    const now = await settledAt(vault, channels, at);
    const out = new Map<string, ChannelSettlement>();
    for (const [k, settled] of now) out.set(k, { before: before.get(k) ?? 0n, settled });
    return out;
  }

  /**
   * Settles the channels worth a transaction (docs/epochs.md "Paid demand", settlement gas): per channel what the
   * vault would take now — min(highest voucher − settled, the consumer's deposit) — and only where that is at least
   * `minSettleAmount`, the largest first (ties by channel key), at most `maxSettlesPerClose`. A self-dealer's many
   * tiny channels cost this keeper reads, not gas; a channel left out earns nothing this epoch unless it is settled
   * by someone else (its provider, `lumora:settle`) before the settlement block.
   */
  private async settleWorthwhile(
    epoch: number,
    highest: readonly SignedVoucher[],
    send: NonNullable<VaultSettlementComponents["send"]>,
    options: { signal?: AbortSignal },
  ): Promise<void> {
    const { vault } = this.components;
    const min = this.init.minSettleAmount ?? DEFAULT_MIN_SETTLE_AMOUNT;
    const max = this.init.maxSettlesPerClose ?? DEFAULT_MAX_SETTLES_PER_CLOSE;
    const worth: { v: SignedVoucher; owed: bigint; take: bigint; key: string }[] = [];
    /** Per consumer, its deposit's balance: what its channels' settlements share. */
    const balance = new Map<string, bigint>();
    let small = 0;
    for (const v of highest) {
      options.signal?.throwIfAborted();
      const [settled, deposit] = await Promise.all([
        vault.settledOf(v.consumer, v.provider),
        vault.depositOf(v.consumer),
      ]);
      balance.set(getAddress(v.consumer), deposit.balance);
      if (v.cumulativeAmount <= settled || deposit.balance === 0n) continue;
      const owed = v.cumulativeAmount - settled;
      const take = owed < deposit.balance ? owed : deposit.balance;
      if (take < min) small++;
      else worth.push({ v, owed, take, key: channelKey(v.consumer, v.provider) });
    }
    worth.sort((a, b) => (a.take > b.take ? -1 : a.take < b.take ? 1 : a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    // In that order, each settlement takes from what its consumer's earlier ones left: one whose share of the
    // balance falls below the minimum is not sent either (one deposit does not pay for many transactions).
    const chosen: typeof worth = [];
    let beyond = 0;
    for (const w of worth) {
      const consumer = getAddress(w.v.consumer);
      const left = balance.get(consumer) ?? 0n;
      const take = w.owed < left ? w.owed : left;
      if (take < min || take === 0n) small++;
      else if (chosen.length >= max) beyond++;
      else {
        balance.set(consumer, left - take);
        chosen.push(w);
      }
    }
    if (small > 0 || beyond > 0)
      this.log.info("channels left unsettled by this close", {
        epoch,
        belowMinimum: small,
        minSettleAmount: min.toString(),
        beyondMaximum: beyond,
        maxSettlesPerClose: max,
      });
    const to = await vault.getAddress();
    for (const { v } of chosen) {
      options.signal?.throwIfAborted();
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

  /**
   * The settlement block for `cutoff` (chain seconds): once the chain has a block past it, the last block at or
   * before it; on a chain that produced none by `idleMarginMs` after the cutoff by this keeper's clock, its head.
   */
  private async blockAtCutoff(cutoff: number, from: number, options: { signal?: AbortSignal }): Promise<number> {
    const provider = this.components.pool.runner?.provider;
    if (provider == null) throw new Error("the RewardPool contract has no provider");
    for (let logged = false; ;) {
      options.signal?.throwIfAborted();
      const head = await provider.getBlock("latest");
      if (head === null) throw new Error("the chain has no latest block");
      if (head.timestamp > cutoff) return lastBlockAtOrBefore(provider, cutoff, from, head.number);
      if (Date.now() > cutoff * 1000 + (this.init.idleMarginMs ?? SETTLE_IDLE_MARGIN_MS)) return head.number;
      if (!logged) this.log.info("paid credit waits for the settlement cutoff", { cutoff, head: head.timestamp });
      logged = true;
      await sleep(this.init.pollMs ?? COMMIT_POLL_MS, options.signal);
    }
  }

  /** The block and time of `epoch`'s first commitment; waits for it. */
  private async commitment(
    epoch: number,
    options: { signal?: AbortSignal },
  ): Promise<{ block: number; timestamp: number }> {
    const provider = this.components.pool.runner?.provider;
    if (provider == null) throw new Error("the RewardPool contract has no provider");
    for (let logged = false; ;) {
      options.signal?.throwIfAborted();
      const block = await this.firstCommitOf(epoch);
      if (block !== undefined) return { block, timestamp: await timestampOf(provider, block) };
      if (!logged) this.log.info("paid credit waits for the previous epoch's commitment", { previous: epoch });
      logged = true;
      await sleep(this.init.pollMs ?? COMMIT_POLL_MS, options.signal);
    }
  }

  /**
   * `commitBlockOf`, remembered: a first commitment found is kept (it never moves), and while an epoch is not
   * committed each look searches only the blocks after the last one searched — one log query per look instead of a
   * scan back to the deployment every COMMIT_POLL_MS.
   */
  private async firstCommitOf(epoch: number): Promise<number | undefined> {
    const known = this.firstCommit.get(epoch);
    if (known !== undefined) return known;
    const { pool } = this.components;
    const provider = pool.runner?.provider;
    if (provider == null) throw new Error("the RewardPool contract has no provider");
    const head = await provider.getBlockNumber();
    const after = this.searchedTo.get(epoch);
    let found: number | undefined;
    if (after === undefined) found = await commitBlockOf(pool, epoch, this.init.fromBlock);
    else {
      for (let from = after + 1; from <= head && found === undefined; from += COMMIT_LOG_WINDOW) {
        const to = Math.min(head, from + COMMIT_LOG_WINDOW - 1);
        const events = await pool.queryFilter(pool.filters.EpochCommitted(epoch), from, to);
        if (events.length > 0) found = Math.min(...events.map((e) => e.blockNumber));
      }
    }
    // Only a few epochs are ever waited for at once: older entries go.
    for (const e of [...this.searchedTo.keys()]) if (e < epoch - REMEMBERED_EPOCHS) this.searchedTo.delete(e);
    for (const e of [...this.firstCommit.keys()]) if (e < epoch - REMEMBERED_EPOCHS) this.firstCommit.delete(e);
    if (found === undefined) {
      this.searchedTo.set(epoch, head);
      return undefined;
    }
    this.searchedTo.delete(epoch);
    this.firstCommit.set(epoch, found);
    return found;
  }
}

/** Epochs whose first commitment (or search cursor) a VaultSettlement remembers behind the latest asked for. */
const REMEMBERED_EPOCHS = 4;

/**
 * A verifier's reads for the channels of epoch `epoch` (from the chain alone): `before` at the previous epoch's first
 * commitment; `settled` at the epoch's settlement block when `read` gives its end and terms (what every closing
 * keeper read), else at the block before the epoch's own first commitment (the most a close can have read). Throws
 * when the epoch is not committed.
 */
export async function settledAtCommits(
  pool: RewardPool,
  vaultAddress: string,
  epoch: number,
  channels: readonly { consumer: string; account: string }[],
  fromBlock = 0,
  read?: SettleRead,
): Promise<Map<string, ChannelSettlement>> {
  const provider = pool.runner?.provider;
  if (provider == null) throw new Error("the RewardPool contract has no provider");
  const vault = CreditVault__factory.connect(vaultAddress, pool.runner);
  const own = await commitBlockOf(pool, epoch, fromBlock);
  if (own === undefined) throw new Error(`epoch ${epoch} has no RewardPool commitment`);
  const previous = epoch <= 1 ? undefined : await commitBlockOf(pool, epoch - 1, fromBlock);
  if (epoch > 1 && previous === undefined) throw new Error(`epoch ${epoch - 1} has no RewardPool commitment`);
  let at = own - 1;
  if (read !== undefined) {
    const cutoff = settleCutoff(
      read.endMs,
      previous === undefined ? 0 : await timestampOf(provider, previous),
      read.terms,
    );
    at =
      (await timestampOf(provider, own)) > cutoff
        ? await lastBlockAtOrBefore(provider, cutoff, previous ?? fromBlock, own)
        : own - 1;
  }
  const [before, settled] = await Promise.all([
    previous === undefined ? new Map<string, bigint>() : settledAt(vault, channels, previous),
    settledAt(vault, channels, at),
  ]);
  const out = new Map<string, ChannelSettlement>();
  for (const [k, s] of settled) out.set(k, { before: before.get(k) ?? 0n, settled: s });
  return out;
}
