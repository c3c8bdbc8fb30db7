import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { createLogger } from "../../../keeper/logger.ts";
import { RoutingInvalidMetricError } from "../../../keeper/routing/errors.ts";
import { assignShards, taskShard } from "../../../keeper/routing/shards.ts";
import { selectNodes } from "../../../keeper/routing/select.ts";
import { routing } from "../../../keeper/routing/table.ts";
import type { Capability, NodeView } from "../../../keeper/types.ts";
import { node, rng } from "./helpers.ts";

const logger = createLogger("test", { level: "silent" });

describe("routing table", () => {
  it("assigns shards by the member-set rule, overriding advertised shards", () => {
    const table = routing({ shards: 4 })({ logger });
    const ids = Array.from({ length: 20 }, (_, i) => `p${i}`);
    for (const id of ids) table.upsert(node(id, { shard: 99 }));
    const expected = assignShards(ids, 4);
    for (const id of ids) assert.equal(table.get(id)!.shard, expected.get(id), `shard of ${id}`);
    for (let s = 0; s < 4; s++) assert.equal(table.shardMembers(s).length, 5, `size of shard ${s}`);
  });

  it("chooses within the task's shard when it has k+1 eligible nodes, else tops up from others", () => {
    const table = routing({ shards: 4, backups: 2 })({ logger });
    for (let i = 0; i < 40; i++) table.upsert(node(`p${i}`, { bandwidth: 1e6 + i }));
    const taskId = "task-shard";
    const shard = taskShard(taskId, 4);
    const s = table.select({ taskId })!;
    for (const n of [s.primary, ...s.backups]) assert.equal(n.shard, shard, `${n.peerId} in the task's shard`);
    // Flag all but one node of the shard: the rest come from other shards.
    const members = table.shardMembers(shard).map((n) => n.peerId);
    for (const id of members.slice(1)) table.upsert({ ...table.get(id)!, flagged: true, load: 0 });
    const t = table.select({ taskId })!;
    assert.equal(t.primary.peerId, members[0]);
    assert.equal(t.backups.length, 2);
    for (const b of t.backups) assert.notEqual(b.shard, shard, `backup ${b.peerId} from another shard`);
  });

  it("counts acquired tasks against capacity until released", () => {
    const table = routing({ shards: 1, backups: 0 })({ logger });
    table.upsert(node("only", { capacity: 2 }));
    table.acquire("only");
    table.acquire("only");
    assert.equal(table.select({ taskId: "t" }), undefined);
    assert.equal(table.isAvailable("only"), false);
    // A fresh advertisement keeps this keeper's reservations on top of the advertised load.
    table.upsert(node("only", { capacity: 2, load: 0 }));
    assert.equal(table.get("only")!.load, 2);
    table.release("only");
    assert.equal(table.select({ taskId: "t" })!.primary.peerId, "only");
  });

  it("tracks B_max across joins, updates and leaves", () => {
    const table = routing()({ logger });
    table.upsert(node("a", { bandwidth: 10 }));
    table.upsert(node("b", { bandwidth: 50 }));
    assert.equal(table.maxBandwidth(), 50);
    table.upsert(node("b", { bandwidth: 5 }));
    assert.equal(table.maxBandwidth(), 10);
    table.remove("a");
    assert.equal(table.maxBandwidth(), 5);
  });

  it("rejects nodes with unusable metrics at the door", () => {
    const table = routing()({ logger });
    assert.throws(() => table.upsert(node("x", { bandwidth: -1 })), RoutingInvalidMetricError);
    assert.equal(table.size, 0);
  });

  it("keeps every shard's members equal to the member-set rule through joins, updates and leaves", () => {
    const table = routing({ shards: 8 })({ logger });
    const live = new Set<string>();
    let next = 0;
    for (let round = 0; round < 40; round++) {
      const joins = round % 7 === 0 ? 50 : 3;
      for (let j = 0; j < joins; j++) {
        const id = `n${next++}`;
        table.upsert(node(id, { bandwidth: 1_000 + (next % 13) }));
        live.add(id);
      }
      const ids = [...live];
      for (let j = 0; j < (round % 5 === 0 ? 30 : 2) && live.size > 1; j++) {
        const id = ids[(round * 31 + j * 17) % ids.length]!;
        if (table.remove(id)) live.delete(id);
      }
      for (const id of [...live].slice(0, 5)) table.upsert(node(id, { bandwidth: 500, load: 1 }));
      const expected = assignShards(live, 8);
      let total = 0;
      for (let s = 0; s < 8; s++) {
        for (const n of table.shardMembers(s)) {
          assert.equal(expected.get(n.peerId), s, `round ${round}: ${n.peerId} in shard ${s}`);
          assert.equal(n.shard, s, `round ${round}: ${n.peerId}'s shard field`);
          assert.equal(n, table.get(n.peerId), `round ${round}: ${n.peerId} is the current view`);
          total++;
        }
      }
      assert.equal(total, live.size, `round ${round}: every member in exactly one shard`);
    }
  });

  it("keeps B_max while other nodes at B_max remain, and finds the next one when the last leaves", () => {
    const table = routing()({ logger });
    table.upsert(node("a", { bandwidth: 100 }));
    table.upsert(node("b", { bandwidth: 100 }));
    table.upsert(node("c", { bandwidth: 40 }));
    table.remove("a");
    assert.equal(table.maxBandwidth(), 100);
    table.upsert(node("b", { bandwidth: 100 }));
    assert.equal(table.maxBandwidth(), 100);
    table.upsert(node("b", { bandwidth: 30 }));
    assert.equal(table.maxBandwidth(), 40);
  });

  it("chooses exactly what a full scan of the network chooses, through loads, updates, joins and leaves", () => {
    const r = rng(11);
    const caps: Capability[][] = [["executor"], ["executor", "provider"], ["provider"]];
    const table = routing({ shards: 4, backups: 2 })({ logger });
    const live = new Map<string, NodeView>();
    const randomNode = (id: string): NodeView => {
      const capacity = 1 + Math.floor(r() * 4);
      return node(id, {
        // Few distinct values, so equal scores and the tie-breaks are exercised.
        bandwidth: [1e6, 5e6, 2e7][Math.floor(r() * 3)]!,
        proximity: r() < 0.1 ? undefined : 1 + Math.floor(r() * 3),
        latencyMs: r() < 0.1 ? undefined : [5, 20, 80][Math.floor(r() * 3)]!,
        capacity,
        load: Math.floor(r() * (capacity + 1)),
        flagged: r() < 0.05,
        capabilities: caps[Math.floor(r() * caps.length)]!,
      });
    };
    let next = 0;
    for (let round = 0; round < 300; round++) {
      const action = r();
      if (action < 0.3 || live.size < 6) {
        const n = randomNode(`p${next++}`);
        table.upsert(n);
        live.set(n.peerId, n);
      } else if (action < 0.45) {
        const id = [...live.keys()][Math.floor(r() * live.size)]!;
        table.remove(id);
        live.delete(id);
      } else if (action < 0.65) {
        const id = [...live.keys()][Math.floor(r() * live.size)]!;
        table.upsert(randomNode(id));
      } else if (action < 0.8) {
        const id = [...live.keys()][Math.floor(r() * live.size)]!;
        if (r() < 0.6) table.acquire(id);
        else table.release(id);
      }
      const taskId = `t${round}`;
      const req = {
        capabilities: r() < 0.7 ? (["executor"] as Capability[]) : undefined,
        minBandwidth: r() < 0.3 ? 5e6 : undefined,
        exclude: new Set([...live.keys()].filter(() => r() < 0.1)),
      };
      const got = table.select({ taskId, ...req });
      const views = [...live.keys()].map((id) => table.get(id)!);
      const want = selectNodes(
        views,
        { shard: taskShard(taskId, 4), ...req },
        { backups: 2, bMax: table.maxBandwidth() },
      );
      const ids = (s: typeof got) => (s === undefined ? [] : [s.primary, ...s.backups].map((n) => n.peerId));
      assert.deepEqual(ids(got), ids(want), `round ${round}: same nodes as a full scan`);
      assert.deepEqual(got?.scores, want?.scores, `round ${round}: same scores`);
    }
  });
});
