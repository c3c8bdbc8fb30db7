/**
 * The payment module's tables (namespace "payment"): the highest voucher per channel (consumer, provider account),
 * from two sides —
 *
 * - `payment_received`: vouchers this keeper's provider accepted (what it, or anyone it gives them to, settles);
 * - `payment_signed`: vouchers this keeper signed as a consumer (the next voucher of a channel continues from it, so a
 *   restart never signs a lower amount, and receipts carry the latest one).
 *
 * A channel's row only ever grows: `offer` keeps a voucher only when its amount is above the one held, in one
 * statement, so concurrent sessions of one channel cannot lower it.
 */
import { getAddress } from "ethers";

import type { Store } from "../store/index.ts";
import { peerHash, type SignedVoucher } from "./voucher.ts";

export const MIGRATIONS = [
  {
    version: 1,
    up: `
      CREATE TABLE payment_received (
        consumer TEXT NOT NULL,
        account TEXT NOT NULL,
        amount TEXT NOT NULL,
        amount_key TEXT NOT NULL,
        signature TEXT NOT NULL,
        consumer_peer TEXT NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (consumer, account)
      );
      CREATE TABLE payment_signed (
        consumer TEXT NOT NULL,
        account TEXT NOT NULL,
        amount TEXT NOT NULL,
        amount_key TEXT NOT NULL,
        signature TEXT NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (consumer, account)
      );
    `,
  },
  {
    // Vouchers are bound to their consumer's peer (CreditVault's `consumerPeer`): those signed before cannot be
    // settled by a vault of this version, and a channel starts again from zero on it.
    version: 2,
    up: `
      DELETE FROM payment_received;
      DELETE FROM payment_signed;
      ALTER TABLE payment_signed ADD COLUMN consumer_peer TEXT NOT NULL DEFAULT '';
    `,
  },
] as const;

/** Amounts compared in SQL as fixed-width hex (a vault amount is < 2^96, 24 hex digits). */
const amountKey = (a: bigint) => a.toString(16).padStart(32, "0");

export interface ReceivedVoucher extends SignedVoucher {
  /** The peer that delivered it (the transfer session's consumer; `consumerPeer` is its hash). */
  consumerPeerId: string;
  updatedAt: number;
}

type Row = { consumer: string; account: string; amount: string; signature: string; consumer_peer: string };
const toVoucher = (r: Row): SignedVoucher => ({
  consumer: r.consumer,
  provider: r.account,
  consumerPeer: peerHash(r.consumer_peer),
  cumulativeAmount: BigInt(r.amount),
  signature: r.signature,
});

export class PaymentStore {
  constructor(private readonly store: Store) {
    store.migrate("payment", MIGRATIONS);
  }

  private get db() {
    return this.store.db;
  }

  /**
   * Keeps `v` (already verified, signed for the peer `consumerPeer`) when it is above the channel's highest received
   * voucher; returns whether it was.
   */
  offer(v: SignedVoucher, consumerPeer: string): boolean {
    const r = this.db
      .prepare(
        "INSERT INTO payment_received (consumer, account, amount, amount_key, signature, consumer_peer, updated_at) " +
          "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (consumer, account) DO UPDATE SET amount = ?3, " +
          "amount_key = ?4, signature = ?5, consumer_peer = ?6, updated_at = ?7 WHERE amount_key < ?4",
      )
      .run(
        getAddress(v.consumer),
        getAddress(v.provider),
        v.cumulativeAmount.toString(),
        amountKey(v.cumulativeAmount),
        v.signature,
        consumerPeer,
        Date.now(),
      );
    return Number(r.changes) > 0;
  }

  /** The highest received voucher of a channel (undefined when none). */
  received(consumer: string, account: string): SignedVoucher | undefined {
    const r = this.db
      .prepare(
        "SELECT consumer, account, amount, signature, consumer_peer FROM payment_received WHERE consumer = ? AND account = ?",
      )
      .get(getAddress(consumer), getAddress(account)) as Row | undefined;
    return r === undefined ? undefined : toVoucher(r);
  }

  /** Every channel's highest received voucher, by consumer then account. */
  allReceived(): ReceivedVoucher[] {
    return (
      this.db
        .prepare(
          "SELECT consumer, account, amount, signature, consumer_peer, updated_at FROM payment_received " +
            "ORDER BY consumer, account",
        )
        .all() as Array<Row & { updated_at: number }>
    ).map((r) => ({ ...toVoucher(r), consumerPeerId: r.consumer_peer, updatedAt: r.updated_at }));
  }

  /** The amount this keeper last signed on a channel as a consumer (0 when none). */
  signedAmount(consumer: string, account: string): bigint {
    const r = this.db
      .prepare("SELECT amount FROM payment_signed WHERE consumer = ? AND account = ?")
      .get(getAddress(consumer), getAddress(account)) as { amount: string } | undefined;
    return r === undefined ? 0n : BigInt(r.amount);
  }

  /** The highest voucher this keeper signed on a channel (undefined when none). */
  signed(consumer: string, account: string): SignedVoucher | undefined {
    const r = this.db
      .prepare(
        "SELECT consumer, account, amount, signature, consumer_peer FROM payment_signed WHERE consumer = ? AND account = ?",
      )
      .get(getAddress(consumer), getAddress(account)) as Row | undefined;
    return r === undefined ? undefined : toVoucher(r);
  }

  /**
   * Records a voucher this keeper signed for its peer `consumerPeer`, when above the channel's last one (durably,
   * before it is sent).
   */
  recordSigned(v: SignedVoucher, consumerPeer: string): void {
    this.db
      .prepare(
        "INSERT INTO payment_signed (consumer, account, amount, amount_key, signature, updated_at, consumer_peer) " +
          "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (consumer, account) DO UPDATE SET amount = ?3, " +
          "amount_key = ?4, signature = ?5, updated_at = ?6, consumer_peer = ?7 WHERE amount_key < ?4",
      )
      .run(
        getAddress(v.consumer),
        getAddress(v.provider),
        v.cumulativeAmount.toString(),
        amountKey(v.cumulativeAmount),
        v.signature,
        Date.now(),
        consumerPeer,
      );
  }
}
