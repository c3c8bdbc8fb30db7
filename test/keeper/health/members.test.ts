import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { GossipQueue } from "../../../keeper/health/gossip.ts";
import { Members } from "../../../keeper/health/members.ts";
import { RelayBudget } from "../../../keeper/health/relay-budget.ts";

describe("health membership (pure)", () => {
  it("probes every member once per pass, in a fresh order each pass, newcomers included", () => {
    const m = new Members();
    for (const id of ["a", "b", "c", "d"]) m.add(id);
    const pass = () => Array.from({ length: m.size }, () => m.nextTarget()!.peerId).sort();
    assert.deepEqual(pass(), ["a", "b", "c", "d"]);
    assert.deepEqual(pass(), ["a", "b", "c", "d"]);
    m.add("e");
    m.remove("a");
    // Wherever the cursor stands, k passes' worth of picks probe each member k − 1 to k + 1 times.
    const picks = Array.from({ length: 10 * m.size }, () => m.nextTarget()!.peerId);
    for (const id of ["b", "c", "d", "e"]) {
      const n = picks.filter((p) => p === id).length;
      assert.ok(n >= 9 && n <= 11, `${id} probed ${n} times in 10 passes`);
    }
    assert.ok(!picks.includes("a"), "a removed member is never probed");
  });

  it("leaves failed members out of the probe rotation, takes them back once alive, and samples by state", () => {
    const m = new Members();
    for (const id of ["a", "b", "c", "d", "e"]) m.add(id);
    m.apply({ peerId: "b", state: "failed", incarnation: 0 }, 0, 0);
    m.apply({ peerId: "d", state: "failed", incarnation: 0 }, 0, 0);
    const picks = Array.from({ length: 30 }, () => m.nextTarget()!.peerId);
    assert.ok(!picks.includes("b") && !picks.includes("d"), "a failed member takes no probe slot");
    for (const id of ["a", "c", "e"]) assert.equal(picks.filter((p) => p === id).length, 10, `${id}: once per pass`);
    const failed = new Set(Array.from({ length: 50 }, () => m.randomIn("failed")!.peerId));
    assert.deepEqual([...failed].sort(), ["b", "d"], "randomIn draws among the failed only, each of them");
    assert.equal(m.randomIn("suspect"), undefined);
    assert.equal(m.randomIn("failed", "b")!.peerId, "d", "the excluded member is never drawn");
    m.apply({ peerId: "b", state: "alive", incarnation: 1 }, 0, 0);
    const back = Array.from({ length: 40 }, () => m.nextTarget()!.peerId).filter((p) => p === "b").length;
    assert.ok(back >= 9 && back <= 11, `b is probed again once alive (${back} times in 10 passes)`);
    for (const id of ["a", "b", "c", "d", "e"]) m.apply({ peerId: id, state: "failed", incarnation: 5 }, 0, 0);
    assert.equal(m.nextTarget(), undefined, "all failed: nobody to probe");
  });

  it("applies SWIM's precedence: suspect ≥ inc over alive, alive > inc over suspect, failed ≥ inc over both", () => {
    const m = new Members();
    m.add("p");
    const at = (state: "alive" | "suspect" | "failed", incarnation: number) =>
      m.apply({ peerId: "p", state, incarnation }, 1_000, 500);
    assert.equal(at("alive", 0), undefined, "alive at the same incarnation is old news");
    assert.deepEqual(at("suspect", 0), { peerId: "p", from: "alive", to: "suspect", incarnation: 0 });
    assert.equal(m.get("p")!.suspectDeadline, 1_500);
    assert.equal(at("suspect", 0), undefined, "the same suspicion twice is old news");
    assert.equal(at("alive", 0), undefined, "alive at the suspected incarnation does not clear it");
    assert.deepEqual(at("alive", 1), { peerId: "p", from: "suspect", to: "alive", incarnation: 1 }, "refuted");
    assert.equal(at("suspect", 0), undefined, "a suspicion of an older incarnation is stale");
    assert.equal(at("failed", 0), undefined, "a verdict on an older incarnation is stale");
    assert.deepEqual(at("failed", 1), { peerId: "p", from: "alive", to: "failed", incarnation: 1 });
    assert.equal(m.get("p")!.failedVia, "gossip");
    assert.equal(at("suspect", 5), undefined, "suspicion never overrides failed");
    assert.deepEqual(at("alive", 2), { peerId: "p", from: "failed", to: "alive", incarnation: 2 }, "recovered");
    assert.equal(m.apply({ peerId: "stranger", state: "failed", incarnation: 9 }, 0, 0), undefined, "unknown: ignored");
  });

  it("turns a suspect into failed once its deadline passes, as our own verdict", () => {
    const m = new Members();
    m.add("p");
    m.add("q");
    m.apply({ peerId: "p", state: "suspect", incarnation: 0 }, 0, 1_000);
    assert.deepEqual(m.expire(999), []);
    assert.deepEqual(m.expire(1_000), [{ peerId: "p", from: "suspect", to: "failed", incarnation: 0 }]);
    assert.equal(m.get("p")!.failedVia, "timeout");
    assert.equal(m.get("q")!.state, "alive");
  });

  it("sends each update λ·⌈log10(N+1)⌉ times, least-sent first, at most max per message, newest per member", () => {
    const g = new GossipQueue(4);
    assert.equal(g.limit(9), 4);
    assert.equal(g.limit(10), 8);
    g.push({ peerId: "a", state: "suspect", incarnation: 0 });
    g.push({ peerId: "b", state: "alive", incarnation: 1 });
    g.push({ peerId: "a", state: "failed", incarnation: 0 });
    assert.equal(g.size, 2, "a newer update replaces the queued one");
    assert.deepEqual(
      g.take(1, 9).map((u) => u.peerId),
      ["b"],
      "oldest of the least-sent first",
    );
    assert.deepEqual(
      g.take(8, 9, "a").map((u) => u.peerId),
      ["b"],
      "updates about the receiver are left to the caller",
    );
    let sends = 2;
    while (g.size > 0) sends += g.take(8, 9).filter((u) => u.peerId === "b").length;
    assert.equal(sends, 4, "b went out exactly λ·⌈log10(10)⌉ = 4 times");
  });

  it("bounds relays by the number in flight and by a rate", () => {
    let now = 0;
    const b = new RelayBudget(2, 3, () => now);
    assert.ok(b.take() && b.take());
    assert.equal(b.take(), false, "two in flight at most");
    b.release();
    assert.ok(b.take(), "a slot came back");
    b.release();
    b.release();
    assert.equal(b.take(), false, "three per second: the bucket is empty");
    now += 400;
    assert.ok(b.take(), "refilled at 3 per second");
  });
});
