import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { RoutingInvalidMetricError } from "../../../keeper/routing/errors.ts";
import { score } from "../../../keeper/routing/score.ts";
import { selectNodes } from "../../../keeper/routing/select.ts";
import type { NodeView } from "../../../keeper/types.ts";
import { node, rng } from "./helpers.ts";

const ids = (s: ReturnType<typeof selectNodes>) =>
  s === undefined ? [] : [s.primary, ...s.backups].map((n) => n.peerId);

describe("routing selection", () => {
  it("picks the high-bandwidth node when bandwidth is skewed and proximity is equal", () => {
    const nodes = [
      node("slow", { bandwidth: 1e6 }),
      node("fast", { bandwidth: 100e6 }),
      node("mid", { bandwidth: 10e6 }),
    ];
    assert.deepEqual(ids(selectNodes(nodes)), ["fast", "mid", "slow"]);
  });

  it("picks the low-latency node when latency is skewed and it outweighs bandwidth", () => {
    const nodes = [
      node("far-fat", { bandwidth: 100e6, latencyMs: 200, proximity: 4 }),
      node("near-thin", { bandwidth: 60e6, latencyMs: 1, proximity: 1 }),
    ];
    // far-fat: 0.5 + 0.25/4 + 0.25/200 = 0.56375; near-thin: 0.3 + 0.25 + 0.25 = 0.8
    const s = selectNodes(nodes, {}, { backups: 1 })!;
    assert.equal(s.primary.peerId, "near-thin");
    assert.equal(s.scores[0], score(nodes[1]!, 100e6));
    // With the weights moved to bandwidth only, the fat pipe wins.
    const t = selectNodes(nodes, {}, { weights: { alpha: 1, beta: 0, gamma: 0 } })!;
    assert.equal(t.primary.peerId, "far-fat");
  });

  it("never chooses flagged nodes, nodes at capacity or nodes lacking a required capability", () => {
    const nodes = [
      node("flagged", { bandwidth: 100e6, flagged: true }),
      node("full", { bandwidth: 90e6, capacity: 4, load: 4 }),
      node("provider-only", { bandwidth: 80e6, capabilities: ["provider"] }),
      node("thin", { bandwidth: 1e3 }),
      node("ok", { bandwidth: 1e6 }),
    ];
    const s = selectNodes(nodes, { capabilities: ["executor"] })!;
    assert.deepEqual(ids(s), ["ok", "thin"]);
    assert.deepEqual(ids(selectNodes(nodes, { capabilities: ["executor"], minBandwidth: 1e4 })), ["ok"]);
    assert.equal(selectNodes([nodes[0]!, nodes[1]!]), undefined);
    // B_max is the largest bandwidth known in the network, ineligible nodes included.
    assert.equal(s.scores[0], score(nodes[4]!, 100e6));
  });

  it("returns a primary and k distinct backups, best first, and honours exclusions", () => {
    const r = rng(7);
    const nodes: NodeView[] = [];
    for (let i = 0; i < 500; i++) nodes.push(node(`n${i}`, { bandwidth: r() * 1e8, latencyMs: 1 + r() * 100 }));
    for (const k of [0, 1, 2, 5]) {
      const s = selectNodes(nodes, {}, { backups: k })!;
      assert.equal(s.backups.length, k, `k=${k}`);
      const chosen = ids(s);
      assert.equal(new Set(chosen).size, chosen.length, `distinct for k=${k}`);
      for (let i = 1; i < s.scores.length; i++)
        assert.ok(s.scores[i - 1]! >= s.scores[i]!, `best first at ${i}, k=${k}`);
      // Same answer as a full sort (all loads are 0, so rank = score).
      const bMax = Math.max(...nodes.map((n) => n.bandwidth));
      const sorted = [...nodes].sort((a, b) => score(b, bMax) - score(a, bMax)).slice(0, k + 1);
      assert.deepEqual(
        chosen,
        sorted.map((n) => n.peerId),
        `matches a full sort for k=${k}`,
      );
    }
    const first = selectNodes(nodes)!;
    const again = selectNodes(nodes, { exclude: new Set([first.primary.peerId]) })!;
    assert.notEqual(again.primary.peerId, first.primary.peerId);
    assert.equal(again.primary.peerId, first.backups[0]!.peerId);
  });

  it("returns fewer backups when fewer nodes are eligible", () => {
    const s = selectNodes([node("a"), node("b")], {}, { backups: 2 })!;
    assert.equal(s.backups.length, 1);
  });

  it("balances load: a busier node ranks below an equally scored idle one", () => {
    const nodes = [node("busy", { load: 5, capacity: 10 }), node("idle", { load: 0, capacity: 10 })];
    assert.deepEqual(ids(selectNodes(nodes)), ["idle", "busy"]);
    // A much better node still wins while it has room.
    const better = [
      node("busy-fast", { load: 2, capacity: 10, bandwidth: 10e6, latencyMs: 1 }),
      node("idle", { bandwidth: 1e6 }),
    ];
    assert.equal(selectNodes(better)!.primary.peerId, "busy-fast");
  });

  it("breaks exact ties by peer id so every keeper chooses alike", () => {
    const nodes = [node("c"), node("a"), node("b")];
    assert.deepEqual(ids(selectNodes(nodes)), ["a", "b", "c"]);
  });

  it("prefers the task's shard and falls back to other shards for the remaining slots", () => {
    const nodes = [
      node("s0-best", { shard: 0, bandwidth: 100e6 }),
      node("s1-a", { shard: 1, bandwidth: 5e6 }),
      node("s1-b", { shard: 1, bandwidth: 4e6 }),
      node("s1-c", { shard: 1, bandwidth: 3e6 }),
      node("s2-only", { shard: 2, bandwidth: 1e6 }),
    ];
    assert.deepEqual(ids(selectNodes(nodes, { shard: 1 })), ["s1-a", "s1-b", "s1-c"]);
    assert.deepEqual(ids(selectNodes(nodes, { shard: 2 })), ["s2-only", "s0-best", "s1-a"]);
    assert.deepEqual(ids(selectNodes(nodes, { shard: 3 })), ["s0-best", "s1-a", "s1-b"]);
  });

  it("rejects a node with a NaN metric instead of scoring it", () => {
    assert.throws(() => selectNodes([node("a"), node("bad", { latencyMs: NaN })]), RoutingInvalidMetricError);
  });
});
