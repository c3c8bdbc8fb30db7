/**
 * The transfer module's tables (namespace "transfer"): published objects, download progress (the verified
 * parts of each unfinished download, which is what resume trusts), per-(object, provider) contributions and
 * signed receipts. Progress and contributions of a batch of parts are written in one transaction, after
 * the parts' bytes reached the disk.
 */
import type { Store } from "../store/index.ts";

export const MIGRATIONS = [
  {
    version: 1,
    up: `
      CREATE TABLE transfer_objects (
        object_id TEXT PRIMARY KEY,
        path TEXT NOT NULL,
        manifest BLOB NOT NULL,
        published_at INTEGER NOT NULL
      );
      CREATE TABLE transfer_downloads (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        object_id TEXT NOT NULL,
        dest TEXT NOT NULL,
        manifest BLOB NOT NULL,
        started_at INTEGER NOT NULL,
        completed_at INTEGER,
        UNIQUE (object_id, dest)
      );
      CREATE TABLE transfer_parts (
        download_id INTEGER NOT NULL REFERENCES transfer_downloads(id) ON DELETE CASCADE,
        part_index INTEGER NOT NULL,
        provider TEXT NOT NULL,
        bytes INTEGER NOT NULL,
        verified_at INTEGER NOT NULL,
        PRIMARY KEY (download_id, part_index)
      );
      CREATE TABLE transfer_contributions (
        object_id TEXT NOT NULL,
        provider TEXT NOT NULL,
        bytes INTEGER NOT NULL,
        parts INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (object_id, provider)
      );
      CREATE TABLE transfer_receipts (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        object_id TEXT NOT NULL,
        provider TEXT NOT NULL,
        epoch INTEGER NOT NULL,
        body BLOB NOT NULL,
        signature BLOB NOT NULL,
        issued_at INTEGER NOT NULL
      );
      CREATE INDEX transfer_receipts_epoch ON transfer_receipts (epoch);
    `,
  },
] as const;

export interface PublishedRow {
  objectId: string;
  path: string;
  manifest: Uint8Array;
}

export interface DownloadRow {
  id: number;
  manifest: Uint8Array;
  completedAt: number | null;
}

export interface VerifiedPart {
  index: number;
  provider: string;
  bytes: number;
}

export interface Contribution {
  objectId: string;
  provider: string;
  /** Plaintext bytes of parts this provider served and the consumer verified. */
  bytes: number;
  parts: number;
}

export interface StoredReceipt {
  objectId: string;
  provider: string;
  epoch: bigint;
  body: Uint8Array;
  signature: Uint8Array;
}

/** A download as the operator sees it: its manifest and how far it got. */
export interface DownloadProgress {
  objectId: string;
  manifest: Uint8Array;
  startedAt: number;
  completedAt: number | null;
  partsDone: number;
  bytesDone: number;
}

export class TransferStore {
  constructor(private readonly store: Store) {
    store.migrate("transfer", MIGRATIONS);
  }

  private get db() {
    return this.store.db;
  }

  savePublished(row: PublishedRow): void {
    this.db
      .prepare(
        "INSERT INTO transfer_objects (object_id, path, manifest, published_at) VALUES (?, ?, ?, ?) " +
          "ON CONFLICT (object_id) DO UPDATE SET path = excluded.path, manifest = excluded.manifest",
      )
      .run(row.objectId, row.path, row.manifest, Date.now());
  }

  /** Whether a row was removed. */
  removePublished(objectId: string): boolean {
    return Number(this.db.prepare("DELETE FROM transfer_objects WHERE object_id = ?").run(objectId).changes) > 0;
  }

  publishedOne(objectId: string): PublishedRow | undefined {
    const r = this.db.prepare("SELECT path, manifest FROM transfer_objects WHERE object_id = ?").get(objectId) as
      { path: string; manifest: Uint8Array } | undefined;
    return r === undefined ? undefined : { objectId, path: r.path, manifest: new Uint8Array(r.manifest) };
  }

  publishedCount(): number {
    return Number((this.db.prepare("SELECT COUNT(*) AS n FROM transfer_objects").get() as { n: number | bigint }).n);
  }

  download(objectId: string, dest: string): DownloadRow | undefined {
    const r = this.db
      .prepare("SELECT id, manifest, completed_at FROM transfer_downloads WHERE object_id = ? AND dest = ?")
      .get(objectId, dest) as { id: number; manifest: Uint8Array; completed_at: number | null } | undefined;
    return r === undefined
      ? undefined
      : { id: r.id, manifest: new Uint8Array(r.manifest), completedAt: r.completed_at };
  }

  /** Starts (or restarts from nothing) the download of `objectId` into `dest`. */
  beginDownload(objectId: string, dest: string, manifest: Uint8Array): number {
    return this.store.transaction(() => {
      this.db.prepare("DELETE FROM transfer_downloads WHERE object_id = ? AND dest = ?").run(objectId, dest);
      const r = this.db
        .prepare("INSERT INTO transfer_downloads (object_id, dest, manifest, started_at) VALUES (?, ?, ?, ?)")
        .run(objectId, dest, manifest, Date.now());
      return Number(r.lastInsertRowid);
    });
  }

  /** Forgets a download and its progress (its partial file was wrong as a whole). */
  removeDownload(downloadId: number): void {
    this.db.prepare("DELETE FROM transfer_downloads WHERE id = ?").run(downloadId);
  }

  verifiedParts(downloadId: number): VerifiedPart[] {
    return (
      this.db
        .prepare("SELECT part_index, provider, bytes FROM transfer_parts WHERE download_id = ? ORDER BY part_index")
        .all(downloadId) as Array<{ part_index: number; provider: string; bytes: number }>
    ).map((r) => ({ index: r.part_index, provider: r.provider, bytes: r.bytes }));
  }

  forgetPart(downloadId: number, index: number): void {
    this.db.prepare("DELETE FROM transfer_parts WHERE download_id = ? AND part_index = ?").run(downloadId, index);
  }

  /** Records a batch of verified parts (when downloading to a file) and credits their providers. */
  checkpoint(objectId: string, downloadId: number | undefined, parts: readonly VerifiedPart[]): void {
    if (parts.length === 0) return;
    const now = Date.now();
    this.store.transaction(() => {
      if (downloadId !== undefined) {
        const insert = this.db.prepare(
          "INSERT OR REPLACE INTO transfer_parts (download_id, part_index, provider, bytes, verified_at) VALUES (?, ?, ?, ?, ?)",
        );
        for (const p of parts) insert.run(downloadId, p.index, p.provider, p.bytes, now);
      }
      const credit = this.db.prepare(
        "INSERT INTO transfer_contributions (object_id, provider, bytes, parts, updated_at) VALUES (?, ?, ?, ?, ?) " +
          "ON CONFLICT (object_id, provider) DO UPDATE SET bytes = bytes + excluded.bytes, " +
          "parts = parts + excluded.parts, updated_at = excluded.updated_at",
      );
      const byProvider = new Map<string, { bytes: number; parts: number }>();
      for (const p of parts) {
        const c = byProvider.get(p.provider) ?? { bytes: 0, parts: 0 };
        c.bytes += p.bytes;
        c.parts += 1;
        byProvider.set(p.provider, c);
      }
      for (const [provider, c] of byProvider) credit.run(objectId, provider, c.bytes, c.parts, now);
    });
  }

  /** Marks a download complete, drops its per-part progress and stores the receipts, atomically. */
  completeDownload(downloadId: number | undefined, receipts: readonly StoredReceipt[]): void {
    this.store.transaction(() => {
      if (downloadId !== undefined) {
        this.db.prepare("DELETE FROM transfer_parts WHERE download_id = ?").run(downloadId);
        this.db.prepare("UPDATE transfer_downloads SET completed_at = ? WHERE id = ?").run(Date.now(), downloadId);
      }
      this.saveReceipts(receipts);
    });
  }

  saveReceipts(receipts: readonly StoredReceipt[]): void {
    const insert = this.db.prepare(
      "INSERT INTO transfer_receipts (object_id, provider, epoch, body, signature, issued_at) VALUES (?, ?, ?, ?, ?, ?)",
    );
    for (const r of receipts) insert.run(r.objectId, r.provider, r.epoch, r.body, r.signature, Date.now());
  }

  contributions(objectId?: string): Contribution[] {
    const rows = (
      objectId === undefined
        ? this.db.prepare("SELECT * FROM transfer_contributions ORDER BY object_id, provider").all()
        : this.db.prepare("SELECT * FROM transfer_contributions WHERE object_id = ? ORDER BY provider").all(objectId)
    ) as Array<{ object_id: string; provider: string; bytes: number; parts: number }>;
    return rows.map((r) => ({ objectId: r.object_id, provider: r.provider, bytes: r.bytes, parts: r.parts }));
  }

  receipts(filter: { objectId?: string; epoch?: bigint } = {}): StoredReceipt[] {
    const rows = this.db
      .prepare(
        "SELECT object_id, provider, epoch, body, signature FROM transfer_receipts " +
          "WHERE (?1 IS NULL OR object_id = ?1) AND (?2 IS NULL OR epoch = ?2) ORDER BY id",
      )
      .all(filter.objectId ?? null, filter.epoch ?? null) as Array<{
      object_id: string;
      provider: string;
      epoch: number;
      body: Uint8Array;
      signature: Uint8Array;
    }>;
    return rows.map((r) => ({
      objectId: r.object_id,
      provider: r.provider,
      epoch: BigInt(r.epoch),
      body: new Uint8Array(r.body),
      signature: new Uint8Array(r.signature),
    }));
  }

  /** Receipts issued in [fromMs, toMs) (this keeper's clock), in issue order: what the epochs module counts. */
  receiptsBetween(fromMs: number, toMs: number): Array<{ provider: string; body: Uint8Array; signature: Uint8Array }> {
    return (
      this.db
        .prepare(
          "SELECT provider, body, signature FROM transfer_receipts WHERE issued_at >= ? AND issued_at < ? ORDER BY id",
        )
        .all(fromMs, toMs) as Array<{ provider: string; body: Uint8Array; signature: Uint8Array }>
    ).map((r) => ({ provider: r.provider, body: new Uint8Array(r.body), signature: new Uint8Array(r.signature) }));
  }

  /** The latest downloads, newest first, with their verified parts and bytes so far (the operator's view). */
  recentDownloads(limit: number): DownloadProgress[] {
    return (
      this.db
        .prepare(
          "SELECT d.object_id, d.manifest, d.started_at, d.completed_at, " +
            "(SELECT COUNT(*) FROM transfer_parts p WHERE p.download_id = d.id) AS parts_done, " +
            "(SELECT COALESCE(SUM(bytes), 0) FROM transfer_parts p WHERE p.download_id = d.id) AS bytes_done " +
            "FROM transfer_downloads d ORDER BY d.id DESC LIMIT ?",
        )
        .all(limit) as Array<{
        object_id: string;
        manifest: Uint8Array;
        started_at: number;
        completed_at: number | null;
        parts_done: number;
        bytes_done: number;
      }>
    ).map((d) => ({
      objectId: d.object_id,
      manifest: new Uint8Array(d.manifest),
      startedAt: d.started_at,
      completedAt: d.completed_at,
      partsDone: d.parts_done,
      bytesDone: d.bytes_done,
    }));
  }

  /** The latest published objects, newest first. */
  recentPublished(limit: number): Array<{ objectId: string; manifest: Uint8Array; publishedAt: number }> {
    return (
      this.db
        .prepare("SELECT object_id, manifest, published_at FROM transfer_objects ORDER BY published_at DESC LIMIT ?")
        .all(limit) as Array<{ object_id: string; manifest: Uint8Array; published_at: number }>
    ).map((p) => ({ objectId: p.object_id, manifest: new Uint8Array(p.manifest), publishedAt: p.published_at }));
  }

  /** Plaintext bytes verified from providers, over every download. */
  bytesFetched(): number {
    return (this.db.prepare("SELECT COALESCE(SUM(bytes), 0) AS n FROM transfer_contributions").get() as { n: number })
      .n;
  }
}
