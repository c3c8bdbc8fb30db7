import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { settleCutoff } from "../../../keeper/payment/index.ts";

describe("settlement cutoff", () => {
  const terms = { gridMs: 60_000, windowMs: 120_000 };

  it("is the epoch's end floored to the grid plus the window, the same for every keeper", () => {
    const end = 1_700_000_000_000 + 42_123; // mid-minute
    const floored = Math.floor(end / 60_000) * 60_000;
    assert.equal(settleCutoff(end, 0, terms), (floored + 120_000) / 1000);
    assert.equal(settleCutoff(floored, 0, terms), settleCutoff(floored + 59_999, 0, terms), "one cron tick, one block");
  });

  it("after a late previous commitment, is that commitment plus a quarter of the window", () => {
    const end = 1_700_000_040_000;
    const lateCommit = end / 1000 + 300; // committed 5 min after this epoch's end
    assert.equal(settleCutoff(end, lateCommit, terms), lateCommit + 30);
  });

  it("keeps epochs shorter than the window from falling ever further behind", () => {
    // 60 s epochs, each committed 10 s after its cutoff: the lag behind the epoch's end stays bounded.
    const epochMs = 60_000;
    let commit = 0;
    const lags: number[] = [];
    for (let e = 1; e <= 50; e++) {
      const end = 1_700_000_000_000 + e * epochMs;
      commit = settleCutoff(end, commit, terms) + 10;
      lags.push(commit - end / 1000);
    }
    assert.ok(Math.max(...lags) <= 130, `lag behind the end at most window + 10 s (max ${Math.max(...lags)} s)`);
    assert.equal(lags[49], lags[10], "steady, not growing");
  });
});
