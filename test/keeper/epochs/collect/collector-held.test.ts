/**
 * No contribution is lost to timing: a receipt whose provider's account is not known at the freeze is held and
 * credited once it is (never twice, dropped only after HELD_EPOCHS); receipts stamped by a consumer on another
 * schedule count in the window they were stored in; starting a new era archives the old epochs so nothing of
 * theirs is committed again.
 */
import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";

import { keccak_256 } from "@noble/hashes/sha3.js";
import { bytesToHex } from "@noble/hashes/utils.js";

import { HELD_EPOCHS } from "../../../../keeper/epochs/collect/collector.ts";
import { peer, signedReceipt, world, type EpochWorld, type Peer } from "../fixtures.ts";

const hashOf = (body: Uint8Array) => "0x" + bytesToHex(keccak_256(body));

describe("epochs/collect: held receipts, foreign stamps, eras", () => {
  let w: EpochWorld;
  let consumer: Peer;
  let a: Peer;
  let b: Peer;

  beforeEach(async () => {
    w = world();
    [consumer, a, b] = await Promise.all([peer(0xc0), peer(0xa1), peer(0xb2)]);
    w.addresses.set(consumer.id, consumer.address);
    w.addresses.set(a.id, a.address);
  });
  afterEach(() => w.close());

  it("holds a receipt whose provider is unknown at the freeze and credits it, once, when the account is known", async () => {
    await w.receipt(consumer, a, 100, 1_500);
    await w.receipt(consumer, b, 1_400_000, 1_600); // b's record not known yet (a keeper just restarted)
    const first = await w.collector.close({ endMs: 2_000 });
    assert.deepEqual(
      first.contributions.map((c) => [c.account, c.contribution]),
      [[a.address, 100n]],
    );
    assert.equal(w.collector.heldReceipts(), 1, "b's receipt is held, not dropped");

    const second = await w.collector.close({ endMs: 3_000 });
    assert.equal(second.contributions.length, 0, "still unknown: still held");
    assert.equal(w.collector.heldReceipts(), 1);

    w.addresses.set(b.id, b.address);
    const third = await w.collector.close({ endMs: 4_000 });
    assert.deepEqual(
      third.contributions.map((c) => [c.account, c.contribution]),
      [[b.address, 1_400_000n]],
      "credited in the first epoch after b became known",
    );
    assert.equal(w.collector.heldReceipts(), 0);
    const fourth = await w.collector.close({ endMs: 5_000 });
    assert.equal(fourth.contributions.length, 0, "and never again");
  });

  it("drops a held receipt only after HELD_EPOCHS epochs", async () => {
    await w.receipt(consumer, b, 10, 1_500);
    let end = 2_000;
    for (let e = 1; e <= HELD_EPOCHS; e++) {
      await w.collector.close({ endMs: end });
      end += 1_000;
      assert.equal(w.collector.heldReceipts(), 1, `still held after epoch ${e}`);
    }
    await w.collector.close({ endMs: end });
    assert.equal(w.collector.heldReceipts(), 0, `dropped at epoch ${HELD_EPOCHS + 1}`);
  });

  it("counts a receipt stamped with an epoch far ahead of ours (a consumer on a faster schedule)", async () => {
    await w.receipt(consumer, a, 2_300_000, 1_500, 46);
    const first = await w.collector.close({ endMs: 2_000 });
    assert.deepEqual(
      first.contributions.map((c) => [c.account, c.contribution]),
      [[a.address, 2_300_000n]],
    );
  });

  it("starts a new era: old epochs archived, numbering from the chain, old work never committed again", async () => {
    await w.receipt(consumer, a, 100, 1_500);
    w.task("old-task", consumer, a, 1_600);
    await w.collector.close({ endMs: 2_000 });
    await w.collector.close({ endMs: 3_000 });
    // The same receipt body stored again (pulled again from a peer) after the new era begins.
    const era = w.collector.startNewEra(0, "test");
    assert.equal(era, 1);
    assert.equal(w.collector.currentEpoch(), 1, "numbering restarts after the new chain's last epoch");
    assert.equal(w.collector.lastClosedEpoch(), 0);
    await w.receipt(consumer, a, 70, 3_500);
    w.task("new-task", consumer, a, 3_600);
    const first = await w.collector.close({ endMs: 4_000 });
    assert.equal(first.epoch, 1);
    assert.deepEqual(
      first.tasks.map((t) => t[0]).length,
      1,
      "only the new era's task (the old one ended in an archived window)",
    );
    assert.deepEqual(
      first.contributions.map((c) => [c.account, c.contribution]),
      [[a.address, 70n]],
    );
    assert.equal(w.collector.startNewEra(1, "again"), 2, "eras count up");
  });
});

describe("epochs/collect: adoption during a finalize", () => {
  it("recomputes an epoch whose receipts the chain's view took away while it was being finalized", async () => {
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const w = world(
      { rewardPerEpoch: 10n ** 18n, genesisMs: 1_000 },
      { maxRewardTotal: async () => (await gate, 10n ** 18n) },
    );
    try {
      const [consumer, a, b] = await Promise.all([peer(0xc0), peer(0xa1), peer(0xb2)]);
      for (const p of [consumer, a, b]) w.addresses.set(p.id, p.address);
      await w.collector.close({ endMs: 2_000 }); // epoch 1 (empty): the chain's epoch the keeper adopts below
      const twice = await signedReceipt(consumer, a, 5_000, 1, 2_500);
      w.storeReceipt(twice, 2_500);
      await w.receipt(consumer, b, 700, 2_600);
      const epoch = w.collector.freeze(3_000);
      const finalizing = w.collector.finalize(epoch); // blocked on the pool read
      // Meanwhile the chain's epoch 1 turns out to have counted `twice` already.
      const all = new Set(w.collector.receiptHashes(epoch));
      assert.equal(all.size, 2);
      const committed = new Set([hashOf(twice.body)]);
      assert.ok(all.has(hashOf(twice.body)));
      w.collector.adopt(1, committed);
      open();
      const bundle = await finalizing;
      assert.deepEqual(
        bundle.contributions.map((c) => [c.account, c.contribution]),
        [[b.address, 700n]],
        "the receipt the chain counted in epoch 1 is not counted again in epoch 2",
      );
      assert.deepEqual(
        w.collector.receiptHashes(epoch),
        [...all].filter((h) => !committed.has(h)),
      );
    } finally {
      w.close();
    }
  });
});
