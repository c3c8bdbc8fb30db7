import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { runsBefore, TaskQueue } from "../../../keeper/tasks/queue.ts";
import { rng } from "../routing/helpers.ts";

type Item = { priority: number; deadline: number; seq: number };

describe("task queue", () => {
  it("orders by priority, then deadline, then submission order", () => {
    const q = new TaskQueue<Item & { name: string }>();
    q.push({ name: "low", priority: 0, deadline: 1, seq: 1 });
    q.push({ name: "high-late", priority: 5, deadline: 900, seq: 2 });
    q.push({ name: "high-early", priority: 5, deadline: 100, seq: 3 });
    q.push({ name: "high-early-second", priority: 5, deadline: 100, seq: 4 });
    q.push({ name: "mid", priority: 1, deadline: 1, seq: 5 });
    const out: string[] = [];
    for (let t = q.pop(); t !== undefined; t = q.pop()) out.push(t.name);
    assert.deepEqual(out, ["high-early", "high-early-second", "high-late", "mid", "low"]);
  });

  it("pops in the same order as a full sort on random input", () => {
    const r = rng(3);
    const q = new TaskQueue<Item>();
    const items: Item[] = [];
    for (let i = 0; i < 5000; i++) {
      const it = { priority: Math.floor(r() * 4), deadline: Math.floor(r() * 50), seq: i };
      items.push(it);
      q.push(it);
    }
    const sorted = [...items].sort((a, b) => (runsBefore(a, b) ? -1 : runsBefore(b, a) ? 1 : 0));
    for (let i = 0; i < sorted.length; i++) assert.equal(q.pop(), sorted[i], `position ${i}`);
    assert.equal(q.pop(), undefined);
  });

  it("removes matching items and keeps the heap order", () => {
    const q = new TaskQueue<Item>();
    for (let i = 0; i < 20; i++) q.push({ priority: i % 3, deadline: 0, seq: i });
    const removed = q.removeWhere((t) => t.seq % 2 === 0);
    assert.equal(removed.length, 10);
    let prev = q.pop()!;
    for (let t = q.pop(); t !== undefined; prev = t, t = q.pop())
      assert.ok(!runsBefore(t, prev), `order at seq ${t.seq}`);
  });
});
