/**
 * Per-epoch success/failure counters per node, persisted in the store (namespace "health"). They are the
 * inputs of Reputation.applyReports: Report { node, successes, failures }.
 */
import type { Store } from "../store/index.ts";

export interface HealthReport {
  peerId: string;
  successes: number;
  failures: number;
}

export class HealthCounters {
  constructor(private readonly store: Store) {
    store.migrate("health", [
      {
        version: 1,
        up:
          "CREATE TABLE health_counters (epoch INTEGER NOT NULL, peer_id TEXT NOT NULL, " +
          "successes INTEGER NOT NULL DEFAULT 0, failures INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (epoch, peer_id))",
      },
    ]);
  }

  record(epoch: number, peerId: string, ok: boolean): void {
    const col = ok ? "successes" : "failures";
    this.store.db
      .prepare(
        `INSERT INTO health_counters (epoch, peer_id, ${col}) VALUES (?, ?, 1) ` +
          `ON CONFLICT (epoch, peer_id) DO UPDATE SET ${col} = ${col} + 1`,
      )
      .run(epoch, peerId);
  }

  get(epoch: number, peerId: string): HealthReport {
    const row = this.store.db
      .prepare("SELECT successes, failures FROM health_counters WHERE epoch = ? AND peer_id = ?")
      .get(epoch, peerId) as { successes: number; failures: number } | undefined;
    return { peerId, successes: row?.successes ?? 0, failures: row?.failures ?? 0 };
  }

  /** Every node with a count in `epoch`, ordered by peer id (deterministic for the epoch module). */
  reports(epoch: number): HealthReport[] {
    return (
      this.store.db
        .prepare("SELECT peer_id, successes, failures FROM health_counters WHERE epoch = ? ORDER BY peer_id")
        .all(epoch) as { peer_id: string; successes: number; failures: number }[]
    ).map((r) => ({ peerId: r.peer_id, successes: r.successes, failures: r.failures }));
  }
}
