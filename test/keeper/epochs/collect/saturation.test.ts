import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { getAddress } from "ethers";

import { SHARE_SCALE } from "../../../../keeper/epochs/collect/constants.ts";
import { rewardOf, totalContribution } from "../../../../keeper/epochs/collect/contribution.ts";
import { LIFT_SCALE, saturate } from "../../../../keeper/epochs/collect/saturation.ts";

// Checksummed, as saturate passes them to bondOf.
const A = getAddress("0x00000000000000000000000000000000000000a1");
const B = getAddress("0x00000000000000000000000000000000000000b2");
const C = getAddress("0x00000000000000000000000000000000000000c3");
const terms = { saturationBps: 10_000n, minBond: 100n };
const R = 1_000_000n;

/** What RewardPool pays each entry of a saturated commitment. */
function onChainRewards(s: ReturnType<typeof saturate>): Map<string, bigint> {
  const total = totalContribution(s.entries);
  return new Map(s.entries.map((e) => [e.account, rewardOf(s.rewardTotal, e.contribution, total)]));
}

describe("epochs/collect/saturation", () => {
  it("pays each account its contribution share when no cap bites, with nothing withheld", () => {
    const s = saturate(
      [
        { account: A, contribution: 300n },
        { account: B, contribution: 700n },
      ],
      (a) => (a === A ? 300n : 700n),
      R,
      terms,
    );
    assert.equal(s.rewardTotal, R);
    assert.equal(s.withheld, 0n);
    assert.deepEqual(
      [...onChainRewards(s)],
      [
        [A, 300_000n],
        [B, 700_000n],
      ],
    );
    assert.ok(s.entries.every((e) => !e.capped));
  });

  it("caps an account at its bond share and withholds the excess instead of handing it to others", () => {
    // A carried 90 % on a 10 % bond: it earns 10 %; B keeps its 10 % share; 80 % stays in the pool.
    const s = saturate(
      [
        { account: A, contribution: 900n },
        { account: B, contribution: 100n },
      ],
      (a) => (a === A ? 100n : 900n),
      R,
      terms,
    );
    const rewards = onChainRewards(s);
    assert.equal(rewards.get(A), 100_000n);
    assert.equal(rewards.get(B), 100_000n);
    assert.equal(s.rewardTotal, 200_000n);
    assert.equal(s.withheld, 800_000n);
    assert.deepEqual(
      s.entries.map((e) => e.capped),
      [true, false],
    );
  });

  it("drops accounts without a bond or below the minimum from both sums", () => {
    const s = saturate(
      [
        { account: A, contribution: 500n },
        { account: B, contribution: 500n },
        { account: C, contribution: 500n },
      ],
      (a) => (a === A ? 1000n : a === B ? 99n : 0n),
      R,
      terms,
    );
    assert.deepEqual(
      s.entries.map((e) => e.account),
      [A],
    );
    assert.equal(s.entries[0]!.contribution, SHARE_SCALE, "A alone: share 1, bond share 1");
    assert.equal(s.rewardTotal, R);
  });

  it("gains nothing from splitting a bond over identities", () => {
    const whole = saturate(
      [
        { account: A, contribution: 10_000n },
        { account: C, contribution: 1000n },
      ],
      (a) => (a === A ? 200n : 800n),
      R,
      terms,
    );
    const split = saturate(
      [
        { account: A, contribution: 5000n },
        { account: B, contribution: 5000n },
        { account: C, contribution: 1000n },
      ],
      (a) => (a === C ? 800n : 100n),
      R,
      terms,
    );
    const w = onChainRewards(whole);
    const sp = onChainRewards(split);
    assert.ok((sp.get(A) ?? 0n) + (sp.get(B) ?? 0n) <= (w.get(A) ?? 0n) + 1n, "split ≤ whole (one unit of rounding)");
  });

  it("lets μ above 1× raise the cap to μ times the bond share", () => {
    const s = saturate(
      [
        { account: A, contribution: 900n },
        { account: B, contribution: 100n },
      ],
      (a) => (a === A ? 100n : 900n),
      R,
      { ...terms, saturationBps: 30_000n },
    );
    assert.equal(onChainRewards(s).get(A), 300_000n);
  });

  it("lifts the blocked region that holds the bond majority, never a busy minority beside it", () => {
    // H1 and H2 share consumer c1 and hold 60 % of the bonds; c1 paid for 70 % of the bytes, 10 % above their caps.
    // A (20 % of the bonds, its own consumer) carried 25 %; U (20 %) only 5 %. The honest region is lifted into U's
    // unused cap; A's starved pot is not a majority on its own and A stays at its bond share.
    const D = getAddress("0x00000000000000000000000000000000000000d4");
    const bonds = new Map([
      [A, 300n],
      [B, 300n],
      [C, 200n],
      [D, 200n],
    ]);
    const s = saturate(
      [
        { account: A, contribution: 400n, consumers: [{ consumer: "c1", bytes: 400n }] },
        { account: B, contribution: 300n, consumers: [{ consumer: "c1", bytes: 300n }] },
        { account: C, contribution: 250n, consumers: [{ consumer: "cA", bytes: 250n }] },
        { account: D, contribution: 50n, consumers: [{ consumer: "cU", bytes: 50n }] },
      ],
      (a) => bonds.get(a)!,
      R,
      terms,
    );
    const rewards = onChainRewards(s);
    assert.ok(s.lift > LIFT_SCALE, "the majority region was lifted");
    assert.ok(
      rewards.get(A)! + rewards.get(B)! >= 699_990n,
      `c1's 70 % reaches H1 and H2: ${rewards.get(A)! + rewards.get(B)!}`,
    );
    assert.ok(rewards.get(C)! <= 200_000n, `the busy minority stays at its bond share: ${rewards.get(C)}`);
    assert.equal(rewards.get(D), 50_000n);
  });

  it("commits nothing when no contributing account is bonded", () => {
    const s = saturate([{ account: A, contribution: 5n }], () => 0n, R, terms);
    assert.deepEqual(s, { entries: [], rewardTotal: 0n, withheld: R, lift: LIFT_SCALE });
  });

  it("refuses μ = 0 and a negative reward", () => {
    assert.throws(() => saturate([], () => 0n, R, { ...terms, saturationBps: 0n }), RangeError);
    assert.throws(() => saturate([], () => 0n, -1n, terms), RangeError);
  });

  it("never pays more than R, never an account beyond its own share in its own pot, and beyond μ·β_i only under a majority lift, on random epochs", () => {
    let seed = 11;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    const accounts = [A, B, C];
    let lifts = 0;
    for (let round = 0; round < 300; round++) {
      const contributions = accounts.map((account) => ({ account, contribution: BigInt(next() % 10_000) }));
      const bonds = new Map(accounts.map((a) => [a, BigInt(next() % 5000)]));
      const s = saturate(contributions, (a) => bonds.get(a)!, R, terms);
      const rewards = onChainRewards(s);
      const live = contributions.filter((c) => c.contribution > 0n && bonds.get(c.account)! >= terms.minBond);
      const sumC = live.reduce((x, c) => x + c.contribution, 0n);
      const sumB = live.reduce((x, c) => x + bonds.get(c.account)!, 0n);
      let paid = 0n;
      let above = 0n;
      let unused = 0n;
      for (const [account, reward] of rewards) {
        const c = live.find((l) => l.account === account)!.contribution;
        const byShare = (R * c) / sumC;
        const byBond = (R * bonds.get(account)!) / sumB;
        // Each account is its own pot here: nothing is handed between accounts, only a lift raises a cap.
        assert.ok(reward <= byShare, `round ${round}: ${account} within its share`);
        if (s.lift === LIFT_SCALE) assert.ok(reward <= byBond, `round ${round}: ${account} within its bond cap`);
        if (reward > byBond) above += reward - byBond;
        else unused += byBond - reward;
        paid += reward;
      }
      for (const l of live) if (!rewards.has(l.account)) unused += (R * bonds.get(l.account)!) / sumB;
      if (s.lift !== LIFT_SCALE) {
        lifts++;
        assert.ok(above <= unused + 3n, `round ${round}: a lift pays above the caps only out of unused caps`);
      }
      assert.ok(paid <= s.rewardTotal && s.rewardTotal + s.withheld === R, `round ${round}: totals`);
    }
    assert.ok(lifts > 0, "the random epochs include some where a capped majority is lifted");
  });
});
