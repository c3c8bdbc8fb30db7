/**
 * The "audit" namespace of the keeper's store: the signed outcomes this keeper produced, bounded to
 * MAX_AUDIT_OUTCOMES rows (the oldest deleted first). Outcomes are kept with the epoch that was open when they
 * were signed and the keeper's clock; an epoch close takes the outcomes of its window (`between`) and freezes
 * its own copy, so pruning here never changes a closed epoch.
 */
import type { StatementSync } from "node:sqlite";

import type { Store } from "../store/index.ts";
import { MAX_AUDIT_OUTCOMES } from "./constants.ts";
import type { AuditOutcomeKind } from "./judge.ts";
import type { SignedAuditOutcome } from "./outcome.ts";

export const AUDIT_NAMESPACE = "audit";

export interface StoredAuditOutcome extends SignedAuditOutcome {
  hash: string;
  atMs: number;
  epoch: number;
  provider: string;
  outcome: AuditOutcomeKind;
  throughputBps: number;
}

interface Row {
  hash: string;
  at_ms: number;
  epoch: number;
  provider: string;
  outcome: string;
  throughput_bps: number;
  body: Uint8Array;
  signature: Uint8Array;
}

const toOutcome = (r: Row): StoredAuditOutcome => ({
  hash: r.hash,
  atMs: r.at_ms,
  epoch: r.epoch,
  provider: r.provider,
  outcome: r.outcome as AuditOutcomeKind,
  throughputBps: r.throughput_bps,
  body: new Uint8Array(r.body),
  signature: new Uint8Array(r.signature),
});

export class AuditStore {
  private readonly insert: StatementSync;
  private readonly prune: StatementSync;
  private readonly window: StatementSync;
  private readonly ofEpoch: StatementSync;
  private readonly all: StatementSync;

  constructor(
    private readonly store: Store,
    private readonly max = MAX_AUDIT_OUTCOMES,
  ) {
    store.migrate(AUDIT_NAMESPACE, [
      {
        version: 1,
        up: `
          CREATE TABLE audit_outcomes (
            hash TEXT PRIMARY KEY,
            at_ms INTEGER NOT NULL,
            epoch INTEGER NOT NULL,
            provider TEXT NOT NULL,
            outcome TEXT NOT NULL,
            throughput_bps INTEGER NOT NULL,
            body BLOB NOT NULL,
            signature BLOB NOT NULL
          );
          CREATE INDEX audit_outcomes_at ON audit_outcomes (at_ms);
          CREATE INDEX audit_outcomes_epoch ON audit_outcomes (epoch);`,
      },
    ]);
    const db = store.db;
    this.insert = db.prepare(
      "INSERT OR IGNORE INTO audit_outcomes (hash, at_ms, epoch, provider, outcome, throughput_bps, body, signature) " +
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    );
    this.prune = db.prepare(
      "DELETE FROM audit_outcomes WHERE hash IN (SELECT hash FROM audit_outcomes ORDER BY at_ms, hash LIMIT ?)",
    );
    this.window = db.prepare("SELECT * FROM audit_outcomes WHERE at_ms >= ? AND at_ms < ? ORDER BY at_ms, hash");
    this.ofEpoch = db.prepare("SELECT * FROM audit_outcomes WHERE epoch = ? ORDER BY at_ms, hash");
    this.all = db.prepare("SELECT * FROM audit_outcomes ORDER BY at_ms, hash");
  }

  /** Stores one outcome and drops the oldest beyond the bound (one transaction). */
  save(o: StoredAuditOutcome): void {
    this.store.transaction(() => {
      this.insert.run(o.hash, o.atMs, o.epoch, o.provider, o.outcome, o.throughputBps, o.body, o.signature);
      const n = (this.store.db.prepare("SELECT COUNT(*) AS n FROM audit_outcomes").get() as { n: number }).n;
      if (n > this.max) this.prune.run(n - this.max);
    });
  }

  /** Outcomes stored in [fromMs, toMs) by the keeper's clock (what an epoch close freezes). */
  between(fromMs: number, toMs: number): StoredAuditOutcome[] {
    return (this.window.all(fromMs, toMs) as unknown as Row[]).map(toOutcome);
  }

  /** Outcomes signed while `epoch` was open. */
  inEpoch(epoch: number): StoredAuditOutcome[] {
    return (this.ofEpoch.all(epoch) as unknown as Row[]).map(toOutcome);
  }

  /** Every stored outcome, oldest first (the measured bandwidth is rebuilt from them at start). */
  list(): StoredAuditOutcome[] {
    return (this.all.all() as unknown as Row[]).map(toOutcome);
  }
}
