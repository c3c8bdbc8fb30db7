/**
 * The signed health observations this keeper holds — its own and those pulled from other keepers — per deployment
 * (EpochQuorum address: a new deployment numbers its epochs anew) and epoch, in the store's "epoch-observations"
 * namespace. An epoch's set is sealed when the close that merges it finalizes: from then on it is what the epoch's
 * reports were computed from and what its evidence publishes, and nothing joins it.
 */
import type { Store } from "../../store/index.ts";
import type { SignedObservation } from "./observation.ts";

export class ObservationStore {
  constructor(private readonly store: Store) {
    store.migrate("epoch-observations", [
      {
        version: 1,
        up: `
          CREATE TABLE epoch_observations (
            quorum TEXT NOT NULL,
            epoch INTEGER NOT NULL,
            observer TEXT NOT NULL,
            subject TEXT NOT NULL,
            account TEXT NOT NULL,
            successes INTEGER NOT NULL,
            failures INTEGER NOT NULL,
            signature TEXT NOT NULL,
            PRIMARY KEY (quorum, epoch, observer, subject)
          ) WITHOUT ROWID;
          CREATE TABLE epoch_observation_marks (
            quorum TEXT NOT NULL,
            epoch INTEGER NOT NULL,
            observed_at INTEGER,
            sealed_at INTEGER,
            PRIMARY KEY (quorum, epoch)
          ) WITHOUT ROWID;
        `,
      },
      {
        // The observer's audits of the peer and their failures (observation.ts): signed since version 2.
        version: 2,
        up: `
          ALTER TABLE epoch_observations ADD COLUMN audits INTEGER NOT NULL DEFAULT 0;
          ALTER TABLE epoch_observations ADD COLUMN audit_failures INTEGER NOT NULL DEFAULT 0;
        `,
      },
    ]);
  }

  /**
   * Stores verified observations of `epoch` unless its set is sealed; one already held for the same observer and
   * peer is kept (an observer states one outcome). Returns how many were new.
   */
  add(quorum: string, epoch: number, observations: readonly SignedObservation[]): number {
    const q = quorum.toLowerCase();
    return this.store.transaction(() => {
      if (this.mark(q, epoch)?.sealed_at != null) return 0;
      const insert = this.store.db.prepare(
        "INSERT OR IGNORE INTO epoch_observations (quorum, epoch, observer, subject, account, successes, failures, " +
          "audits, audit_failures, signature) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      );
      let added = 0;
      for (const o of observations) {
        if (o.epoch !== epoch) continue;
        added += Number(
          insert.run(
            q,
            epoch,
            o.observer,
            o.subject,
            o.account,
            o.successes,
            o.failures,
            o.audits ?? 0,
            o.auditFailures ?? 0,
            o.signature,
          ).changes,
        );
      }
      return added;
    });
  }

  /** Every observation held for `epoch`, by observer then peer. */
  of(quorum: string, epoch: number, observer?: string): SignedObservation[] {
    const rows = this.store.db
      .prepare(
        "SELECT observer, subject, account, successes, failures, audits, audit_failures AS auditFailures, signature " +
          "FROM epoch_observations " +
          "WHERE quorum = ? AND epoch = ? AND (?3 IS NULL OR observer = ?3) ORDER BY lower(observer), subject",
      )
      .all(quorum.toLowerCase(), epoch, observer ?? null) as {
      observer: string;
      subject: string;
      account: string;
      successes: number;
      failures: number;
      audits: number;
      auditFailures: number;
      signature: string;
    }[];
    return rows.map((r) => ({ epoch, ...r }));
  }

  /** Records that this keeper signed its own observations of `epoch` (it froze the epoch). */
  markObserved(quorum: string, epoch: number): void {
    this.store.db
      .prepare(
        "INSERT INTO epoch_observation_marks (quorum, epoch, observed_at) VALUES (?, ?, ?) " +
          "ON CONFLICT (quorum, epoch) DO UPDATE SET observed_at = COALESCE(observed_at, excluded.observed_at)",
      )
      .run(quorum.toLowerCase(), epoch, Date.now());
  }

  observed(quorum: string, epoch: number): boolean {
    return this.mark(quorum.toLowerCase(), epoch)?.observed_at != null;
  }

  /** Closes `epoch`'s set: nothing joins it any more. */
  seal(quorum: string, epoch: number): void {
    this.store.db
      .prepare(
        "INSERT INTO epoch_observation_marks (quorum, epoch, sealed_at) VALUES (?, ?, ?) " +
          "ON CONFLICT (quorum, epoch) DO UPDATE SET sealed_at = COALESCE(sealed_at, excluded.sealed_at)",
      )
      .run(quorum.toLowerCase(), epoch, Date.now());
  }

  sealed(quorum: string, epoch: number): boolean {
    return this.mark(quorum.toLowerCase(), epoch)?.sealed_at != null;
  }

  private mark(q: string, epoch: number): { observed_at: number | null; sealed_at: number | null } | undefined {
    return this.store.db
      .prepare("SELECT observed_at, sealed_at FROM epoch_observation_marks WHERE quorum = ? AND epoch = ?")
      .get(q, epoch) as { observed_at: number | null; sealed_at: number | null } | undefined;
  }
}
