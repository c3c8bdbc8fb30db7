/**
 * A keeper killed with SIGKILL comes back with what it had acknowledged: its identity, the tasks it accepted
 * (with their payloads, so they can still be executed) and its per-epoch health counters.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterEach, describe, it } from "node:test";
import { fileURLToPath } from "node:url";

import type { HealthReport } from "../../../keeper/health/index.ts";
import { startKeeper, type Keeper } from "../../../keeper/keeper.ts";
import type { TaskPayload } from "../../../keeper/execution/index.ts";
import { silent } from "../helpers.ts";

const FIXTURE = fileURLToPath(new URL("./fixtures/restart-child.ts", import.meta.url));

interface Ready {
  peerId: string;
  taskId: string;
  payload: TaskPayload;
  epoch: number;
  counters: Record<string, HealthReport[]>;
}

function readyLine(child: ChildProcess): Promise<Ready> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on("line", (line) => {
      if (line.startsWith("READY ")) resolve(JSON.parse(line.slice("READY ".length)) as Ready);
    });
    child.once("exit", (code, signal) => reject(new Error(`keeper child exited before READY (${code ?? signal})`)));
    setTimeout(() => reject(new Error("keeper child not READY within 90 s")), 90_000).unref();
  });
}

describe("keeper restart after SIGKILL", { timeout: 180_000 }, () => {
  const children: ChildProcess[] = [];
  const keepers: Keeper[] = [];
  const dirs: string[] = [];
  afterEach(async () => {
    for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
    await Promise.all(keepers.splice(0).map((k) => k.stop()));
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it("reloads the queued task with its payload, the health counters per epoch and the same identity", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "lumora-restart-"));
    dirs.push(dataDir);
    const child = spawn(process.execPath, ["--import", "tsx", FIXTURE, dataDir], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    children.push(child);
    const ready = await readyLine(child);

    const exited = new Promise<NodeJS.Signals | null>((r) => child.once("exit", (_code, signal) => r(signal)));
    child.kill("SIGKILL");
    assert.equal(await exited, "SIGKILL", "the keeper died without a chance to clean up");

    const keeper = await startKeeper({
      dataDir,
      capabilities: ["coordinator", "consumer"],
      bandwidthBps: 10_000_000,
      capacity: 2,
      rewardAddress: "0x" + "ab".repeat(20),
      logger: silent,
    });
    keepers.push(keeper);

    assert.equal(keeper.peerId.toString(), ready.peerId, "same identity after the restart");

    const stats = keeper.tasks.stats();
    assert.equal(stats.queued, 1, "the acknowledged task is queued again");
    assert.equal(stats.open, 1);
    assert.equal(stats.inflight, 0, "no executor to run it");
    const row = keeper.tasks.taskStore.task(ready.taskId);
    assert.ok(row !== undefined, "the task's row survived");
    assert.equal(row.status, "queued");
    assert.equal(row.priority, 3);
    assert.equal(row.size, ready.payload.size);
    assert.equal(row.consumer, ready.peerId, "the restarted keeper still coordinates it for its consumer");
    assert.ok(row.deadline > Date.now() + 500_000, `deadline kept (${row.deadline - Date.now()} ms left)`);
    assert.deepEqual(
      keeper.payloads.get(ready.taskId),
      ready.payload,
      "its payload survived, so it can still be executed",
    );
    assert.deepEqual(ready.payload, {
      objectId: "5e".repeat(32),
      size: 3 * 1024 * 1024 + 5,
      providers: ["/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN"],
    });

    const e = ready.epoch;
    const expected: Record<number, HealthReport[]> = {
      [e]: [
        { peerId: "12D3KooWPeerA", successes: 2, failures: 1 },
        { peerId: "12D3KooWPeerB", successes: 0, failures: 1 },
      ],
      [e + 1]: [{ peerId: "12D3KooWPeerB", successes: 1, failures: 0 }],
    };
    for (const epoch of [e, e + 1]) {
      assert.deepEqual(ready.counters[epoch], expected[epoch], `epoch ${epoch}: counters before the kill`);
      assert.deepEqual(
        keeper.counters.reports(epoch),
        expected[epoch],
        `epoch ${epoch}: counters unchanged by the restart`,
      );
    }
    assert.deepEqual(keeper.counters.reports(e + 2), [], "no counts appear in other epochs");
  });
});
