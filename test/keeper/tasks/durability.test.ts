import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, it } from "node:test";

import { openStore, type Store } from "../../../keeper/store/index.ts";
import { TaskManager } from "../../../keeper/tasks/manager.ts";
import type { TaskOutcome } from "../../../keeper/tasks/types.ts";
import { executorNode, LocalExecutor, silent, table } from "./helpers.ts";

const child = fileURLToPath(new URL("./fixtures/durability-child.ts", import.meta.url));

/** Runs the child until it acknowledged at least `minAcked` tasks and has attempts in flight, then SIGKILLs it. */
function runAndKill(dbPath: string, minAcked: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ["--import", "tsx", child, dbPath], { stdio: ["ignore", "pipe", "inherit"] });
    let acked = 0;
    let inflight = 0;
    let buffer = "";
    let killed = false;
    proc.stdout.on("data", (chunk: Buffer) => {
      buffer += chunk.toString();
      let nl: number;
      while ((nl = buffer.indexOf("\n")) >= 0) {
        const [kind, value] = buffer.slice(0, nl).split(" ");
        buffer = buffer.slice(nl + 1);
        if (kind === "acked") acked = Number(value);
        if (kind === "inflight") inflight = Number(value);
      }
      if (!killed && acked >= minAcked && inflight > 0) {
        killed = true;
        proc.kill("SIGKILL");
      }
    });
    proc.on("exit", (_code, signal) => {
      if (signal === "SIGKILL") resolve(acked);
      else reject(new Error(`child exited without being killed (code ${_code})`));
    });
  });
}

describe("task manager durability", () => {
  let dir: string;
  let store: Store | undefined;
  let manager: TaskManager | undefined;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "lumora-tasks-kill-"));
  });
  afterEach(async () => {
    await manager?.stop();
    store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it(
    "keeps every acknowledged task across SIGKILL and re-queues the in-flight ones on restart",
    { timeout: 180_000 },
    async () => {
      const path = join(dir, "keeper.db");
      const acked = await runAndKill(path, 500);
      store = openStore(path);
      const rows = store.db.prepare("SELECT id, status, attempts FROM tasks").all() as {
        id: string;
        status: string;
        attempts: number;
      }[];
      const byId = new Map(rows.map((r) => [r.id, r]));
      for (let i = 0; i < acked; i++) assert.ok(byId.has(`t${i}`), `acknowledged task t${i} survived the kill`);
      const inFlight = rows.filter((r) => r.status === "assigned" || r.status === "running");
      assert.equal(inFlight.length, 20, "4 executors × capacity 5 were busy when the process died");
      for (const r of inFlight) {
        const unended: unknown[] = store.db
          .prepare("SELECT outcome FROM task_attempts WHERE task_id = ? AND ended_at IS NULL")
          .all(r.id);
        assert.equal(unended.length, 1, `task ${r.id} has its running attempt on disk`);
      }

      // Restart: every task finishes, the interrupted attempts are recorded as such.
      const exec = new LocalExecutor();
      const nodes = table(Array.from({ length: 4 }, (_, i) => executorNode(`exec-${i}`, { capacity: 50 })));
      manager = new TaskManager({ logger: silent, store, selector: nodes, executeOn: exec.executeOn });
      const finished = new Map<string, TaskOutcome>();
      const all = new Promise<void>((resolve) =>
        manager!.on("finished", (o) => {
          finished.set(o.id, o);
          if (finished.size === rows.length) resolve();
        }),
      );
      await manager.start();
      await all;
      for (const r of rows)
        assert.equal(finished.get(r.id)?.status, "succeeded", `task ${r.id} succeeded after restart`);
      for (const r of inFlight) {
        const outcomes = store.db
          .prepare("SELECT outcome FROM task_attempts WHERE task_id = ? ORDER BY attempt")
          .all(r.id) as { outcome: string }[];
        assert.deepEqual(
          outcomes.map((o) => o.outcome),
          ["interrupted", "succeeded"],
          `attempts of ${r.id}`,
        );
      }
    },
  );
});
