import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { liftBudgets } from "../../../../keeper/epochs/collect/lift.ts";
import type { Link } from "../../../../keeper/epochs/collect/pots.ts";

// A small region: H1 and H2 (honest, 30 each) share consumer c1; A1 and A2 (an attacker's two identities, 10 each)
// self-deal through their consumer cA. ΣB = 100: 20 more are held outside the region.
const bonds: Record<string, bigint> = { H1: 30n, H2: 30n, A1: 10n, A2: 10n, N: 10n };
const bondOf = (a: string) => bonds[a]!;
const honest: Link[] = [
  { pot: "c1", account: "H1", flow: 30_000n },
  { pot: "c1", account: "H2", flow: 30_000n },
];
const attacker: Link[] = [
  { pot: "cA", account: "A1", flow: 10_000n },
  { pot: "cA", account: "A2", flow: 10_000n },
];
const region = ["A1", "A2", "H1", "H2"];

describe("epochs/collect lift budgets", () => {
  it("lifts a part that joined the majority by selling to it nothing, however it is split", () => {
    // cA's consumer bought a few bytes from H1: H1 draws 5 from cA.
    const budgets = liftBudgets(region, [...honest, ...attacker, { pot: "cA", account: "H1", flow: 5n }], bondOf, 100n);
    // H1 and H2 reach half only together, with equal bonds: both are the core.
    assert.equal(budgets.get("H1"), null);
    assert.equal(budgets.get("H2"), null);
    assert.equal(budgets.get("A1"), 0n);
    assert.equal(budgets.get("A2"), 0n);
  });

  it("lifts an account that served the majority's consumer by its draw, and identities behind it by nothing", () => {
    // A1 served c1 (7); A2 draws from cA, which the core does not mostly draw.
    const budgets = liftBudgets(region, [...honest, ...attacker, { pot: "c1", account: "A1", flow: 7n }], bondOf, 100n);
    assert.equal(budgets.get("A1"), 7n);
    assert.equal(budgets.get("A2"), 0n);
    // N draws 30 % of c2, whose other 70 % H1 draws: it served a consumer of the majority's.
    const newcomer = liftBudgets(
      [...region, "N"],
      [...honest, { pot: "c2", account: "H1", flow: 7_000n }, { pot: "c2", account: "N", flow: 3_000n }],
      bondOf,
      100n,
    );
    assert.equal(newcomer.get("N"), 3_000n);
  });

  it("lifts nothing when only a sliver bought from the honest region would tip it over half", () => {
    // ΣB = 130: H1 and H2 hold 60 (under half), the attacker 20; H1's draw of 5 from cA is no link (under an eighth
    // of cA), so no component holds the majority.
    const budgets = liftBudgets(region, [...honest, ...attacker, { pot: "cA", account: "H1", flow: 5n }], bondOf, 130n);
    for (const a of region) assert.equal(budgets.get(a), 0n, a);
  });

  it("lifts nothing without a majority", () => {
    const minority = liftBudgets(["H1", "H2"], honest, bondOf, 200n);
    assert.equal(minority.get("H1"), 0n);
    assert.equal(minority.get("H2"), 0n);
  });

  it("finds the core through honest accounts beside the region, and keeps out a larger attacker that tipped it", () => {
    // The starved region: H1 and H2 (10 each) and the attacker's A1, A2 (15 each), joined by H1's draw of 5 from cA.
    // I (40, with room, outside the region) also served c1 (a seventh of it). ΣB = 100: H + A = 50 is no majority;
    // H + I is.
    const weights: Record<string, bigint> = { H1: 10n, H2: 10n, A1: 15n, A2: 15n, I: 40n };
    const links: Link[] = [
      ...honest,
      ...attacker,
      { pot: "cA", account: "H1", flow: 5n },
      { pot: "c1", account: "I", flow: 10_000n },
    ];
    const budgets = liftBudgets(region, links, (a) => weights[a]!, 100n);
    assert.equal(budgets.get("H1"), null, "the honest side holds the region's bond when I joins it");
    assert.equal(budgets.get("H2"), null);
    assert.equal(budgets.get("A1"), 0n);
    assert.equal(budgets.get("A2"), 0n);
  });

  it("does not let an identity lifted by what it served make its own pot the majority's (no trust laundering)", () => {
    // A2 served c1 6,000 and self-deals 4,000 through cA; A1 draws 3,000 from cA only.
    const budgets = liftBudgets(
      region,
      [
        ...honest,
        { pot: "c1", account: "A2", flow: 6_000n },
        { pot: "cA", account: "A2", flow: 4_000n },
        { pot: "cA", account: "A1", flow: 3_000n },
      ],
      bondOf,
      100n,
    );
    assert.equal(budgets.get("A2"), 6_000n, "A2: what it drew from the majority's consumer");
    assert.equal(budgets.get("A1"), 0n, "A1: nothing — cA is not the majority's");
  });
});
