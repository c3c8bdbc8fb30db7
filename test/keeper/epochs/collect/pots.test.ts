import assert from "node:assert/strict";
import { describe, it } from "node:test";

import {
  MAX_REROUTE_WORK_PER_EDGE,
  fillPots,
  groupPots,
  type PotShare,
} from "../../../../keeper/epochs/collect/pots.ts";

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

  it("takes a capped account's cap first from the pot nobody else can take, so the other pot's rest reaches its other provider", () => {
    // A earned 50 in c1 and 50 in c2, capped at 40; C, c2's other provider, is capped at 25. Drawn in proportion
    // (20 from each pot), c2 kept 15 that nobody could take while B, in c1, had room. Rerouted: A takes 35 from c2
    // and 5 from c1, and c1's rest reaches B — nothing is withheld, nobody is above its cap.
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
    assert.equal(f.allocation.get("B"), 55n, "B: its 10 + c1's rest 45");
    assert.equal(f.allocation.get("C"), 25n);
    assert.equal(f.starved.size, 0);
    assert.equal(f.reroutes, 1);
  });

  it("reroutes along a chain of capped accounts, and withholds only what no chain can place", () => {
    // c1 pays only A; A and B share c2; B and D share c3. In proportion, A's cap came partly from c2 and B's partly
    // from c3, so 44 stayed in c1 and c2 while D had room (D got 17 of c3's 30). Rerouted, A draws from c1 alone
    // and B from c2 alone, and c3 goes to D whole: only what c1 and c2 hold beyond A's and B's caps (30) is withheld.
    const f = fill(
      [
        { pot: "c1", account: "A", share: 60n },
        { pot: "c2", account: "A", share: 20n },
        { pot: "c2", account: "B", share: 40n },
        { pot: "c3", account: "B", share: 20n },
        { pot: "c3", account: "D", share: 10n },
      ],
      { A: 40n, B: 40n, D: 100n },
    );
    assert.equal(f.allocation.get("A"), 40n);
    assert.equal(f.allocation.get("B"), 40n);
    assert.equal(f.allocation.get("D"), 30n, "D receives c3 whole, through two capped accounts");
    assert.deepEqual([...f.starved].sort(), ["c1", "c2"]);
  });

  it("never pays a pot out beyond what it holds, pays the most the caps allow (a maximum flow), and gives the same result in any order", () => {
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
      // The payout is a maximum flow, computed here independently as the smallest cut (a set X of pots whose money
      // is cut at its providers' caps, the other pots cut at the consumer): max over flows = min over X.
      const pots = [...new Set(shares.map((s) => s.pot))];
      let smallestCut = total;
      for (let mask = 0; mask < 1 << pots.length; mask++) {
        const inX = pots.filter((_, i) => mask & (1 << i));
        const outside = shares.filter((s) => !inX.includes(s.pot)).reduce((a, s) => a + s.share, 0n);
        const providers = new Set(shares.filter((s) => inX.includes(s.pot)).map((s) => s.account));
        const cut = outside + [...providers].reduce((a, x) => a + caps[x]!, 0n);
        if (cut < smallestCut) smallestCut = cut;
      }
      assert.equal(paid, smallestCut, `round ${round}: pays the maximum flow`);
      const reversed = fill([...shares].reverse(), caps);
      assert.deepEqual(
        [...reversed.allocation].sort(),
        [...f.allocation].sort(),
        `round ${round}: order does not matter`,
      );
    }
  });

  it("bounds the rerouting's work by the epoch's size, stopping within the caps when it runs out", () => {
    // A chain: pot c_i pays capped A_i, which also draws a little from c_{i+1}; only Z at the end has room. Each
    // unit rerouted from the start walks the whole chain, so the work grows with its length.
    const n = 400;
    const shares: PotShare[] = [];
    const caps: Record<string, bigint> = {};
    for (let i = 0; i < n; i++) {
      shares.push({ pot: `c${i}`, account: `A${i}`, share: 100n });
      shares.push({ pot: `c${i + 1}`, account: `A${i}`, share: 10n });
      caps[`A${i}`] = 60n;
    }
    shares.push({ pot: `c${n}`, account: "Z", share: 1n });
    caps.Z = 10n ** 9n;
    const grouped = groupPots(shares);
    const size = n + 1 + n + 1 + shares.length; // pots + accounts + channels
    const full = fillPots(grouped, (a) => caps[a]!);
    assert.ok(full.work <= MAX_REROUTE_WORK_PER_EDGE * size, `default: ${full.work} arcs for ${size}`);
    const short = fillPots(grouped, (a) => caps[a]!, 1);
    // One path's walk past the budget at most (≤ 2 arcs per node of the chain).
    assert.ok(short.work <= size + 4 * (n + 1), `budget 1 per edge: ${short.work} arcs for ${size}`);
    assert.ok(short.work < full.work, `the budget stopped it: ${short.work} < ${full.work}`);
    const paid = (f: typeof full) => [...f.allocation.values()].reduce((x, y) => x + y, 0n);
    assert.ok(paid(short) <= paid(full), "a shorter search never pays more");
    for (const f of [full, short]) for (const [a, x] of f.allocation) assert.ok(x <= caps[a]!, `${a} within its cap`);
  });
});
