import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";

import { RoutingConfigError } from "../../../keeper/routing/errors.ts";
import { assignShards, ShardMap, shardSize, taskShard } from "../../../keeper/routing/shards.ts";
import { rng } from "./helpers.ts";

function members(n: number, prefix = "peer"): string[] {
  return Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
}

function sizes(map: ReadonlyMap<string, number>, shards: number): number[] {
  const out = new Array<number>(shards).fill(0);
  for (const s of map.values()) out[s]!++;
  return out;
}

function moved(a: ReadonlyMap<string, number>, b: ReadonlyMap<string, number>): number {
  let n = 0;
  for (const [id, s] of a) if (b.has(id) && b.get(id) !== s) n++;
  return n;
}

describe("routing shards", () => {
  it("maps a task by the first 8 bytes of SHA-256(id) mod shards", () => {
    for (const id of ["task-1", "task-2", "αβγ", ""]) {
      const expected = Number(createHash("sha256").update(id).digest().readBigUInt64BE(0) % 16n);
      assert.equal(taskShard(id, 16), expected, `task ${id}`);
    }
    assert.equal(taskShard("anything", 1), 0);
  });

  it("spreads tasks evenly over the shards", () => {
    const counts = new Array<number>(8).fill(0);
    for (let i = 0; i < 80_000; i++) counts[taskShard(`t${i}`, 8)]!++;
    for (const c of counts) assert.ok(Math.abs(c - 10_000) < 500, `shard count ${c} within 5 % of 10 000`);
  });

  it("computes Shard_Size = Total_Nodes / Number_of_Shards and rejects bad shard counts", () => {
    assert.equal(shardSize(100, 8), 12.5);
    assert.throws(() => shardSize(100, 0), RoutingConfigError);
    assert.throws(() => taskShard("x", 1.5), RoutingConfigError);
    assert.throws(() => new ShardMap(-1), RoutingConfigError);
  });

  it("gives shards whose sizes differ by at most one", () => {
    for (const [n, s] of [
      [1, 4],
      [3, 4],
      [100, 8],
      [1001, 16],
      [10_000, 7],
    ] as const) {
      const sz = sizes(assignShards(members(n), s), s);
      assert.ok(Math.max(...sz) - Math.min(...sz) <= 1, `n=${n} s=${s} sizes ${sz.join(",")}`);
      assert.ok(Math.max(...sz) === Math.ceil(n / s), `largest shard is ceil(Shard_Size) for n=${n} s=${s}`);
    }
  });

  it("is deterministic and independent of the order members are learnt in", () => {
    const ids = members(500);
    const shuffled = [...ids].reverse();
    assert.deepEqual([...assignShards(ids, 8)].sort(), [...assignShards(shuffled, 8)].sort());
  });

  it("moves at most Number_of_Shards − 1 existing nodes on a join or a leave", () => {
    const r = rng(42);
    for (const s of [4, 16, 64]) {
      for (let trial = 0; trial < 25; trial++) {
        const n = 50 + Math.floor(r() * 2000);
        const ids = members(n, `t${trial}`);
        const before = assignShards(ids, s);
        const joined = assignShards([...ids, `joiner-${trial}`], s);
        assert.ok(moved(before, joined) <= s - 1, `join moved ${moved(before, joined)} with s=${s} n=${n}`);
        const leaver = ids[Math.floor(r() * n)]!;
        const left = assignShards(
          ids.filter((id) => id !== leaver),
          s,
        );
        assert.ok(moved(before, left) <= s - 1, `leave moved ${moved(before, left)} with s=${s} n=${n}`);
      }
    }
  });

  it("ShardMap recomputes after joins and leaves and matches assignShards", () => {
    const map = new ShardMap(4);
    for (const id of members(40)) map.add(id);
    assert.deepEqual([...map.current()].sort(), [...assignShards(members(40), 4)].sort());
    map.remove("peer-3");
    map.add("peer-99");
    const expected = assignShards([...members(40).filter((id) => id !== "peer-3"), "peer-99"], 4);
    assert.deepEqual([...map.current()].sort(), [...expected].sort());
    assert.equal(map.shardOf("peer-3"), undefined);
    assert.equal(map.size, 40);
  });

  it("ShardMap kept up to date one change at a time or in batches equals assignShards", () => {
    const r = rng(7);
    for (const s of [1, 3, 16, 64]) {
      const map = new ShardMap(s);
      const live = new Set<string>();
      let next = 0;
      for (let round = 0; round < 60; round++) {
        // Mostly single changes (the incremental path), sometimes a burst (the merge path).
        const changes = r() < 0.2 ? 1 + Math.floor(r() * 120) : 1;
        for (let c = 0; c < changes; c++) {
          if (live.size > 0 && r() < 0.45) {
            const ids = [...live];
            const id = ids[Math.floor(r() * ids.length)]!;
            assert.equal(map.remove(id), true, `remove ${id}`);
            live.delete(id);
          } else {
            const id = `m${next++}`;
            assert.equal(map.add(id), true, `add ${id}`);
            live.add(id);
          }
        }
        assert.equal(map.size, live.size, `size after round ${round}`);
        for (const id of map.takeMoved()) assert.ok(live.has(id), `round ${round}: reported ${id} is a member`);
        assert.deepEqual(
          [...map.current()].sort(),
          [...assignShards(live, s)].sort(),
          `s=${s} round ${round}: ${live.size} members`,
        );
      }
    }
  });

  it("ShardMap reports the members that joined or changed shard, at most Number_of_Shards − 1 on a leave", () => {
    const map = new ShardMap(16);
    const ids = members(5_000);
    for (const id of ids) map.add(id);
    assert.equal(map.takeMoved().length, 5_000, "every joiner is reported once");
    assert.deepEqual(map.takeMoved(), [], "nothing changed since");
    const before = new Map(map.current());
    map.remove(ids[1234]!);
    const moved = map.takeMoved();
    assert.ok(moved.length <= 15, `a leave moved ${moved.length}`);
    for (const id of moved) assert.notEqual(map.shardOf(id), before.get(id), `${id} reported but did not move`);
    for (const [id, shard] of map.current()) {
      if (!moved.includes(id)) assert.equal(shard, before.get(id), `${id} moved unreported`);
    }
    map.add("rejoiner");
    assert.ok(map.takeMoved().includes("rejoiner"), "a joiner is reported");
    assert.equal(map.remove("never-member"), false);
    assert.equal(map.add("rejoiner"), false);
  });
});
