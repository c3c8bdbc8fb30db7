/**
 * The submission's step journal in the keeper's store. It records what this keeper did (every transaction it
 * signed, before broadcasting it, and what became of it) so that a restart settles a transaction whose fate it
 * did not see. It is not the truth about what is on chain: the submission reads the contracts before each step.
 */
import type { SignedTx } from "../../chain/index.ts";
import type { Store } from "../../store/index.ts";

export const CHAIN_MIGRATIONS = [
  {
    version: 1,
    up: `
      CREATE TABLE chain_txs (
        hash TEXT PRIMARY KEY,
        epoch INTEGER NOT NULL,
        step TEXT NOT NULL,
        label TEXT NOT NULL,
        signer TEXT NOT NULL,
        nonce INTEGER NOT NULL,
        raw TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('signed', 'sent', 'confirmed', 'replaced', 'reverted')),
        block_number INTEGER,
        updated_at INTEGER NOT NULL
      );
      CREATE INDEX chain_txs_open ON chain_txs (signer, status);
      CREATE TABLE chain_epochs (
        epoch INTEGER PRIMARY KEY,
        status TEXT NOT NULL CHECK (status IN ('pending', 'submitted', 'alarm')),
        task_root TEXT,
        reward_root TEXT,
        tasklog TEXT NOT NULL DEFAULT 'pending',
        reputation TEXT NOT NULL DEFAULT 'pending',
        rewardpool TEXT NOT NULL DEFAULT 'pending',
        last_error TEXT,
        updated_at INTEGER NOT NULL
      );
    `,
  },
] as const;

export type StepName = "tasklog" | "reputation" | "rewardpool";
export type TxStatus = "signed" | "sent" | "confirmed" | "replaced" | "reverted";

export interface JournaledTx extends SignedTx {
  epoch: number;
  step: string;
  status: TxStatus;
}

export interface EpochJournalRow {
  epoch: number;
  status: "pending" | "submitted" | "alarm";
  tasklog: string;
  reputation: string;
  rewardpool: string;
  lastError: string | null;
}

export class SubmitJournal {
  constructor(private readonly store: Store) {
    store.migrate("chain", CHAIN_MIGRATIONS);
  }

  txSigned(epoch: number, step: string, signer: string, tx: SignedTx): void {
    this.store.db
      .prepare(
        "INSERT OR REPLACE INTO chain_txs (hash, epoch, step, label, signer, nonce, raw, status, updated_at) " +
          "VALUES (?, ?, ?, ?, ?, ?, ?, 'signed', ?)",
      )
      .run(tx.hash, epoch, step, tx.label, signer, tx.nonce, tx.raw, Date.now());
  }

  txStatus(hash: string, status: TxStatus, blockNumber?: number): void {
    this.store.db
      .prepare(
        "UPDATE chain_txs SET status = ?, block_number = COALESCE(?, block_number), updated_at = ? WHERE hash = ?",
      )
      .run(status, blockNumber ?? null, Date.now(), hash);
  }

  /** Transactions of `signer` whose outcome this keeper has not seen yet, oldest nonce first. */
  openTxs(signer: string): JournaledTx[] {
    const rows = this.store.db
      .prepare("SELECT * FROM chain_txs WHERE signer = ? AND status IN ('signed', 'sent') ORDER BY nonce")
      .all(signer) as Record<string, unknown>[];
    return rows.map((r) => ({
      hash: r.hash as string,
      epoch: Number(r.epoch),
      step: r.step as string,
      label: r.label as string,
      nonce: Number(r.nonce),
      raw: r.raw as string,
      status: r.status as TxStatus,
    }));
  }

  /** Every transaction this keeper journaled for `epoch` (for reports and tests). */
  txsOf(epoch: number): JournaledTx[] {
    const rows = this.store.db.prepare("SELECT * FROM chain_txs WHERE epoch = ? ORDER BY nonce").all(epoch) as Record<
      string,
      unknown
    >[];
    return rows.map((r) => ({
      hash: r.hash as string,
      epoch: Number(r.epoch),
      step: r.step as string,
      label: r.label as string,
      nonce: Number(r.nonce),
      raw: r.raw as string,
      status: r.status as TxStatus,
    }));
  }

  /**
   * Forgets the epochs of an earlier era (a new deployment): their rows would collide with the new numbering,
   * and transactions never settled against the old contracts are marked replaced (never resumed).
   */
  startNewEra(): void {
    this.store.transaction(() => {
      this.store.db.prepare("DELETE FROM chain_epochs").run();
      this.store.db
        .prepare("UPDATE chain_txs SET status = 'replaced', updated_at = ? WHERE status IN ('signed', 'sent')")
        .run(Date.now());
    });
  }

  epochStarted(epoch: number, taskRoot: string, rewardRoot: string): void {
    this.store.db
      .prepare(
        "INSERT INTO chain_epochs (epoch, status, task_root, reward_root, updated_at) VALUES (?, 'pending', ?, ?, ?) " +
          "ON CONFLICT (epoch) DO UPDATE SET task_root = excluded.task_root, reward_root = excluded.reward_root, " +
          "updated_at = excluded.updated_at",
      )
      .run(epoch, taskRoot, rewardRoot, Date.now());
  }

  stepDone(epoch: number, step: StepName, how: string): void {
    this.store.db
      .prepare(`UPDATE chain_epochs SET ${step} = ?, updated_at = ? WHERE epoch = ?`)
      .run(how, Date.now(), epoch);
  }

  epochStatus(epoch: number, status: EpochJournalRow["status"], lastError: string | null = null): void {
    this.store.db
      .prepare("UPDATE chain_epochs SET status = ?, last_error = ?, updated_at = ? WHERE epoch = ?")
      .run(status, lastError, Date.now(), epoch);
  }

  epoch(epoch: number): EpochJournalRow | undefined {
    const r = this.store.db.prepare("SELECT * FROM chain_epochs WHERE epoch = ?").get(epoch) as
      Record<string, unknown> | undefined;
    if (r === undefined) return undefined;
    return {
      epoch: Number(r.epoch),
      status: r.status as EpochJournalRow["status"],
      tasklog: r.tasklog as string,
      reputation: r.reputation as string,
      rewardpool: r.rewardpool as string,
      lastError: (r.last_error as string | null) ?? null,
    };
  }
}
