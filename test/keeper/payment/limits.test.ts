/**
 * What a provider keeps about paying consumers stays bounded (keeper/payment/limits.ts): the debts and deposit reads
 * are least-recently-used maps of a fixed size, and the vault is read at most once per channel per TTL and at most
 * `readsPerSecond` times a second in all — a flood of fresh paying keys costs a bounded rate of RPC reads.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { ConsumerDebts, CreditCache, LruMap, UnfundedBudget } from "../../../keeper/payment/index.ts";

describe("payment/limits", () => {
  it("LruMap keeps the most recently used entries only", () => {
    const m = new LruMap<string, number>(2);
    m.set("a", 1);
    m.set("b", 2);
    assert.equal(m.get("a"), 1, "a is used again: b is now the oldest");
    m.set("c", 3);
    assert.equal(m.size, 2);
    assert.equal(m.get("b"), undefined, "b was forgotten");
    assert.equal(m.get("a"), 1);
    assert.equal(m.get("c"), 3);
    assert.throws(() => new LruMap(0), RangeError);
  });

  it("ConsumerDebts remembers a consumer across lookups, within its bound", () => {
    const debts = new ConsumerDebts(3);
    debts.of("peer:a").sent += 10n;
    assert.equal(debts.of("peer:a").sent, 10n, "the same debt across sessions");
    for (const k of ["peer:b", "peer:c", "key:0x1"]) debts.of(k);
    assert.equal(debts.size, 3, "never more than its bound");
    assert.equal(debts.of("peer:a").sent, 0n, "the least recent one was forgotten (one allowance forgiven)");
  });

  it("CreditCache reads a channel once per TTL, joins a read in flight, and rate-limits fresh reads", async () => {
    let now = 0;
    const reads: string[] = [];
    const cache = new CreditCache(
      async (consumer, account) => {
        reads.push(`${consumer}>${account}`);
        return 100n;
      },
      { ttlMs: 1_000, readsPerSecond: 2, max: 10, now: () => now },
    );
    const [a, b] = await Promise.all([cache.get("c1", "p"), cache.get("c1", "p")]);
    assert.deepEqual([a, b], [100n, 100n]);
    assert.equal(reads.length, 1, "two asks, one read");
    assert.equal(await cache.get("c2", "p"), 100n);
    assert.equal(await cache.get("c3", "p"), undefined, "a third fresh key in the same second: rate spent");
    assert.deepEqual(cache.stats, { reads: 2, cached: 1, limited: 1 });
    now = 1_500;
    assert.equal(await cache.get("c3", "p"), 100n, "the rate refills with time");
    assert.equal(await cache.get("c1", "p"), 100n, "c1's read is older than the TTL: read again");
    assert.equal(reads.length, 4);
  });

  it("CreditCache does not keep a failed read", async () => {
    let fail = true;
    const cache = new CreditCache(
      async () => {
        if (fail) throw new Error("rpc down");
        return 7n;
      },
      { ttlMs: 60_000, readsPerSecond: 100, max: 10 },
    );
    await assert.rejects(cache.get("c", "p"), /rpc down/);
    fail = false;
    assert.equal(await cache.get("c", "p"), 7n, "asked again, not answered from the failed read");
  });

  it("UnfundedBudget is spent by what was taken and refills at its rate, never above its size", () => {
    let now = 0;
    const budget = new UnfundedBudget({ bytes: 1_000, windowMs: 10_000, now: () => now });
    assert.equal(budget.spent, false);
    budget.take(600);
    assert.equal(budget.spent, false, "400 left");
    budget.take(600);
    assert.equal(budget.spent, true, "taken beyond it (a part in flight): spent");
    now = 1_000; // a tenth of the window: 100 back, still 100 short
    assert.equal(budget.spent, true);
    now = 3_000; // 300 back in all: 100 available
    assert.equal(budget.spent, false);
    now = 1_000_000;
    budget.take(1_000);
    assert.equal(budget.spent, true, "a long pause refills only up to its size");
    assert.equal(budget.taken, 2_200);
    assert.throws(() => new UnfundedBudget({ bytes: 0, windowMs: 1 }), RangeError);
  });
});
