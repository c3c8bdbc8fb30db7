/**
 * What a transfer task moves (object id, size, providers), kept next to the task manager's own rows so that a
 * restarted coordinator can still execute the tasks it reloads.
 */
import type { StatementSync } from "node:sqlite";

import type { Store } from "../store/index.ts";
import { TaskPayloadMissingError } from "./errors.ts";

export interface TaskPayload {
  /** The transfer object id (docs/PROTOCOL.md §7), 64 hex digits. */
  objectId: string;
  size: number;
  /** Multiaddrs (with /p2p) or peer ids of the object's providers. */
  providers: string[];
}

export const EXECUTION_NAMESPACE = "execution";

export class TaskPayloads {
  private readonly insert: StatementSync;
  private readonly select: StatementSync;

  constructor(store: Store) {
    store.migrate(EXECUTION_NAMESPACE, [
      {
        version: 1,
        up: "CREATE TABLE task_payloads (task_id TEXT PRIMARY KEY, object_id TEXT NOT NULL, size INTEGER NOT NULL, providers TEXT NOT NULL)",
      },
    ]);
    this.insert = store.db.prepare(
      "INSERT OR REPLACE INTO task_payloads (task_id, object_id, size, providers) VALUES (?, ?, ?, ?)",
    );
    this.select = store.db.prepare("SELECT object_id, size, providers FROM task_payloads WHERE task_id = ?");
  }

  /** Durably records a task's payload (call before submitting the task). */
  put(taskId: string, payload: TaskPayload): void {
    this.insert.run(taskId, payload.objectId, payload.size, JSON.stringify(payload.providers));
  }

  get(taskId: string): TaskPayload {
    const row = this.select.get(taskId) as { object_id: string; size: number; providers: string } | undefined;
    if (row === undefined) throw new TaskPayloadMissingError(taskId);
    return { objectId: row.object_id, size: row.size, providers: JSON.parse(row.providers) as string[] };
  }
}

/** The peer id a provider entry names (`/…/p2p/<id>` or a bare peer id); undefined for a multiaddr without one. */
export function providerPeerId(provider: string): string | undefined {
  if (!provider.startsWith("/")) return provider;
  const at = provider.lastIndexOf("/p2p/");
  if (at < 0) return undefined;
  const id = provider.slice(at + "/p2p/".length).split("/")[0];
  return id === "" ? undefined : id;
}

/** Distinct peer ids of a payload's providers (what the task manager avoids as executors and checks for life). */
export function providerPeerIds(providers: readonly string[]): string[] {
  const ids = new Set<string>();
  for (const p of providers) {
    const id = providerPeerId(p);
    if (id !== undefined) ids.add(id);
  }
  return [...ids];
}
