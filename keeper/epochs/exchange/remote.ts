/**
 * What this keeper pulled from the other keepers, kept in the store until the epoch that counts it is frozen:
 * receipts (by receipt id, the keccak256 of the signed body) and task records (by task id). Both are arrival logs — an entry belongs
 * to the epoch during which it ARRIVED here, and one already held is ignored — so they share ArrivalLog.
 */
import type { Store } from "../../store/index.ts";
import { receiptId } from "../../transfer/receipt.ts";
import type { RawReceipt } from "../collect/collector.ts";
import type { TaskRecordValue } from "../types.ts";
import { PULL_OVERLAP_MS } from "./constants.ts";
import { parseTaskRecord } from "./schema.ts";

/** How one kind of entry sits in its table: the INSERT (key first, `stored_at` last) and the SELECT of a window. */
interface ArrivalTable<T> {
  insert: string;
  select: string;
  row(entry: T): Array<string | Uint8Array>;
  entry(row: Record<string, unknown>): T;
}

/** An append-only table of entries by arrival time, deduplicated by key. */
class ArrivalLog<T> {
  constructor(
    protected readonly store: Store,
    private readonly table: ArrivalTable<T>,
  ) {}

  /** Stores new entries (one already held is ignored); returns how many were new. */
  add(entries: readonly T[], now = Date.now()): number {
    const insert = this.store.db.prepare(this.table.insert);
    let added = 0;
    this.store.transaction(() => {
      for (const e of entries) added += Number(insert.run(...this.table.row(e), now).changes);
    });
    return added;
  }

  /** Entries that arrived in [fromMs, toMs), oldest first. */
  between(fromMs: number, toMs: number): T[] {
    const rows = this.store.db.prepare(this.table.select).all(fromMs, toMs) as Array<Record<string, unknown>>;
    return rows.map((r) => this.table.entry(r));
  }
}

/** Receipts pulled from other keepers. */
export class RemoteReceipts extends ArrivalLog<RawReceipt> {
  constructor(store: Store) {
    store.migrate("epoch-exchange", [
      {
        version: 1,
        up:
          "CREATE TABLE remote_receipts (hash TEXT PRIMARY KEY, provider TEXT NOT NULL, body BLOB NOT NULL, " +
          "signature BLOB NOT NULL, stored_at INTEGER NOT NULL)",
      },
    ]);
    super(store, {
      insert:
        "INSERT OR IGNORE INTO remote_receipts (hash, provider, body, signature, stored_at) VALUES (?, ?, ?, ?, ?)",
      select:
        "SELECT provider, body, signature FROM remote_receipts WHERE stored_at >= ? AND stored_at < ? " +
        "ORDER BY stored_at, hash",
      row: (r) => [receiptId(r.body), r.provider, r.body, r.signature],
      entry: (r) => ({
        provider: r.provider as string,
        body: new Uint8Array(r.body as Uint8Array),
        signature: new Uint8Array(r.signature as Uint8Array),
      }),
    });
  }
}

/**
 * Task records pulled from the other coordinators. A record that ended on a peer just as an epoch closed is
 * logged in the next epoch instead of being lost between two pull windows. Per peer, the end of the last pulled
 * window is remembered; the next pull asks again from a little before it (PULL_OVERLAP_MS) so records the peer
 * committed late are not missed — re-sent ones are ignored by task id.
 */
export class RemoteTasks extends ArrivalLog<TaskRecordValue> {
  constructor(store: Store) {
    store.migrate("epoch-exchange-tasks", [
      {
        version: 1,
        up:
          "CREATE TABLE remote_tasks (task_id TEXT PRIMARY KEY, stored_at INTEGER NOT NULL, value TEXT NOT NULL);" +
          "CREATE TABLE remote_task_pulls (peer_id TEXT PRIMARY KEY, to_ms INTEGER NOT NULL)",
      },
    ]);
    super(store, {
      insert: "INSERT OR IGNORE INTO remote_tasks (task_id, value, stored_at) VALUES (?, ?, ?)",
      select: "SELECT value FROM remote_tasks WHERE stored_at >= ? AND stored_at < ? ORDER BY stored_at, task_id",
      row: (v) => [v[0], JSON.stringify(v, (_k, x: unknown) => (typeof x === "bigint" ? x.toString() : x))],
      entry: (r) => parseTaskRecord(JSON.parse(r.value as string)),
    });
  }

  /** Where the next pull from `peerId` starts: a little before the end of the last window pulled from it. */
  nextPullFrom(peerId: string): number {
    const row = this.store.db.prepare("SELECT to_ms FROM remote_task_pulls WHERE peer_id = ?").get(peerId) as
      { to_ms: number } | undefined;
    return row === undefined ? 0 : Math.max(0, row.to_ms - PULL_OVERLAP_MS);
  }

  /** Records that a pull from `peerId` covered everything that ended before `toMs`. */
  pulled(peerId: string, toMs: number): void {
    this.store.db
      .prepare(
        "INSERT INTO remote_task_pulls (peer_id, to_ms) VALUES (?, ?) ON CONFLICT (peer_id) DO UPDATE SET to_ms = excluded.to_ms",
      )
      .run(peerId, toMs);
  }
}
