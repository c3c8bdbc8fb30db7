import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, it } from "node:test";

import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { keccak256, toUtf8Bytes } from "ethers";

import { openStore, type Store } from "../../../keeper/store/index.ts";
import { TaskManager } from "../../../keeper/tasks/manager.ts";
import {
  epochTaskRecords,
  TASK_RECORD_LEAF_TYPES,
  toLeafValue,
  ZERO_ADDRESS,
  ZERO_BYTES32,
} from "../../../keeper/tasks/records.ts";
import type { TaskOutcome } from "../../../keeper/tasks/types.ts";
import { waitFor } from "../helpers.ts";
import { executorNode, LocalExecutor, payloadResult, silent, spec, table } from "./helpers.ts";

const addresses: Record<string, string> = {
  "consumer-1": "0x1111111111111111111111111111111111111111",
  good: "0x2222222222222222222222222222222222222222",
};

describe("task records for TaskLog", () => {
  let dir: string;
  let store: Store;
  let manager: TaskManager;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "lumora-records-"));
    store = openStore(join(dir, "k.db"));
  });
  afterEach(async () => {
    await manager.stop();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("returns an epoch's finished tasks as TaskRecord values with status 1/2/3", async () => {
    const exec = new LocalExecutor().set("bad", { mode: "fail" });
    const nodes = table(
      [
        executorNode("good", { bandwidth: 9e6 }),
        executorNode("bad", { bandwidth: 1e6, capabilities: ["executor", "provider"] }),
      ],
      0,
    );
    manager = new TaskManager(
      { logger: silent, store, selector: nodes, executeOn: exec.executeOn },
      { maxAttempts: 1 },
    );
    await manager.start();
    const done = new Map<string, TaskOutcome>();
    manager.on("finished", (o) => done.set(o.id, o));
    const from = Date.now();
    await manager.submit(spec({ id: "ok", size: 777 }));
    // Only "bad" advertises "provider", and it fails.
    await manager.submit(spec({ id: "failed", requirements: { capabilities: ["provider"], minBandwidth: 0 } }));
    await manager.submit(spec({ id: "expired", deadline: from - 1 }));
    await waitFor(() => done.size === 3, 15_000, "the three tasks to end");
    manager.taskStore.recordEvidence("ok", "0x" + "ab".repeat(32));

    const records = epochTaskRecords(
      manager.taskStore,
      { fromMs: from, toMs: Date.now() + 1 },
      { addressOf: (p) => addresses[p] },
    );
    const byId = new Map(records.map((r) => [r.taskId, r]));
    const rOk = byId.get(keccak256(toUtf8Bytes("ok")))!;
    assert.equal(rOk.status, 1);
    assert.equal(rOk.consumer, addresses["consumer-1"]);
    assert.equal(rOk.executor, addresses.good);
    assert.equal(rOk.bytesMoved, 777n);
    assert.equal(rOk.dataSha256, "0x" + payloadResult("ok", 777).sha256);
    assert.equal(rOk.attempts, 1);
    assert.equal(rOk.evidence, "0x" + "ab".repeat(32));
    assert.ok(rOk.startedAt <= rOk.endedAt && rOk.endedAt <= BigInt(Math.floor(Date.now() / 1000)));
    const rFailed = byId.get(keccak256(toUtf8Bytes("failed")))!;
    assert.deepEqual(
      [rFailed.status, rFailed.executor, rFailed.bytesMoved, rFailed.dataSha256],
      [2, ZERO_ADDRESS, 0n, ZERO_BYTES32],
    );
    const rExpired = byId.get(keccak256(toUtf8Bytes("expired")))!;
    assert.deepEqual([rExpired.status, rExpired.attempts, rExpired.startedAt], [3, 0, 0n]);
    // The values build a StandardMerkleTree of TaskLog's leaf types.
    const tree = StandardMerkleTree.of(records.map(toLeafValue), [...TASK_RECORD_LEAF_TYPES]);
    assert.equal(tree.length, 3);
    // Outside the window: nothing.
    assert.deepEqual(
      epochTaskRecords(manager.taskStore, { fromMs: 0, toMs: from }, { addressOf: () => undefined }),
      [],
    );
  });
});
