/**
 * The "epochs" namespace of the keeper's store: the epoch windows, the evidence each close froze, the
 * resulting contributions and Reputation reports, and the stable account indices.
 *
 * A close is two steps. `freeze` (one synchronous transaction) fixes the window and copies the window's
 * evidence (task records, receipts, health counts) into these tables, so later work can only land in the next
 * epoch and a crash cannot change what the epoch holds. `finalize` (asynchronous: it verifies signatures and
 * reads the pool's balance) computes the contributions from the frozen copy and marks the epoch closed in one
 * transaction; after a crash it simply runs again on the same frozen copy.
 */
import type { Migration, Store } from "../../store/index.ts";

export const EPOCHS_NAMESPACE = "epochs";

export const EPOCH_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    up: `
      CREATE TABLE epochs (
        epoch INTEGER PRIMARY KEY,
        start_ms INTEGER NOT NULL,
        end_ms INTEGER NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('genesis','frozen','closed')),
        reward_total TEXT,
        closed_at INTEGER
      );
      CREATE TABLE epoch_tasks (
        epoch INTEGER NOT NULL,
        position INTEGER NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (epoch, position)
      ) WITHOUT ROWID;
      CREATE TABLE epoch_receipts (
        hash TEXT PRIMARY KEY,
        epoch INTEGER NOT NULL,
        provider TEXT NOT NULL,
        account TEXT,
        body BLOB NOT NULL,
        signature BLOB NOT NULL
      );
      CREATE INDEX epoch_receipts_epoch ON epoch_receipts (epoch);
      CREATE TABLE epoch_health (
        epoch INTEGER NOT NULL,
        peer_id TEXT NOT NULL,
        account TEXT,
        successes INTEGER NOT NULL,
        failures INTEGER NOT NULL,
        PRIMARY KEY (epoch, peer_id)
      ) WITHOUT ROWID;
      CREATE TABLE epoch_contributions (
        epoch INTEGER NOT NULL,
        account TEXT NOT NULL,
        idx INTEGER NOT NULL,
        bytes TEXT NOT NULL,
        successes INTEGER NOT NULL,
        failures INTEGER NOT NULL,
        contribution TEXT NOT NULL,
        PRIMARY KEY (epoch, account)
      ) WITHOUT ROWID;
      CREATE TABLE epoch_reputation (
        epoch INTEGER NOT NULL,
        node TEXT NOT NULL,
        successes INTEGER NOT NULL,
        failures INTEGER NOT NULL,
        PRIMARY KEY (epoch, node)
      ) WITHOUT ROWID;
      CREATE TABLE epoch_accounts (
        account TEXT PRIMARY KEY,
        idx INTEGER NOT NULL UNIQUE,
        first_epoch INTEGER NOT NULL
      );
    `,
  },
  {
    // Receipts whose provider's account was unknown at the freeze wait here until it is known (HELD_EPOCHS), and
    // "starting over" against a new deployment moves the old era's epochs aside (never counted again).
    version: 2,
    up: `
      CREATE TABLE epoch_held_receipts (
        hash TEXT PRIMARY KEY,
        provider TEXT NOT NULL,
        body BLOB NOT NULL,
        signature BLOB NOT NULL,
        first_epoch INTEGER NOT NULL
      );
      CREATE TABLE epoch_eras (
        era INTEGER PRIMARY KEY,
        last_epoch INTEGER NOT NULL,
        end_ms INTEGER NOT NULL,
        reason TEXT NOT NULL,
        at INTEGER NOT NULL
      );
      CREATE TABLE epochs_archive AS SELECT 0 AS era, * FROM epochs WHERE 0;
      CREATE TABLE epoch_tasks_archive AS SELECT 0 AS era, * FROM epoch_tasks WHERE 0;
      CREATE TABLE epoch_receipts_archive AS SELECT 0 AS era, * FROM epoch_receipts WHERE 0;
      CREATE INDEX epoch_receipts_archive_hash ON epoch_receipts_archive (hash);
      CREATE TABLE epoch_health_archive AS SELECT 0 AS era, * FROM epoch_health WHERE 0;
      CREATE TABLE epoch_contributions_archive AS SELECT 0 AS era, * FROM epoch_contributions WHERE 0;
      CREATE TABLE epoch_reputation_archive AS SELECT 0 AS era, * FROM epoch_reputation WHERE 0;
    `,
  },
  {
    // The chain's committed evidence is the network's counted set: receipts another keeper's committed epoch
    // counted are mirrored here so this keeper never counts them again (see EpochCollector.adopt).
    version: 3,
    up: `
      CREATE TABLE epoch_counted_elsewhere (
        hash TEXT PRIMARY KEY,
        chain_epoch INTEGER NOT NULL
      );
      CREATE TABLE epoch_mirrored (chain_epoch INTEGER PRIMARY KEY, receipts INTEGER NOT NULL);
    `,
  },
  {
    // The signed peer record of each peer an epoch credits or reports, as it was at the freeze: published with
    // the epoch's evidence, it proves the peer ↔ reward account binding the contributions used.
    version: 4,
    up: `
      CREATE TABLE epoch_records (
        epoch INTEGER NOT NULL,
        peer_id TEXT NOT NULL,
        record BLOB NOT NULL,
        PRIMARY KEY (epoch, peer_id)
      );
      CREATE TABLE epoch_records_archive AS SELECT 0 AS era, * FROM epoch_records WHERE 0;
    `,
  },
  {
    // Audit outcomes (keeper/audit) frozen with their epoch, and the providers they disqualified from credit
    // (keeper/audit/verdict.ts): the epoch publishes both, so its C_i can be recomputed from published data.
    version: 5,
    up: `
      CREATE TABLE epoch_audits (
        epoch INTEGER NOT NULL,
        hash TEXT NOT NULL,
        provider TEXT NOT NULL,
        body BLOB NOT NULL,
        signature BLOB NOT NULL,
        PRIMARY KEY (epoch, hash)
      ) WITHOUT ROWID;
      CREATE TABLE epoch_disqualified (
        epoch INTEGER NOT NULL,
        provider TEXT NOT NULL,
        audits INTEGER NOT NULL,
        failures INTEGER NOT NULL,
        PRIMARY KEY (epoch, provider)
      ) WITHOUT ROWID;
      CREATE TABLE epoch_audits_archive AS SELECT 0 AS era, * FROM epoch_audits WHERE 0;
      CREATE TABLE epoch_disqualified_archive AS SELECT 0 AS era, * FROM epoch_disqualified WHERE 0;
    `,
  },
  {
    // The bonds (NodeRegistry) of the accounts an epoch credits or reports, read just before its freeze and kept
    // with it, so a finalize re-run after a crash applies the same bond rule. A `epoch_bond_terms` row marks an
    // epoch closed under the bond rule (a keeper with a registry); without one, nothing is gated.
    version: 6,
    up: `
      CREATE TABLE epoch_bond_terms (
        epoch INTEGER PRIMARY KEY,
        min_bond TEXT NOT NULL,
        saturation_bps TEXT NOT NULL,
        reward_offered TEXT
      );
      CREATE TABLE epoch_bonds (
        epoch INTEGER NOT NULL,
        account TEXT NOT NULL,
        bond TEXT NOT NULL,
        PRIMARY KEY (epoch, account)
      ) WITHOUT ROWID;
      CREATE TABLE epoch_bond_terms_archive AS SELECT 0 AS era, * FROM epoch_bond_terms WHERE 0;
      CREATE TABLE epoch_bonds_archive AS SELECT 0 AS era, * FROM epoch_bonds WHERE 0;
    `,
  },
];

/** Tables whose rows belong to one epoch; moved to `<name>_archive` when the keeper starts over. */
export const EPOCH_TABLES = [
  "epochs",
  "epoch_tasks",
  "epoch_receipts",
  "epoch_health",
  "epoch_contributions",
  "epoch_reputation",
  "epoch_records",
  "epoch_audits",
  "epoch_disqualified",
  "epoch_bond_terms",
  "epoch_bonds",
] as const;

export interface EpochRow {
  epoch: number;
  start_ms: number;
  end_ms: number;
  status: "genesis" | "frozen" | "closed";
  reward_total: string | null;
  closed_at: number | null;
}

/** Migrates the namespace and records the genesis (epoch 0, ending where epoch 1 starts) once. */
export function migrateEpochs(store: Store, genesisMs: number): void {
  store.migrate(EPOCHS_NAMESPACE, EPOCH_MIGRATIONS);
  store.db
    .prepare("INSERT OR IGNORE INTO epochs (epoch, start_ms, end_ms, status) VALUES (0, ?, ?, 'genesis')")
    .run(genesisMs, genesisMs);
}

export function epochRow(store: Store, epoch: number): EpochRow | undefined {
  return store.db.prepare("SELECT * FROM epochs WHERE epoch = ?").get(epoch) as EpochRow | undefined;
}

export function lastEpochRow(store: Store): EpochRow {
  return store.db.prepare("SELECT * FROM epochs ORDER BY epoch DESC LIMIT 1").get() as unknown as EpochRow;
}

/** The latest epochs (genesis excluded), newest first. */
export function recentEpochRows(store: Store, limit: number): EpochRow[] {
  return store.db
    .prepare("SELECT * FROM epochs WHERE status != 'genesis' ORDER BY epoch DESC LIMIT ?")
    .all(limit) as unknown as EpochRow[];
}
