/**
 * Stable leaf indices: each reward account gets one index, once, the first epoch it contributes, and keeps it
 * in every later epoch. RewardPool keys its claimed bitmap by (epoch, index) in words of 8 epochs × 32 indices,
 * so an account that keeps its index finds that word already written when it claims its next epochs.
 *
 * Table `epoch_accounts` in the "epochs" namespace (migrated by the collector).
 */
import { getAddress } from "ethers";

import type { Store } from "../../store/index.ts";
import { compareAddresses } from "./contribution.ts";

export class AccountIndex {
  constructor(private readonly store: Store) {}

  /** The account's index, or undefined when it never contributed. */
  indexOf(account: string): number | undefined {
    const row = this.store.db.prepare("SELECT idx FROM epoch_accounts WHERE account = ?").get(getAddress(account)) as
      { idx: number } | undefined;
    return row?.idx;
  }

  /** Number of accounts with an index (the next index to assign). */
  size(): number {
    return (this.store.db.prepare("SELECT COUNT(*) AS n FROM epoch_accounts").get() as { n: number }).n;
  }

  /**
   * Returns the index of every account, assigning the next free indices to new ones — in ascending address
   * order, so two keepers replaying the same epochs assign the same indices. Runs in one transaction.
   */
  assign(accounts: readonly string[], epoch: number): Map<string, number> {
    return this.store.transaction(() => {
      const out = new Map<string, number>();
      const fresh: string[] = [];
      for (const a of accounts) {
        const account = getAddress(a);
        const idx = this.indexOf(account);
        if (idx === undefined) fresh.push(account);
        else out.set(account, idx);
      }
      let next = this.size();
      const insert = this.store.db.prepare("INSERT INTO epoch_accounts (account, idx, first_epoch) VALUES (?, ?, ?)");
      for (const account of [...new Set(fresh)].sort(compareAddresses)) {
        insert.run(account, next, epoch);
        out.set(account, next++);
      }
      return out;
    });
  }
}
