import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";

import { StandardMerkleTree } from "@openzeppelin/merkle-tree";

import { buildEpoch } from "../../../../keeper/epochs/build.ts";
import { EpochWindowError } from "../../../../keeper/epochs/collect/errors.ts";
import { peer, world, type EpochWorld, type Peer } from "../fixtures.ts";

describe("epochs/collect", () => {
  let w: EpochWorld;
  let consumer: Peer;
  let a: Peer;
  let b: Peer;
  let c: Peer;

  beforeEach(async () => {
    w = world();
    [consumer, a, b, c] = await Promise.all([peer(0xc0), peer(0xa1), peer(0xb2), peer(0x03)]);
    for (const p of [consumer, a, b, c]) w.addresses.set(p.id, p.address);
  });
  afterEach(() => w.close());

  it("freezes the window [start, end): work at end - 1 stays, work at end goes to the next epoch", async () => {
    await w.receipt(consumer, a, 100, 1_999);
    await w.receipt(consumer, b, 50, 2_000);
    w.task("t-in", consumer, a, 1_999);
    w.task("t-out", consumer, a, 2_000);

    const first = await w.collector.close({ endMs: 2_000 });
    assert.equal(first.epoch, 1);
    assert.deepEqual([first.startMs, first.endMs], [1_000, 2_000]);
    assert.deepEqual(
      first.contributions.map((e) => e.account),
      [a.address],
    );
    assert.equal(first.tasks.length, 1, "only the task that ended inside the window");

    // Work recorded after the close, even dated inside the closed window, cannot change epoch 1.
    await w.receipt(consumer, c, 70, 1_500);
    assert.deepEqual(w.collector.bundle(1), first, "a closed epoch is frozen");

    const second = await w.collector.close({ endMs: 3_000 });
    assert.equal(second.epoch, 2);
    assert.deepEqual(
      second.contributions.map((e) => e.account),
      [b.address],
    );
    assert.equal(second.tasks.length, 1);
    assert.equal(w.collector.currentEpoch(), 3);
  });

  it("refuses a close that does not move the window forward", async () => {
    await w.collector.close({ endMs: 2_000 });
    assert.throws(() => w.collector.freeze(2_000), EpochWindowError);
  });

  it("computes C_i from verified receipts weighted by the epoch's success rate", async () => {
    await w.receipt(consumer, a, 1_000, 1_100);
    await w.receipt(consumer, a, 500, 1_200);
    await w.receipt(consumer, b, 900, 1_300);
    await w.receipt(a, a, 10_000, 1_400); // self-served: counts nothing
    // Health counted in the open epoch (1): b succeeded once and failed twice → weight (1+1)/(1+2+1) = 1/2.
    w.counters.record(1, b.id, true);
    w.counters.record(1, b.id, false);
    w.counters.record(1, b.id, false);
    w.counters.record(1, c.id, false);

    const bundle = await w.collector.close({ endMs: 2_000 });
    const byAccount = new Map(bundle.contributions.map((e) => [e.account, e.contribution]));
    assert.equal(byAccount.get(a.address), 1_500n, "a: all verified bytes, no failures");
    assert.equal(byAccount.get(b.address), 450n, "b: 900 · 2/4");
    assert.equal(byAccount.has(c.address), false, "c served nothing");
    assert.deepEqual(
      bundle.reputation,
      [
        { node: c.address, successes: 0, failures: 1 },
        { node: b.address, successes: 1, failures: 2 },
      ].sort((x, y) => (x.node.toLowerCase() < y.node.toLowerCase() ? -1 : 1)),
    );
    assert.equal(bundle.rewardTotal, 1000n);
  });

  it("drops receipts with a bad signature or a forged provider, and counts a receipt once", async () => {
    await w.receipt(consumer, a, 100, 1_100);
    w.store.db.prepare("UPDATE transfer_receipts SET provider = ? WHERE rowid = 1").run(b.id);
    await w.receipt(consumer, c, 100, 1_200);
    const sig = w.store.db.prepare("SELECT signature FROM transfer_receipts WHERE rowid = 2").get() as {
      signature: Uint8Array;
    };
    const bad = new Uint8Array(sig.signature);
    bad[0]! ^= 1;
    w.store.db.prepare("UPDATE transfer_receipts SET signature = ? WHERE rowid = 2").run(bad);
    const first = await w.collector.close({ endMs: 2_000 });
    assert.deepEqual(first.contributions, []);

    // The same signed body stored again in a later window is not counted twice.
    await w.receipt(consumer, a, 100, 2_100);
    const row = w.store.db
      .prepare("SELECT body, signature FROM transfer_receipts ORDER BY rowid DESC LIMIT 1")
      .get() as {
      body: Uint8Array;
      signature: Uint8Array;
    };
    w.store.db
      .prepare(
        "INSERT INTO transfer_receipts (object_id, provider, epoch, body, signature, issued_at) VALUES ('x', ?, 2, ?, ?, 3100)",
      )
      .run(a.id, row.body, row.signature);
    const second = await w.collector.close({ endMs: 3_000 });
    assert.deepEqual(
      second.contributions.map((e) => e.contribution),
      [100n],
    );
    const third = await w.collector.close({ endMs: 4_000 });
    assert.deepEqual(third.contributions, [], "the replayed receipt counts nothing");
  });

  it("caps R_total by the largest reward the pool accepts (its unreserved balance under its caps)", async () => {
    w.close();
    w = world({ rewardPerEpoch: 1_000n }, { maxRewardTotal: async () => 400n });
    for (const p of [consumer, a]) w.addresses.set(p.id, p.address);
    await w.receipt(consumer, a, 10, 1_100);
    assert.equal((await w.collector.close({ endMs: 2_000 })).rewardTotal, 400n);
  });

  it("keeps each account's index across epochs and gives newcomers the next ones", async () => {
    await w.receipt(consumer, b, 10, 1_100);
    await w.receipt(consumer, a, 10, 1_200);
    const e1 = await w.collector.close({ endMs: 2_000 });
    const i1 = new Map(e1.contributions.map((e) => [e.account, e.index]));
    assert.deepEqual([...i1.values()].sort(), [0, 1]);

    await w.receipt(consumer, c, 10, 2_100);
    await w.receipt(consumer, b, 10, 2_200);
    const e2 = await w.collector.close({ endMs: 3_000 });
    const i2 = new Map(e2.contributions.map((e) => [e.account, e.index]));
    assert.equal(i2.get(b.address), i1.get(b.address), "b keeps its index");
    assert.equal(i2.get(c.address), 2, "c gets the next index");
    assert.equal(i2.has(a.address), false);

    await w.receipt(consumer, a, 10, 3_100);
    const e3 = await w.collector.close({ endMs: 4_000 });
    assert.equal(e3.contributions[0]!.index, i1.get(a.address), "a comes back with its old index");
  });

  it("finalizes an epoch a crash left frozen, from the frozen copy", async () => {
    await w.receipt(consumer, a, 10, 1_100);
    const epoch = w.collector.freeze(2_000);
    assert.deepEqual(w.collector.unfinalizedEpochs(), [epoch]);
    await w.receipt(consumer, b, 10, 1_500); // arrives after the freeze
    const bundle = await w.collector.finalize(epoch);
    assert.deepEqual(
      bundle.contributions.map((e) => e.account),
      [a.address],
    );
    assert.deepEqual(w.collector.unfinalizedEpochs(), []);
  });

  it("builds trees whose dumps StandardMerkleTree.load accepts with the same root and proofs", async () => {
    await w.receipt(consumer, a, 10, 1_100);
    await w.receipt(consumer, b, 20, 1_200);
    w.task("t1", consumer, a, 1_300);
    w.task("t2", consumer, b, 1_400, "failed");
    const built = await buildEpoch(await w.collector.close({ endMs: 2_000 }));
    assert.equal(built.totalContribution, 30n);
    const rewards = StandardMerkleTree.load(
      JSON.parse(JSON.stringify(built.rewardTree!.dump(), (_k, v) => (typeof v === "bigint" ? v.toString() : v))),
    );
    assert.equal(rewards.root, built.rewardTree!.root);
    for (let i = 0; i < built.rewardTree!.size; i++) {
      assert.deepEqual(rewards.getProof(i), built.rewardTree!.getProof(i), `proof ${i}`);
    }
    const tasks = StandardMerkleTree.load(
      JSON.parse(JSON.stringify(built.taskTree!.dump(), (_k, v) => (typeof v === "bigint" ? v.toString() : v))),
    );
    assert.equal(tasks.root, built.taskTree!.root);
  });

  it("builds no tree for an empty epoch", async () => {
    const built = await buildEpoch(await w.collector.close({ endMs: 2_000 }));
    assert.equal(built.rewardTree, undefined);
    assert.equal(built.taskTree, undefined);
    assert.equal(built.bundle.rewardTotal, 0n);
  });
});
