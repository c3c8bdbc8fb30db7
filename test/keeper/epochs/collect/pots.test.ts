import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { fillPots, groupPots, type PotShare } from "../../../../keeper/epochs/collect/pots.ts";

const fill = (shares: PotShare[], caps: Record<string, bigint>) => fillPots(groupPots(shares), (a) => caps[a]!);

describe("epochs/collect/pots", () => {
  it("pays every account its own share when no cap bites", () => {
    const f = fill(
      [
        { pot: "c1", account: "A", share: 30n },
        { pot: "c1", account: "B", share: 70n },
      ],
      { A: 100n, B: 100n },
    );
    assert.deepEqual(
      [...f.allocation],
      [
        ["A", 30n],
        ["B", 70n],
      ],
    );
    assert.equal(f.saturated.size, 0);
    assert.equal(f.starved.size, 0);
  });

  it("hands a capped provider's excess to the same consumer's other providers, up to their caps", () => {
    // c1 pays A 60 and B 40; A's cap is 20, so 40 more go to B, whose cap is 70: B takes 70, 10 are withheld.
    const f = fill(
      [
        { pot: "c1", account: "A", share: 60n },
        { pot: "c1", account: "B", share: 40n },
      ],
      { A: 20n, B: 70n },
    );
    assert.equal(f.allocation.get("A"), 20n);
    assert.equal(f.allocation.get("B"), 70n);
    assert.deepEqual([...f.starved], ["c1"], "both providers capped with money left: the pot is starved");
  });

  it("never moves a consumer's money to a provider it did not use", () => {
    // A is capped in c1; C, with room under its cap, was paid only by c2: it gets nothing of c1's excess.
    const f = fill(
      [
        { pot: "c1", account: "A", share: 80n },
        { pot: "c2", account: "C", share: 20n },
      ],
      { A: 10n, C: 90n },
    );
    assert.equal(f.allocation.get("A"), 10n);
    assert.equal(f.allocation.get("C"), 20n);
    assert.deepEqual([...f.starved], ["c1"]);
  });

  it("draws a capped account's cap from its pots in proportion to its shares in them", () => {
    // A earned 50 in c1 and 50 in c2, capped at 40: it takes 20 from each; c1's rest goes to B, c2's to C.
    const f = fill(
      [
        { pot: "c1", account: "A", share: 50n },
        { pot: "c1", account: "B", share: 10n },
        { pot: "c2", account: "A", share: 50n },
        { pot: "c2", account: "C", share: 10n },
      ],
      { A: 40n, B: 100n, C: 25n },
    );
    assert.equal(f.allocation.get("A"), 40n);
    assert.equal(f.allocation.get("B"), 40n, "B: its 10 + c1's rest 30");
    assert.equal(f.allocation.get("C"), 25n, "C: capped at 25 of c2's 40");
    assert.deepEqual([...f.starved], ["c2"]);
  });

  it("never pays a pot out beyond what it holds, and gives the same result in any order", () => {
    let seed = 3;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    for (let round = 0; round < 200; round++) {
      const shares: PotShare[] = [];
      for (let i = 0; i < 12; i++) {
        shares.push({ pot: `c${next() % 4}`, account: `P${next() % 6}`, share: BigInt(1 + (next() % 1000)) });
      }
      const caps = Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`P${i}`, BigInt(next() % 1500)]));
      const f = fill(shares, caps);
      const total = shares.reduce((a, s) => a + s.share, 0n);
      const paid = [...f.allocation.values()].reduce((a, b) => a + b, 0n);
      assert.ok(paid <= total, `round ${round}: paid ${paid} of ${total}`);
      for (const [a, x] of f.allocation) assert.ok(x <= caps[a]!, `round ${round}: ${a} within its cap`);
      const reversed = fill([...shares].reverse(), caps);
      assert.deepEqual(
        [...reversed.allocation].sort(),
        [...f.allocation].sort(),
        `round ${round}: order does not matter`,
      );
    }
  });
});
