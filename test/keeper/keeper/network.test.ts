/**
 * Keepers composed end to end on 127.0.0.1: discovery through the DHT, routing, a transfer task executed by a
 * routed executor, and reassignment to a backup when the executor dies mid-task.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";

import { createLogger } from "../../../keeper/logger.ts";
import { startKeeper, type Keeper } from "../../../keeper/keeper.ts";
import { taskLogId } from "../../../keeper/tasks/index.ts";
import type { Capability } from "../../../keeper/types.ts";

const logger = createLogger("test", { level: process.env.LUMORA_LOG_LEVEL === undefined ? "silent" : undefined });

async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("keeper network", { timeout: 360_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "lumora-keepers-"));
  const keepers: Keeper[] = [];
  const start = async (
    i: number,
    capabilities: Capability[],
    extra: { executionDelayMs?: number; bandwidthBps?: number } = {},
  ) => {
    const k = await startKeeper({
      dataDir: join(dir, `k${i}`),
      bootstrap: keepers.length > 0 ? [keepers[0]!.addresses[0]!] : [],
      capabilities,
      bandwidthBps: extra.bandwidthBps ?? 100_000_000,
      capacity: 4,
      rewardAddress: "0x" + (i + 1).toString(16).padStart(40, "0"),
      attemptTimeoutMs: 20_000,
      dhtQuerySelfIntervalMs: 500,
      routingRefreshMs: 500,
      executionDelayMs: extra.executionDelayMs,
      logger: logger.child(`k${i}`),
    });
    keepers.push(k);
    return k;
  };

  before(async () => {
    await start(0, ["coordinator", "consumer"]);
    await start(1, ["provider"]);
    // Executors: 2 is slow (so it is still working when we kill it), 3 and 4 are backups.
    await start(2, ["executor"], { executionDelayMs: 1_500, bandwidthBps: 1_000_000_000 });
    await start(3, ["executor"]);
    await start(4, ["executor"]);
  });
  after(async () => {
    await Promise.all(keepers.map((k) => k.stop()));
    rmSync(dir, { recursive: true, force: true });
  });

  it("finds every other keeper's signed record through the DHT", async () => {
    const coordinator = keepers[0]!;
    await until("records of all keepers", async () => {
      await coordinator.refreshRouting({ refreshDirectory: true });
      return coordinator.discovery.peers().filter((r) => r.peerId !== coordinator.peerId.toString()).length >= 4;
    });
    const known = new Set(coordinator.discovery.peers().map((r) => r.peerId));
    for (const k of keepers.slice(1)) assert.ok(known.has(k.peerId.toString()), `record of ${k.peerId} found`);
  });

  it("completes a transfer task on a backup when the executor dies mid-task, and records the reassignment", async () => {
    const [coordinator, provider, slow] = keepers as [Keeper, Keeper, Keeper];
    const file = join(dir, "object.bin");
    writeFileSync(file, randomBytes(3 * 1024 * 1024 + 17));
    const published = await provider.publish(file);
    await until("executors routable", async () => {
      await coordinator.refreshRouting({ refreshDirectory: true });
      return ["executor"].every(() => coordinator.routing.isAvailable(slow.peerId.toString()));
    });
    const outcome = coordinator.requestTransfer({
      objectId: published.objectId,
      size: published.size,
      providers: [provider.addresses[0]!],
      id: "task-reassign",
    });
    // The highest-bandwidth executor (the slow one) is chosen first; kill it once it accepted.
    await until("slow executor running the task", () => slow.execution.load > 0, 15_000);
    await slow.stop();
    const result = await outcome;
    assert.equal(result.status, "succeeded", `task ended ${result.status}: ${result.reason}`);
    assert.notEqual(result.executor, slow.peerId.toString());
    assert.ok(result.attempts >= 2, `attempts ${result.attempts}`);
    const row = coordinator.tasks.taskStore.task("task-reassign");
    assert.equal(row?.status, "succeeded");
    assert.equal(row?.sha256, published.objectId);
    const attempts = coordinator.tasks.taskStore.attemptsOf("task-reassign");
    assert.equal(attempts[0]?.executor, slow.peerId.toString());
    assert.notEqual(attempts[0]?.outcome, "succeeded");
    assert.equal(attempts.at(-1)?.outcome, "succeeded");
  });

  it("closes an epoch whose task records include the tasks other keepers coordinated", async () => {
    const [coordinator, provider] = keepers as [Keeper, Keeper];
    const other = keepers[3]!; // an executor that also coordinates a task of its own
    const file = join(dir, "second.bin");
    writeFileSync(file, randomBytes(512 * 1024));
    const published = await provider.publish(file);
    await until("the other coordinator routes to executors", async () => {
      await other.refreshRouting({ refreshDirectory: true });
      return other.discovery.peers().length >= 4;
    });
    const outcome = await other.requestTransfer({
      objectId: published.objectId,
      size: published.size,
      providers: [provider.addresses[0]!],
      id: "task-elsewhere",
    });
    assert.equal(outcome.status, "succeeded", `${outcome.status}: ${outcome.reason}`);
    // A close covers the tasks that ended before it began (one that ends in the very millisecond of a close is
    // logged in the next epoch).
    const endedAt = other.tasks.taskStore.task("task-elsewhere")!.ended_at!;
    await until("the task's end to be in the past", () => Date.now() > endedAt);
    const closed = await coordinator.closeEpoch();
    const ids = closed.built.bundle.tasks.map((v) => v[0]);
    assert.ok(ids.includes(taskLogId("task-reassign")), "the closing keeper's own task is logged");
    assert.ok(ids.includes(taskLogId("task-elsewhere")), "the other coordinator's task is logged too");
    assert.equal(new Set(ids).size, ids.length, "each task once");
  });
});
