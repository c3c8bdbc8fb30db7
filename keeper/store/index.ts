/**
 * The keeper's embedded, crash-safe database: SQLite (Node 22's built-in `node:sqlite`) in WAL mode with
 * `synchronous = FULL`, so a write that returned has reached the disk and survives SIGKILL or power loss.
 *
 * Each keeper module owns its tables and registers its own migrations under a namespace
 * (`store.migrate("tasks", [...])`); applied versions are tracked per namespace in `schema_migrations`.
 */
import type { DatabaseSync as DatabaseSyncType, SQLInputValue } from "node:sqlite";

import { StoreMigrationError } from "./errors.ts";

// node:sqlite prints an ExperimentalWarning on first load; it is expected here, so keep it out of the logs.
const emitWarning = process.emitWarning;
process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
  if (String(warning).includes("SQLite")) return;
  return (emitWarning as (...a: unknown[]) => void).call(process, warning, ...rest);
}) as typeof process.emitWarning;
const { DatabaseSync } = await import("node:sqlite");
process.emitWarning = emitWarning;

export type { SQLInputValue };

export interface Migration {
  /** Strictly increasing within a namespace, starting at 1. */
  version: number;
  /** SQL run once, inside a transaction. */
  up: string;
}

export interface StoreOptions {
  /** Milliseconds a statement waits on a lock held by another connection. Default 5 s. */
  busyTimeoutMs?: number;
}

export class Store {
  readonly db: DatabaseSyncType;
  readonly path: string;

  constructor(path: string, options: StoreOptions = {}) {
    this.path = path;
    this.db = new DatabaseSync(path);
    this.db.exec(`PRAGMA busy_timeout = ${options.busyTimeoutMs ?? 5000}`);
    if (path !== ":memory:") this.db.exec("PRAGMA journal_mode = WAL");
    this.db.exec("PRAGMA synchronous = FULL");
    this.db.exec("PRAGMA foreign_keys = ON");
    this.db.exec(
      "CREATE TABLE IF NOT EXISTS schema_migrations (namespace TEXT NOT NULL, version INTEGER NOT NULL, " +
        "applied_at INTEGER NOT NULL, PRIMARY KEY (namespace, version))",
    );
  }

  /** Applies the migrations of `namespace` not applied yet, each in its own transaction. */
  migrate(namespace: string, migrations: readonly Migration[]): void {
    const row = this.db
      .prepare("SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations WHERE namespace = ?")
      .get(namespace) as { v: number };
    let previous = 0;
    for (const m of migrations) {
      if (!Number.isInteger(m.version) || m.version <= previous) {
        throw new StoreMigrationError(namespace, m.version, "versions must be integers increasing from 1");
      }
      previous = m.version;
      if (m.version <= row.v) continue;
      this.transaction(() => {
        this.db.exec(m.up);
        this.db
          .prepare("INSERT INTO schema_migrations (namespace, version, applied_at) VALUES (?, ?, ?)")
          .run(namespace, m.version, Date.now());
      });
    }
  }

  /** Runs `fn` in one transaction (nested calls join the outer one). */
  transaction<T>(fn: () => T): T {
    if (this.db.isTransaction) return fn();
    this.db.exec("BEGIN IMMEDIATE");
    try {
      const result = fn();
      this.db.exec("COMMIT");
      return result;
    } catch (err) {
      this.db.exec("ROLLBACK");
      throw err;
    }
  }

  close(): void {
    if (this.db.isOpen) this.db.close();
  }
}

export function openStore(path: string, options?: StoreOptions): Store {
  return new Store(path, options);
}
