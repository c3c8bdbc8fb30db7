/**
 * The signed peer records this keeper verified, kept in its store so that a restart knows its peers at once —
 * their reward accounts (a receipt's provider must resolve to an account at the freeze) and their addresses —
 * instead of re-learning them from the DHT over a minute or more. A record is re-verified when loaded (signature,
 * key, expiry): the cache is a shortcut, never a source of trust.
 */
import type { Store } from "../store/index.ts";

export interface CachedRecord {
  peerId: string;
  bytes: Uint8Array;
  expiresAtMs: number;
}

export class RecordCache {
  constructor(private readonly store: Store) {
    store.migrate("discovery", [
      {
        version: 1,
        up:
          "CREATE TABLE peer_records (peer_id TEXT PRIMARY KEY, record BLOB NOT NULL, seq TEXT NOT NULL, " +
          "expires_at INTEGER NOT NULL)",
      },
    ]);
  }

  /** Stores a verified record unless a newer one (higher sequence number) is already held. */
  save(peerId: string, bytes: Uint8Array, seq: bigint, expiresAtMs: number): void {
    const row = this.store.db.prepare("SELECT seq FROM peer_records WHERE peer_id = ?").get(peerId) as
      { seq: string } | undefined;
    if (row !== undefined && BigInt(row.seq) > seq) return;
    this.store.db
      .prepare(
        "INSERT INTO peer_records (peer_id, record, seq, expires_at) VALUES (?, ?, ?, ?) ON CONFLICT (peer_id) DO " +
          "UPDATE SET record = excluded.record, seq = excluded.seq, expires_at = excluded.expires_at",
      )
      .run(peerId, bytes, seq.toString(), expiresAtMs);
  }

  /** Unexpired records, and forgets the expired ones. */
  load(now = Date.now()): CachedRecord[] {
    this.store.db.prepare("DELETE FROM peer_records WHERE expires_at <= ?").run(now);
    return (
      this.store.db.prepare("SELECT peer_id, record, expires_at FROM peer_records").all() as {
        peer_id: string;
        record: Uint8Array;
        expires_at: number;
      }[]
    ).map((r) => ({ peerId: r.peer_id, bytes: new Uint8Array(r.record), expiresAtMs: r.expires_at }));
  }
}
