/**
 * Paying as data arrives, both ends of a channel (docs/transfer.md, "Paying as data arrives"):
 *
 * - `VoucherPayer` (consumer): after each verified part, raises the channel's cumulative amount by the part's cost at
 *   the configured price and signs a new voucher; one channel's vouchers are signed one at a time, recorded before
 *   they are handed out, so they only grow, also across restarts.
 * - `SessionLedger` (provider): one per transfer session. It checks each voucher the consumer sends (signature for this
 *   vault, this provider's channel, above the highest held), keeps the highest per channel, counts what the session's
 *   vouchers paid against the bytes it sent, and answers `check()` with PaymentRequiredError once the consumer owes
 *   more than the unpaid allowance — or once the chain says its deposit does not cover its voucher. The deposit is read
 *   at most once at a time per session, and only when a voucher goes above what the last read covered.
 */
import { getAddress } from "ethers";

import type { Logger } from "../logger.ts";
import { InvalidVoucherError, PaymentRequiredError, StaleVoucherError } from "./errors.ts";
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

  /** Adds the cost of `bytes` carried to the channel to `account` and signs the new cumulative voucher. */
  pay(account: string, bytes: number): Promise<SignedVoucher> {
    const channel = getAddress(account);
    const run = (this.chains.get(channel) ?? Promise.resolve()).then(async () => {
      const consumer = await this.consumer();
      const amount = this.components.store.signedAmount(consumer, channel) + costOf(BigInt(bytes), this.init.weiPerGiB);
      const v = await signVoucher(this.components.signer, this.init.domain, channel, amount);
      this.components.store.recordSigned(v);
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
  /** Bytes sent beyond what the session's vouchers paid before the session is cut off. */
  unpaidAllowanceBytes: number;
  /**
   * What the vault can still pay on the channel: the consumer's deposit plus what the channel already settled
   * (a voucher above it cannot be paid in full). Absent: the deposit is not checked.
   */
  creditOf?(consumer: string, account: string, options: { signal?: AbortSignal }): Promise<bigint>;
}

export interface LedgerStats {
  vouchersAccepted: number;
  vouchersRejected: number;
}

export class SessionLedger {
  /** Bytes sent in the session (what the consumer owes for). */
  private sent = 0n;
  /** Token units the session's vouchers added to their channel. */
  private paid = 0n;
  private consumer: string | undefined;
  /** The largest cumulative amount a deposit read showed covered. */
  private covered = 0n;
  private checking = false;
  private uncovered: string | undefined;

  constructor(
    private readonly terms: LedgerTerms,
    private readonly components: { store: PaymentStore; logger: Logger; stats: LedgerStats },
    private readonly consumerPeer: string,
    private readonly signal?: AbortSignal,
  ) {}

  /** Counts `bytes` sent to the consumer. */
  sentBytes(bytes: number): void {
    this.sent += BigInt(bytes);
  }

  /**
   * Takes a voucher from the consumer. Throws InvalidVoucherError (forged, another vault or channel, or another
   * consumer than the session's first voucher named) or StaleVoucherError (not above the highest held).
   */
  accept(wire: WireVoucher): SignedVoucher {
    const { store, stats } = this.components;
    let v: SignedVoucher;
    try {
      v = verifyVoucher(this.terms.domain, fromWire(wire), this.terms.account);
      if (this.consumer !== undefined && v.consumer !== this.consumer)
        throw new InvalidVoucherError(`session paid by ${this.consumer}, voucher signed by ${v.consumer}`);
    } catch (err) {
      stats.vouchersRejected++;
      throw err;
    }
    this.consumer = v.consumer;
    const before = store.received(v.consumer, v.provider)?.cumulativeAmount ?? 0n;
    if (v.cumulativeAmount <= before || !store.offer(v, this.consumerPeer)) {
      stats.vouchersRejected++;
      throw new StaleVoucherError(v.cumulativeAmount, before);
    }
    stats.vouchersAccepted++;
    this.paid += v.cumulativeAmount - before;
    if (v.cumulativeAmount > this.covered) this.readCredit(v);
    return v;
  }

  /** One deposit read at a time; a read that shows the voucher uncovered cuts the session at the next check. */
  private readCredit(v: SignedVoucher): void {
    const creditOf = this.terms.creditOf;
    if (creditOf === undefined || this.checking) return;
    this.checking = true;
    creditOf(v.consumer, v.provider, { signal: this.signal }).then(
      (credit) => {
        this.checking = false;
        if (credit >= v.cumulativeAmount) this.covered = credit;
        else this.uncovered = `the deposit of ${v.consumer} covers ${credit}, its voucher asks ${v.cumulativeAmount}`;
      },
      (err: unknown) => {
        // The chain unreachable is not the consumer's fault: the allowance still bounds what it can take.
        this.checking = false;
        this.components.logger.debug("deposit read failed", { consumer: v.consumer, error: err });
      },
    );
  }

  /** Bytes sent that the session's vouchers do not pay for. */
  get unpaidBytes(): bigint {
    const paidFor = bytesPaidBy(this.paid, this.terms.weiPerGiB);
    return this.sent > paidFor ? this.sent - paidFor : 0n;
  }

  /** Throws PaymentRequiredError when the consumer owes more than the allowance or its deposit does not cover it. */
  check(): void {
    if (this.uncovered !== undefined) throw new PaymentRequiredError(this.uncovered);
    const unpaid = this.unpaidBytes;
    if (unpaid > BigInt(this.terms.unpaidAllowanceBytes))
      throw new PaymentRequiredError(
        `${unpaid} bytes sent unpaid, above the allowance of ${this.terms.unpaidAllowanceBytes} ` +
          `(${costOf(unpaid, this.terms.weiPerGiB)} owed)`,
      );
  }
}
