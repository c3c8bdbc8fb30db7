/**
 * Paying as data arrives, both ends of a channel (docs/transfer.md, "Paying as data arrives"):
 *
 * - `VoucherPayer` (consumer): pays a provider only on the account its signed peer record names (a Welcome naming
 *   another is refused), and after each verified part raises the channel's cumulative amount by the part's cost at
 *   the configured price and signs a new voucher; one channel's vouchers are signed one at a time, recorded before
 *   they are handed out, so they only grow, also across restarts.
 * - `SessionLedger` (provider): one per transfer session. It checks each voucher the consumer sends (signature for this
 *   vault, this provider's channel, the session's peer, above the highest held), keeps the highest per channel, counts
 *   what the vouchers paid against the bytes sent — per consumer peer and per paying key, across sessions
 *   (limits.ts) — and answers `check()` with PaymentRequiredError once the consumer owes more than the unpaid
 *   allowance, or once the chain says its deposit does not cover its voucher. The deposit is read at most once at a
 *   time per session, only when a voucher goes above what the last read covered, through a cache that bounds the
 *   reads per channel and per second. A session may send at most one voucher frame per part sent plus
 *   VOUCHER_FRAME_SLACK: each costs a signature recovery.
 */
import { getAddress } from "ethers";

import type { Logger } from "../logger.ts";
import { CREDIT_RETRY_MS, FUNDING_WAIT_MS, VOUCHER_FRAME_SLACK } from "./constants.ts";
import {
  InvalidVoucherError,
  PaymentAccountMismatchError,
  PaymentRequiredError,
  StaleVoucherError,
  TooManyVouchersError,
} from "./errors.ts";
import type { ConsumerDebt, ConsumerDebts, CreditCache, UnfundedBudget } from "./limits.ts";
import type { PaymentStore } from "./store.ts";
import {
  bytesPaidBy,
  costOf,
  fromWire,
  signVoucher,
  verifyVoucher,
  type SignedVoucher,
  type TypedDataSigner,
  type VaultDomain,
  type WireVoucher,
} from "./voucher.ts";

export interface PayerInit {
  domain: VaultDomain;
  /** Price paid per GiB carried, token base units. */
  weiPerGiB: bigint;
}

export interface PayerComponents {
  store: PaymentStore;
  /** The consumer's key: signs vouchers (its address is the voucher's consumer). */
  signer: TypedDataSigner;
  /** This node's peer id: its vouchers pay for what this peer receives (`consumerPeer`). */
  peerId: string;
  /**
   * The reward account a provider peer's valid signed peer record names (undefined without one): the only channel
   * this consumer pays it on, whatever its Welcome says.
   */
  accountOf(providerPeer: string): string | undefined;
}

export class VoucherPayer {
  private readonly chains = new Map<string, Promise<unknown>>();
  private address: string | undefined;

  constructor(
    private readonly components: PayerComponents,
    readonly init: PayerInit,
  ) {
    if (init.weiPerGiB <= 0n) throw new RangeError(`weiPerGiB must be > 0, got ${init.weiPerGiB}`);
  }

  /** The consumer's address (the signer's). */
  async consumer(): Promise<string> {
    this.address ??= getAddress(await this.components.signer.getAddress());
    return this.address;
  }

  /**
   * Checks the account a provider's Welcome asks to be paid on against its signed peer record; throws
   * PaymentAccountMismatchError when they differ (or it has no valid record): nothing is then paid or fetched from it.
   */
  checkAccount(providerPeer: string, welcomed: string): void {
    const recorded = this.components.accountOf(providerPeer);
    if (recorded === undefined || getAddress(recorded) !== getAddress(welcomed))
      throw new PaymentAccountMismatchError(providerPeer, getAddress(welcomed), recorded);
  }

  /**
   * Adds the cost of what was carried on the channel to `account` and signs the new cumulative voucher: `parts` is
   * the bytes of each part paid for, each costed on its own and rounded up (docs/PROTOCOL.md §7), so paying for
   * several parts at once adds exactly what one voucher per part would have.
   */
  pay(account: string, parts: number | readonly number[]): Promise<SignedVoucher> {
    return this.payAmount(account, this.costOf(parts));
  }

  /** What `parts` cost at this payer's price, each part costed on its own and rounded up (see `pay`). */
  costOf(parts: number | readonly number[]): bigint {
    return (typeof parts === "number" ? [parts] : parts).reduce(
      (n, bytes) => n + costOf(BigInt(bytes), this.init.weiPerGiB),
      0n,
    );
  }

  /** Adds `cost` (> 0) to the channel to `account` and signs the new cumulative voucher. */
  payAmount(account: string, cost: bigint): Promise<SignedVoucher> {
    if (cost <= 0n) throw new RangeError(`a voucher adds a positive amount, got ${cost}`);
    const channel = getAddress(account);
    const run = (this.chains.get(channel) ?? Promise.resolve()).then(async () => {
      const consumer = await this.consumer();
      const amount = this.components.store.signedAmount(consumer, channel) + cost;
      const { signer, peerId, store } = this.components;
      const v = await signVoucher(signer, this.init.domain, channel, amount, peerId);
      store.recordSigned(v, peerId);
      return v;
    });
    this.chains.set(
      channel,
      run.catch(() => undefined),
    );
    return run;
  }

  /** The highest voucher signed on the channel to `account`, once every pending `pay` of it is done. */
  async latest(account: string): Promise<SignedVoucher | undefined> {
    const channel = getAddress(account);
    await this.chains.get(channel);
    return this.components.store.signed(await this.consumer(), channel);
  }
}

export interface LedgerTerms {
  /** This provider's reward account: the channel its vouchers must pay. */
  account: string;
  domain: VaultDomain;
  /** Price asked per GiB sent, token base units. */
  weiPerGiB: bigint;
  /** Bytes sent to one consumer (peer or paying key, over all its sessions) beyond what its vouchers paid. */
  unpaidAllowanceBytes: number;
  /**
   * Bytes sent to unfunded consumers (no voucher of theirs shown funded yet) over all of them, per window
   * (limits.ts UnfundedBudget; default DEFAULT_UNFUNDED_BUDGET_BYTES per DEFAULT_UNFUNDED_BUDGET_WINDOW_MS).
   */
  unfundedBudget?: { bytes: number; windowMs: number };
  /**
   * What this provider counts on the channel being able to pay: what it already settled plus this provider's share
   * of the consumer's unspent deposit (limits.ts `vaultCredit`); a voucher above it ends the session. Absent: the
   * deposit is not checked.
   */
  creditOf?(consumer: string, account: string, options: { signal?: AbortSignal }): Promise<bigint>;
}

export interface LedgerStats {
  vouchersAccepted: number;
  vouchersRejected: number;
  /** Sessions closed for sending more voucher frames than parts served plus VOUCHER_FRAME_SLACK. */
  voucherFramesRefused: number;
  /** Deposit reads not sent because the read rate was spent (CREDIT_READS_PER_SECOND). */
  creditReadsLimited: number;
  /** Sessions of unfunded consumers ended because the provider's unfunded budget was spent. */
  unfundedBudgetRefused?: number;
  /** Bytes sent to unfunded consumers (charged to the unfunded budget). */
  unfundedBytes?: number;
}

export interface LedgerComponents {
  store: PaymentStore;
  logger: Logger;
  stats: LedgerStats;
  /** What each consumer owes across sessions (limits.ts), shared by the provider's sessions. */
  debts: ConsumerDebts;
  /** The vault's credit per channel, cached and rate-limited (limits.ts); absent: the deposit is not checked. */
  credit?: CreditCache;
  /** Bytes sent to unfunded consumers over all of them (limits.ts), shared by the provider's sessions. */
  unfunded?: UnfundedBudget;
}

export class SessionLedger {
  /** Voucher frames received (valid or not) and parts sent: the frames are bounded by the parts. */
  private frames = 0;
  private parts = 0;
  private consumer: string | undefined;
  private readonly peerDebt: ConsumerDebt;
  private keyDebt: ConsumerDebt | undefined;
  /** The largest cumulative amount a deposit read showed covered. */
  private covered = 0n;
  private checking = false;
  private uncovered: string | undefined;
  /** Accepted voucher increases not yet shown covered by a deposit read (with `credit`), and the amount they reach:
   * they pay for nothing until a read covers them, so a voucher nobody funded buys no bytes, in this session or
   * in a later one. */
  private pending = 0n;
  private pendingUpTo = 0n;
  /** The deposit read in flight, if any. */
  private reading: Promise<void> | undefined;
  /** Until when a rate-limited read of a first voucher is asked again (its FUNDING_WAIT_MS). */
  private fundingUntil = 0;

  constructor(
    private readonly terms: LedgerTerms,
    private readonly components: LedgerComponents,
    private readonly consumerPeer: string,
    private readonly signal?: AbortSignal,
  ) {
    this.peerDebt = components.debts.of(`peer:${consumerPeer}`);
  }

  /** Whether a voucher of this consumer (its peer or its paying key) has counted as paid: a read showed it funded. */
  private get funded(): boolean {
    return this.peerDebt.paid > 0n || (this.keyDebt !== undefined && this.keyDebt.paid > 0n);
  }

  /** Counts `bytes` sent to the consumer (one part). */
  sentBytes(bytes: number): void {
    if (!this.funded && this.components.unfunded !== undefined) {
      this.components.unfunded.take(bytes);
      this.components.stats.unfundedBytes = (this.components.stats.unfundedBytes ?? 0) + bytes;
    }
    this.parts++;
    this.peerDebt.sent += BigInt(bytes);
    if (this.keyDebt !== undefined) this.keyDebt.sent += BigInt(bytes);
  }

  /**
   * Takes a voucher from the consumer. Throws TooManyVouchersError (more frames than parts sent plus the slack, before
   * any signature is checked), InvalidVoucherError (forged, another vault, channel or peer, or another consumer than
   * the session's first voucher named) or StaleVoucherError (not above the highest held).
   */
  accept(wire: WireVoucher): SignedVoucher {
    const { store, stats } = this.components;
    if (++this.frames > this.parts + VOUCHER_FRAME_SLACK) {
      stats.voucherFramesRefused++;
      throw new TooManyVouchersError(this.frames, this.parts);
    }
    let v: SignedVoucher;
    try {
      // Signed for this session's peer, or it does not verify: a voucher is bound to the peer that received the data.
      v = verifyVoucher(this.terms.domain, fromWire(wire, this.consumerPeer), this.terms.account);
      if (this.consumer !== undefined && v.consumer !== this.consumer)
        throw new InvalidVoucherError(`session paid by ${this.consumer}, voucher signed by ${v.consumer}`);
    } catch (err) {
      stats.vouchersRejected++;
      throw err;
    }
    if (this.consumer === undefined) {
      this.fundingUntil = Date.now() + FUNDING_WAIT_MS;
      this.consumer = v.consumer;
      this.keyDebt = this.components.debts.of(`key:${v.consumer}`);
    }
    const before = store.received(v.consumer, v.provider)?.cumulativeAmount ?? 0n;
    if (v.cumulativeAmount <= before || !store.offer(v, this.consumerPeer)) {
      stats.vouchersRejected++;
      throw new StaleVoucherError(v.cumulativeAmount, before);
    }
    stats.vouchersAccepted++;
    this.pending += v.cumulativeAmount - before;
    this.pendingUpTo = v.cumulativeAmount;
    if (this.components.credit === undefined || v.cumulativeAmount <= this.covered) this.countPending();
    else this.readCredit(v);
    return v;
  }

  /** The pending increases count as paid: a read covered them (or the deposit is not checked). */
  private countPending(): void {
    this.peerDebt.paid += this.pending;
    this.keyDebt!.paid += this.pending;
    this.pending = 0n;
  }

  /** One deposit read at a time; a read that shows the voucher uncovered cuts the session at the next check. */
  private readCredit(v: SignedVoucher): void {
    const credit = this.components.credit;
    if (credit === undefined || this.checking) return;
    this.checking = true;
    this.reading = credit.get(v.consumer, v.provider, { signal: this.signal }).then(
      (c) => {
        this.checking = false;
        // Undefined: the read rate is spent; the next voucher asks again, and until a read covers them its vouchers
        // pay for nothing: the allowance bounds what is taken.
        if (c === undefined) {
          this.components.stats.creditReadsLimited++;
          // A consumer not yet funded, at a provider whose unfunded budget is spent, is refused without this read:
          // ask again once a read is likely free, while its first voucher's wait lasts (awaitFunding).
          if (!this.funded && this.components.unfunded?.spent === true && Date.now() < this.fundingUntil) {
            this.checking = true;
            const retry: Promise<void> = new Promise<void>((resolve) => setTimeout(resolve, CREDIT_RETRY_MS)).then(
              () => {
                this.checking = false;
                this.readCredit({ ...v, cumulativeAmount: this.pendingUpTo });
                return this.reading === retry ? undefined : this.reading;
              },
            );
            this.reading = retry;
          }
          return;
        }
        if (c >= v.cumulativeAmount) {
          this.covered = c;
          if (this.pendingUpTo <= c) this.countPending();
          else this.readCredit({ ...v, cumulativeAmount: this.pendingUpTo }); // a higher voucher came meanwhile
        } else this.uncovered = `the deposit of ${v.consumer} covers ${c}, its voucher asks ${v.cumulativeAmount}`;
      },
      (err: unknown) => {
        // The chain unreachable is not the consumer's fault, but its vouchers stay uncounted until a read covers
        // them: the allowance bounds what it can take meanwhile.
        this.checking = false;
        this.components.logger.debug("deposit read failed", { consumer: v.consumer, error: err });
      },
    );
  }

  /**
   * When the provider's budget for unfunded consumers is spent and this consumer's first voucher is being checked
   * against its deposit, waits for that read (at most `ms`): a consumer that pays before its first part (a voucher
   * right after the Welcome) is served whatever strangers spent, and one that does not is refused as before.
   */
  async awaitFunding(ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
    let late = false;
    void deadline.then(() => (late = true));
    try {
      // A read that finds a higher voucher arrived meanwhile starts another: wait for the last one.
      while (this.checking && !late && !this.funded && this.components.unfunded?.spent === true) {
        await Promise.race([this.reading, deadline]);
      }
    } finally {
      clearTimeout(timer);
    }
  }

  private unpaidOf(d: ConsumerDebt): bigint {
    const paidFor = bytesPaidBy(d.paid, this.terms.weiPerGiB);
    return d.sent > paidFor ? d.sent - paidFor : 0n;
  }

  /** Bytes sent that the consumer's vouchers do not pay for: the larger of its peer's and its paying key's. */
  get unpaidBytes(): bigint {
    const peer = this.unpaidOf(this.peerDebt);
    const key = this.keyDebt === undefined ? 0n : this.unpaidOf(this.keyDebt);
    return peer > key ? peer : key;
  }

  /**
   * Throws PaymentRequiredError when the consumer owes more than the allowance, its deposit does not cover it, or it
   * has no funded voucher and the provider's budget for such consumers is spent.
   */
  check(): void {
    if (this.uncovered !== undefined) throw new PaymentRequiredError(this.uncovered);
    const { unfunded, stats } = this.components;
    if (unfunded !== undefined && !this.funded && unfunded.spent) {
      stats.unfundedBudgetRefused = (stats.unfundedBudgetRefused ?? 0) + 1;
      throw new PaymentRequiredError("the provider's budget for consumers without a funded voucher is spent");
    }
    const unpaid = this.unpaidBytes;
    if (unpaid > BigInt(this.terms.unpaidAllowanceBytes))
      throw new PaymentRequiredError(
        `${unpaid} bytes sent unpaid, above the allowance of ${this.terms.unpaidAllowanceBytes} ` +
          `(${costOf(unpaid, this.terms.weiPerGiB)} owed)`,
      );
  }
}
