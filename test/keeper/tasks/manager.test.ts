import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, it } from "node:test";

import type { RoutingTable } from "../../../keeper/routing/table.ts";
import { openStore, type Store } from "../../../keeper/store/index.ts";
import { TaskDuplicateError, TaskInvalidError, TaskManagerStoppedError } from "../../../keeper/tasks/errors.ts";
import { TaskManager, type TaskManagerInit } from "../../../keeper/tasks/manager.ts";
import { toTaskLogRecord } from "../../../keeper/tasks/records.ts";
import type { TaskRow } from "../../../keeper/tasks/store.ts";
import type { PeerLiveness, TaskOutcome } from "../../../keeper/tasks/types.ts";
import { waitFor } from "../helpers.ts";
import { executorNode, LocalExecutor, payloadResult, silent, spec, table } from "./helpers.ts";

describe("task manager", () => {
  let dir: string;
  let store: Store;
  let managers: TaskManager[];
  let exec: LocalExecutor;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "lumora-tasks-"));
    store = openStore(join(dir, "k.db"));
    managers = [];
    exec = new LocalExecutor();
  });
  afterEach(async () => {
    for (const m of managers) await m.stop();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function manager(selector: RoutingTable, init: TaskManagerInit = {}, s: Store = store): Promise<TaskManager> {
    const m = new TaskManager({ logger: silent, store: s, selector, executeOn: exec.executeOn }, init);
    managers.push(m);
    await m.start();
    return m;
  }

  function outcome(m: TaskManager, id: string): Promise<TaskOutcome> {
    return new Promise((resolve) => {
      const on = (o: TaskOutcome) => {
        if (o.id !== id) return;
        m.off("finished", on);
        resolve(o);
      };
      m.on("finished", on);
    });
  }

  const attempts = (id: string) =>
    store.db
      .prepare(
        "SELECT attempt, executor, outcome, reason, started_at, ended_at FROM task_attempts WHERE task_id = ? ORDER BY attempt",
      )
      .all(id) as {
      attempt: number;
      executor: string;
      outcome: string;
      reason: string | null;
      started_at: number;
      ended_at: number | null;
    }[];
  const row = (id: string) => store.db.prepare("SELECT * FROM tasks WHERE id = ?").get(id) as Record<string, unknown>;

  it("assigns a task to the best executor with backups and records its execution", async () => {
    const nodes = table([
      executorNode("best", { bandwidth: 100e6 }),
      executorNode("second", { bandwidth: 50e6 }),
      executorNode("third", { bandwidth: 20e6 }),
      executorNode("worst", { bandwidth: 1e6 }),
    ]);
    const m = await manager(nodes);
    const t = spec({ size: 4096 });
    const done = outcome(m, t.id);
    await m.submit(t);
    assert.deepEqual(await done, { id: t.id, status: "succeeded", executor: "best", attempts: 1, reason: undefined });
    const r = row(t.id);
    assert.equal(r.status, "succeeded");
    assert.equal(r.executor, "best");
    const chosen = store.db.prepare("SELECT executor, backups FROM task_attempts WHERE task_id = ?").get(t.id) as {
      executor: string;
      backups: string;
    };
    assert.equal(chosen.executor, "best");
    assert.deepEqual(JSON.parse(chosen.backups), ["second", "third"]);
    assert.equal(r.bytes, 4096);
    assert.equal(r.sha256, payloadResult(t.id, 4096).sha256);
    assert.equal(r.evidence, payloadResult(t.id, 4096).evidence, "the executor's evidence hash is the task's");
    assert.equal(r.consumer, "consumer-1");
    assert.ok((r.started_at as number) <= (r.ended_at as number));
    const a = attempts(t.id);
    assert.equal(a.length, 1);
    assert.equal(a[0]!.outcome, "succeeded");
    assert.equal(nodes.get("best")!.load, 0, "capacity released");
  });

  it("reassigns to the first backup when the primary fails, recording the failed attempt", async () => {
    exec.set("best", { mode: "fail" });
    const m = await manager(
      table([executorNode("best", { bandwidth: 100e6 }), executorNode("backup", { bandwidth: 50e6 })]),
    );
    const t = spec();
    const done = outcome(m, t.id);
    await m.submit(t);
    const o = await done;
    assert.equal(o.status, "succeeded");
    assert.equal(o.executor, "backup");
    const a = attempts(t.id);
    assert.deepEqual(
      a.map((x) => [x.attempt, x.executor, x.outcome]),
      [
        [1, "best", "failed"],
        [2, "backup", "succeeded"],
      ],
    );
    assert.match(a[0]!.reason!, /refused/);
    assert.ok(a[0]!.ended_at !== null && a[0]!.ended_at <= a[1]!.started_at);
    assert.equal(row(t.id).attempts, 2);
  });

  it("reassigns on timeout and aborts the timed-out attempt's signal", async () => {
    exec.set("slow", { mode: "hang" });
    const m = await manager(table([executorNode("slow", { bandwidth: 100e6 }), executorNode("backup")]), {
      attemptTimeoutMs: 40,
    });
    const t = spec();
    const done = outcome(m, t.id);
    await m.submit(t);
    const o = await done;
    assert.equal(o.executor, "backup");
    assert.deepEqual(
      attempts(t.id).map((x) => x.outcome),
      ["timeout", "succeeded"],
    );
    assert.deepEqual(exec.aborted, [{ taskId: t.id, peerId: "slow", reason: "TaskAttemptTimeoutError" }]);
  });

  it("reassigns when the executor disconnects", async () => {
    exec.set("gone", { mode: "hang" });
    const m = await manager(table([executorNode("gone", { bandwidth: 100e6 }), executorNode("backup")]));
    const t = spec();
    const done = outcome(m, t.id);
    await m.submit(t);
    while (m.stats().inflight === 0) await new Promise((r) => setImmediate(r));
    assert.equal(m.peerDisconnected("gone"), 1);
    assert.equal((await done).executor, "backup");
    assert.deepEqual(
      attempts(t.id).map((x) => [x.executor, x.outcome]),
      [
        ["gone", "disconnected"],
        ["backup", "succeeded"],
      ],
    );
  });

  it("bounds retries: the task fails after maxAttempts failed attempts on distinct executors", async () => {
    const nodes = Array.from({ length: 6 }, (_, i) => executorNode(`n${i}`, { bandwidth: (10 - i) * 1e6 }));
    for (const n of nodes) exec.set(n.peerId, { mode: "fail" });
    const m = await manager(table(nodes), { maxAttempts: 4 });
    const t = spec();
    const done = outcome(m, t.id);
    await m.submit(t);
    const o = await done;
    assert.equal(o.status, "failed");
    assert.equal(o.attempts, 4);
    assert.match(o.reason!, /attempts exhausted/);
    const a = attempts(t.id);
    assert.deepEqual(
      a.map((x) => x.executor),
      ["n0", "n1", "n2", "n3"],
      "primary, both backups, then a fresh selection",
    );
    for (const x of a) assert.equal(x.outcome, "failed", `attempt ${x.attempt}`);
    const r = row(t.id);
    assert.equal(r.status, "failed");
    assert.equal(r.executor, null);
  });

  it("fails when no executor is left to try before maxAttempts", async () => {
    exec.set("only", { mode: "fail" });
    const m = await manager(table([executorNode("only")]), { maxAttempts: 3, sweepIntervalMs: 10 });
    const t = spec({ deadline: Date.now() + 150 });
    const done = outcome(m, t.id);
    await m.submit(t);
    const o = await done;
    assert.equal(o.status, "expired", "waits for a new executor until the deadline, then expires");
    assert.equal(attempts(t.id).length, 1);
  });

  it("expires a task whose deadline passed while queued", async () => {
    const m = await manager(table([executorNode("a")]));
    const t = spec({ deadline: Date.now() - 1 });
    const done = outcome(m, t.id);
    await m.submit(t);
    assert.equal((await done).status, "expired");
    assert.equal(row(t.id).status, "expired");
    assert.equal(attempts(t.id).length, 0);
  });

  it("balances load by capacity: never more in flight on a node than it accepts", async () => {
    for (const id of ["a", "b", "c"]) exec.set(id, { mode: "hang" });
    const nodes = table([
      executorNode("a", { capacity: 1 }),
      executorNode("b", { capacity: 2 }),
      executorNode("c", { capacity: 1 }),
    ]);
    const m = await manager(nodes);
    const specs = Array.from({ length: 6 }, () => spec());
    await Promise.all(specs.map((s) => m.submit(s)));
    await waitFor(() => m.stats().inflight >= 4, 15_000, "four tasks in flight");
    // Let the manager run a few more ticks: had it over-assigned, inflight would now exceed the capacity.
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(m.stats().inflight, 4, "four slots in the network");
    assert.equal(m.stats().queued, 2, "the rest wait for capacity");
    const perNode = new Map<string, number>();
    for (const c of exec.calls) perNode.set(c.peerId, (perNode.get(c.peerId) ?? 0) + 1);
    assert.deepEqual(Object.fromEntries(perNode), { a: 1, b: 2, c: 1 });
    // A new node joins: the queued tasks go to it.
    nodes.upsert(executorNode("d", { capacity: 4 }));
    const rest = specs.slice(4).map((s) => outcome(m, s.id));
    m.wake();
    for (const o of await Promise.all(rest)) assert.equal(o.executor, "d", `task ${o.id} on the new node`);
  });

  it("respects priority then deadline when capacity is scarce", async () => {
    const nodes = table([executorNode("solo", { capacity: 1 })], 0);
    exec.set("solo", { mode: "ok", delayMs: 5 });
    const m = await manager(nodes);
    const order: string[] = [];
    m.on("finished", (o) => order.push(o.id));
    const now = Date.now();
    const low = spec({ id: "low", priority: 0 });
    const highLate = spec({ id: "high-late", priority: 9, deadline: now + 50_000 });
    const highEarly = spec({ id: "high-early", priority: 9, deadline: now + 10_000 });
    await Promise.all([m.submit(low), m.submit(highLate), m.submit(highEarly)]);
    await waitFor(() => order.length === 3, 15_000, "the three tasks to finish");
    assert.deepEqual(order, ["high-early", "high-late", "low"]);
  });

  it("never routes to flagged executors or those lacking a required capability", async () => {
    const nodes = table([
      executorNode("flagged", { bandwidth: 100e6, flagged: true }),
      executorNode("provider", { bandwidth: 90e6, capabilities: ["provider"] }),
      executorNode("thin", { bandwidth: 1e3 }),
      executorNode("ok", { bandwidth: 1e6 }),
    ]);
    const m = await manager(nodes);
    const t = spec({ requirements: { capabilities: ["executor"], minBandwidth: 1e4 } });
    const done = outcome(m, t.id);
    await m.submit(t);
    assert.equal((await done).executor, "ok");
    const chosen = store.db.prepare("SELECT backups FROM task_attempts WHERE task_id = ?").get(t.id) as {
      backups: string;
    };
    assert.deepEqual(JSON.parse(chosen.backups), [], "no other eligible executor to back it up");
  });

  it("rejects invalid and duplicate tasks and submissions after stop", async () => {
    const m = await manager(table([executorNode("a")]));
    await assert.rejects(m.submit(spec({ size: -1 })), TaskInvalidError);
    await assert.rejects(m.submit(spec({ deadline: NaN })), TaskInvalidError);
    await assert.rejects(m.submit(spec({ requirements: { capabilities: [], minBandwidth: -5 } })), TaskInvalidError);
    const t = spec();
    const done = outcome(m, t.id);
    await m.submit(t);
    await assert.rejects(m.submit(t), TaskDuplicateError);
    await done;
    await assert.rejects(m.submit(t), TaskDuplicateError, "finished tasks stay known");
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(m.submit(spec(), { signal: ac.signal }), { name: "AbortError" });
    await m.stop();
    await assert.rejects(m.submit(spec()), TaskManagerStoppedError);
  });

  it("on restart re-queues in-flight tasks as a new attempt, recording the old one as interrupted", async () => {
    exec.set("a", { mode: "hang" });
    const nodes = table([executorNode("a", { bandwidth: 100e6 }), executorNode("b")]);
    const first = await manager(nodes);
    const t = spec();
    await first.submit(t);
    while (first.stats().inflight === 0) await new Promise((r) => setImmediate(r));
    await first.stop();
    assert.equal(row(t.id).status, "running");
    exec.set("a", { mode: "ok" });
    const second = new TaskManager({ logger: silent, store, selector: nodes, executeOn: exec.executeOn });
    managers.push(second);
    const done = outcome(second, t.id);
    await second.start();
    const o = await done;
    assert.equal(o.status, "succeeded");
    assert.equal(o.executor, "a", "an interrupted executor is not blamed, so it may run the task again");
    assert.deepEqual(
      attempts(t.id).map((x) => [x.attempt, x.executor, x.outcome]),
      [
        [1, "a", "interrupted"],
        [2, "a", "succeeded"],
      ],
    );
  });

  describe("providers and liveness", () => {
    const status = new Map<string, PeerLiveness>();
    beforeEach(() => status.clear());
    async function withLiveness(selector: RoutingTable, init: TaskManagerInit = {}): Promise<TaskManager> {
      const m = new TaskManager(
        { logger: silent, store, selector, executeOn: exec.executeOn, providerStatus: (p) => status.get(p) },
        init,
      );
      managers.push(m);
      await m.start();
      return m;
    }

    it("never makes a provider the executor while another executor is eligible", async () => {
      // The provider is by far the best-scored node: without the rule routing would choose it.
      const m = await withLiveness(
        table([executorNode("prov", { bandwidth: 1e9 }), executorNode("other", { bandwidth: 1e6 })]),
      );
      const t = spec({ size: 4096, providers: ["prov"] });
      const done = outcome(m, t.id);
      await m.submit(t);
      assert.deepEqual(await done, {
        id: t.id,
        status: "succeeded",
        executor: "other",
        attempts: 1,
        reason: undefined,
      });
      assert.equal(row(t.id).bytes, 4096);
      const chosen = store.db.prepare("SELECT backups FROM task_attempts WHERE task_id = ?").get(t.id) as {
        backups: string;
      };
      assert.deepEqual(JSON.parse(chosen.backups), [], "the provider is not even a backup");
    });

    it("uses a provider only when no other executor exists, says so and records 0 bytes moved", async () => {
      const m = await withLiveness(table([executorNode("prov")]));
      const t = spec({ size: 4096, providers: ["prov"] });
      const done = outcome(m, t.id);
      await m.submit(t);
      const o = await done;
      assert.equal(o.status, "succeeded");
      assert.equal(o.executor, "prov");
      assert.match(o.reason ?? "", /is a provider of the object .* nothing moved \(0 bytes recorded\)/);
      const r = store.db.prepare("SELECT * FROM tasks WHERE id = ?").get(t.id) as unknown as TaskRow;
      assert.equal(r.bytes, 0, "the executor claimed 4096 bytes; the record says 0");
      assert.match(r.reason ?? "", /is a provider/);
      const record = toTaskLogRecord(r, { addressOf: () => undefined });
      assert.equal(record.bytesMoved, 0n, "TaskLog's bytesMoved is 0");
      assert.match(attempts(t.id)[0]!.reason ?? "", /is a provider/);
    });

    it("fails at once with 'no live provider' when every provider failed its health checks", async () => {
      status.set("p1", "failed").set("p2", "failed");
      const m = await withLiveness(table([executorNode("a")]));
      const t = spec({ providers: ["p1", "p2"], deadline: Date.now() + 120_000 });
      const done = outcome(m, t.id);
      const submitted = Date.now();
      await m.submit(t);
      const o = await done;
      assert.equal(o.status, "failed");
      assert.match(o.reason ?? "", /^no live provider: every provider failed its health checks \(p1, p2\)/);
      assert.ok(Date.now() - submitted < 5_000, "long before the deadline");
      assert.equal(attempts(t.id).length, 0, "no executor was bothered");
      assert.equal(exec.calls.length, 0);
    });

    it("keeps routing while one provider may be alive", async () => {
      status.set("p1", "failed").set("p2", "suspect");
      const m = await withLiveness(table([executorNode("a")]));
      const t = spec({ providers: ["p1", "p2"] });
      const done = outcome(m, t.id);
      await m.submit(t);
      assert.equal((await done).status, "succeeded");
    });

    it("fails at once when the executor reached no provider and none is alive here", async () => {
      status.set("p1", "suspect");
      exec.set("a", { mode: "no-provider" });
      // A second executor exists: the task still fails at once rather than trying it (or waiting for a deadline).
      const m = await withLiveness(table([executorNode("a", { bandwidth: 1e9 }), executorNode("b")]));
      const t = spec({ providers: ["p1"], deadline: Date.now() + 120_000 });
      const done = outcome(m, t.id);
      await m.submit(t);
      const o = await done;
      assert.equal(o.status, "failed");
      assert.match(o.reason ?? "", /^no live provider: executor a reached none and none is alive here/);
      assert.equal(attempts(t.id).length, 1);
    });

    it("reassigns when the executor reached no provider but one is alive here", async () => {
      status.set("p1", "alive");
      exec.set("a", { mode: "no-provider" });
      const m = await withLiveness(table([executorNode("a", { bandwidth: 1e9 }), executorNode("b")]));
      const t = spec({ providers: ["p1"] });
      const done = outcome(m, t.id);
      await m.submit(t);
      const o = await done;
      assert.equal(o.status, "succeeded");
      assert.equal(o.executor, "b");
    });

    it("says which requirement no executor met when a task expires queued", async () => {
      const m = await withLiveness(table([executorNode("a", { capabilities: ["provider"] })]), { sweepIntervalMs: 10 });
      const t = spec({ deadline: Date.now() + 200 });
      const done = outcome(m, t.id);
      await m.submit(t);
      const o = await done;
      assert.equal(o.status, "expired");
      assert.match(
        o.reason ?? "",
        /^deadline passed while queued: no available executor met the requirements \(capabilities: executor; bandwidth ≥ 0 B\/s/,
      );
      assert.equal(row(t.id).reason, o.reason);
    });

    it("names the executors already tried when the last one failed and no other is left", async () => {
      exec.set("only", { mode: "fail" });
      const m = await withLiveness(table([executorNode("only")]), { sweepIntervalMs: 10 });
      const t = spec({ deadline: Date.now() + 200 });
      const done = outcome(m, t.id);
      await m.submit(t);
      const o = await done;
      assert.equal(o.status, "expired");
      assert.match(o.reason ?? "", /1 excluded after failing \(only\)/);
    });

    it("keeps a task's providers across a restart", async () => {
      const m = await withLiveness(table([]));
      const t = spec({ providers: ["p1", "p2"] });
      await m.submit(t);
      await m.stop();
      assert.deepEqual(JSON.parse((row(t.id) as { providers: string }).providers), ["p1", "p2"]);
      status.set("p1", "failed").set("p2", "failed");
      const again = await withLiveness(table([executorNode("a")]));
      const done = outcome(again, t.id);
      again.wake();
      assert.match((await done).reason ?? "", /^no live provider/);
    });
  });
});
