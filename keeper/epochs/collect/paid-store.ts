/**
 * What each closed epoch counted as paid (namespace "epoch_payment"): the paid-demand rule it was closed under and,
 * per channel, the cumulative amount counted before it and up to it, as its evidence publishes them (the amounts come
 * from the vault, payment/settlement.ts: nothing here feeds a later epoch).
 */
import { getAddress } from "ethers";

import type { Store } from "../../store/index.ts";
import type { ChannelPayment, PaymentRule } from "./paid.ts";

export const PAID_MIGRATIONS = [
  {
    version: 1,
    up: `
      CREATE TABLE epoch_payment_terms (
        epoch INTEGER PRIMARY KEY,
        wei_per_gib TEXT NOT NULL,
        subsidy_bps TEXT NOT NULL,
        chain_id TEXT NOT NULL,
        vault TEXT NOT NULL
      );
      CREATE TABLE epoch_paid_channels (
        epoch INTEGER NOT NULL,
        consumer TEXT NOT NULL,
        account TEXT NOT NULL,
        paid_before TEXT NOT NULL,
        paid_up_to TEXT NOT NULL,
        PRIMARY KEY (epoch, consumer, account)
      );
    `,
  },
  {
    // The settlement read's terms (payment/settlement.ts); NULL for epochs closed before them.
    version: 2,
    up: `
      ALTER TABLE epoch_payment_terms ADD COLUMN settle_grid_ms INTEGER;
      ALTER TABLE epoch_payment_terms ADD COLUMN settle_window_ms INTEGER;
    `,
  },
] as const;

export function migratePaidEpochs(store: Store): void {
  store.migrate("epoch_payment", PAID_MIGRATIONS);
}

/** Records what epoch `epoch` counted as paid (inside the finalize's transaction), replacing an earlier attempt. */
export function savePaid(store: Store, epoch: number, rule: PaymentRule, channels: readonly ChannelPayment[]): void {
  const db = store.db;
  db.prepare("DELETE FROM epoch_paid_channels WHERE epoch = ?").run(epoch);
  db.prepare(
    "INSERT OR REPLACE INTO epoch_payment_terms (epoch, wei_per_gib, subsidy_bps, chain_id, vault, settle_grid_ms, " +
      "settle_window_ms) VALUES (?, ?, ?, ?, ?, ?, ?)",
  ).run(
    epoch,
    rule.weiPerGiB.toString(),
    rule.subsidyBps.toString(),
    rule.domain.chainId.toString(),
    getAddress(rule.domain.vault),
    rule.settle?.gridMs ?? null,
    rule.settle?.windowMs ?? null,
  );
  const insert = db.prepare(
    "INSERT INTO epoch_paid_channels (epoch, consumer, account, paid_before, paid_up_to) VALUES (?, ?, ?, ?, ?)",
  );
  for (const c of channels) insert.run(epoch, c.consumer, c.account, c.paidBefore.toString(), c.paidUpTo.toString());
}

/** The rule and channel payments of a closed epoch (undefined when it was closed without the paid-demand rule). */
export function paidOf(store: Store, epoch: number): { rule: PaymentRule; channels: ChannelPayment[] } | undefined {
  const t = store.db
    .prepare(
      "SELECT wei_per_gib, subsidy_bps, chain_id, vault, settle_grid_ms, settle_window_ms FROM epoch_payment_terms " +
        "WHERE epoch = ?",
    )
    .get(epoch) as
    | {
        wei_per_gib: string;
        subsidy_bps: string;
        chain_id: string;
        vault: string;
        settle_grid_ms: number | null;
        settle_window_ms: number | null;
      }
    | undefined;
  if (t === undefined) return undefined;
  const channels = (
    store.db
      .prepare(
        "SELECT consumer, account, paid_before, paid_up_to FROM epoch_paid_channels WHERE epoch = ? " +
          "ORDER BY consumer, account",
      )
      .all(epoch) as { consumer: string; account: string; paid_before: string; paid_up_to: string }[]
  ).map((c) => ({
    consumer: c.consumer,
    account: c.account,
    paidBefore: BigInt(c.paid_before),
    paidUpTo: BigInt(c.paid_up_to),
  }));
  return {
    rule: {
      weiPerGiB: BigInt(t.wei_per_gib),
      subsidyBps: BigInt(t.subsidy_bps),
      domain: { chainId: BigInt(t.chain_id), vault: t.vault },
      ...(t.settle_grid_ms !== null &&
        t.settle_window_ms !== null && { settle: { gridMs: t.settle_grid_ms, windowMs: t.settle_window_ms } }),
    },
    channels,
  };
}
