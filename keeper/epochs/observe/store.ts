/**
 * The signed health observations this keeper holds — its own and those pulled from other keepers — per deployment
 * (EpochQuorum address: a new deployment numbers its epochs anew) and epoch, in the store's "epoch-observations"
 * namespace. An epoch's set is sealed when the close that merges it finalizes: from then on it is what the epoch's
 * reports were computed from and what its evidence publishes, and nothing joins it — except through a union round
 * or a commitment (`unite`, docs/epochs.md "Union rounds"), after which the epoch is re-finalized from the new set.
 *
 * An observer states one outcome per peer and epoch. A second, different outcome signed by the same observer for
 * the same peer (equivocation) is kept beside the first — at most two per observer and peer — so that the set
 * carries the proof and every keeper merging it drops that observer for that peer (observe/merge.ts).
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
      {
        // Room for an equivocation's second observation: the signature joins the key (`add` keeps at most two).
        version: 3,
        up: `
          CREATE TABLE epoch_observations_v3 (
            quorum TEXT NOT NULL,
            epoch INTEGER NOT NULL,
            observer TEXT NOT NULL,
            subject TEXT NOT NULL,
            account TEXT NOT NULL,
            successes INTEGER NOT NULL,
            failures INTEGER NOT NULL,
            signature TEXT NOT NULL,
            audits INTEGER NOT NULL DEFAULT 0,
            audit_failures INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (quorum, epoch, observer, subject, signature)
          ) WITHOUT ROWID;
          INSERT INTO epoch_observations_v3 (quorum, epoch, observer, subject, account, successes, failures,
            signature, audits, audit_failures)
            SELECT quorum, epoch, observer, subject, account, successes, failures, signature, audits, audit_failures
            FROM epoch_observations;
          DROP TABLE epoch_observations;
          ALTER TABLE epoch_observations_v3 RENAME TO epoch_observations;
        `,
      },
      {
        // f of the merge rule the epoch's set is merged under, fixed when it is first derived from the quorum's size.
        version: 4,
        up: `ALTER TABLE epoch_observation_marks ADD COLUMN max_faulty INTEGER;`,
      },
    ]);
  }

  /**
   * Stores verified observations of `epoch` unless its set is sealed; one with the same outcome as one already held
   * for the same observer and peer is ignored, a different one (equivocation) is kept as the second and last.
   * Returns how many were new.
   */
  add(quorum: string, epoch: number, observations: readonly SignedObservation[]): number {
    return this.store.transaction(() => {
      if (this.mark(quorum.toLowerCase(), epoch)?.sealed_at != null) return 0;
      return this.insert(quorum, epoch, observations);
    });
  }

  /**
   * `add` into a sealed set too: a union round or a commitment brings observations the set lacked (verified by
   * the caller). The epoch must then be re-finalized from the new set. Returns how many were new.
   */
  unite(quorum: string, epoch: number, observations: readonly SignedObservation[]): number {
    return this.store.transaction(() => this.insert(quorum, epoch, observations));
  }

  /** Replaces `epoch`'s set by `observations` (the set a commitment was approved under, checked by the caller). */
  replace(quorum: string, epoch: number, observations: readonly SignedObservation[]): void {
    this.store.transaction(() => {
      this.store.db
        .prepare("DELETE FROM epoch_observations WHERE quorum = ? AND epoch = ?")
        .run(quorum.toLowerCase(), epoch);
      this.insert(quorum, epoch, observations);
    });
  }

  private insert(quorum: string, epoch: number, observations: readonly SignedObservation[]): number {
    const q = quorum.toLowerCase();
    const held = this.store.db.prepare(
      "SELECT account, successes, failures, audits, audit_failures AS auditFailures FROM epoch_observations " +
        "WHERE quorum = ? AND epoch = ? AND observer = ? AND subject = ?",
    );
    const insert = this.store.db.prepare(
      "INSERT OR IGNORE INTO epoch_observations (quorum, epoch, observer, subject, account, successes, failures, " +
        "audits, audit_failures, signature) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    );
    let added = 0;
    for (const o of observations) {
      if (o.epoch !== epoch) continue;
      const rows = held.all(q, epoch, o.observer, o.subject) as unknown as Outcome[];
      if (rows.length >= 2 || rows.some((r) => sameOutcome(r, o))) continue;
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
  }

  /** Every observation held for `epoch`, by observer then peer. */
  of(quorum: string, epoch: number, observer?: string): SignedObservation[] {
    const rows = this.store.db
      .prepare(
        "SELECT observer, subject, account, successes, failures, audits, audit_failures AS auditFailures, signature " +
          "FROM epoch_observations " +
          "WHERE quorum = ? AND epoch = ? AND (?3 IS NULL OR observer = ?3) ORDER BY lower(observer), subject, signature",
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

  /** Fixes f of `epoch`'s merge rule (docs/epochs.md "Reputation reports") unless it is fixed already. */
  fixMaxFaulty(quorum: string, epoch: number, maxFaulty: number): void {
    this.store.db
      .prepare(
        "INSERT INTO epoch_observation_marks (quorum, epoch, max_faulty) VALUES (?, ?, ?) " +
          "ON CONFLICT (quorum, epoch) DO UPDATE SET max_faulty = COALESCE(max_faulty, excluded.max_faulty)",
      )
      .run(quorum.toLowerCase(), epoch, maxFaulty);
  }

  /** f fixed for `epoch` (`fixMaxFaulty`), undefined when none was. */
  maxFaulty(quorum: string, epoch: number): number | undefined {
    const row = this.store.db
      .prepare("SELECT max_faulty FROM epoch_observation_marks WHERE quorum = ? AND epoch = ?")
      .get(quorum.toLowerCase(), epoch) as { max_faulty: number | null } | undefined;
    return row?.max_faulty ?? undefined;
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

type Outcome = Pick<SignedObservation, "account" | "successes" | "failures" | "audits" | "auditFailures">;

/** Whether two observations of one observer and peer state the same outcome (whatever their signatures). */
function sameOutcome(a: Outcome, b: Outcome): boolean {
  return (
    a.account.toLowerCase() === b.account.toLowerCase() &&
    a.successes === b.successes &&
    a.failures === b.failures &&
    (a.audits ?? 0) === (b.audits ?? 0) &&
    (a.auditFailures ?? 0) === (b.auditFailures ?? 0)
  );
}
