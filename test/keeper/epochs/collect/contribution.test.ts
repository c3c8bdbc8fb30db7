import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { getAddress } from "ethers";

import {
  computeContributions,
  contributionOf,
  rewardOf,
  rewardTotalFor,
  totalContribution,
} from "../../../../keeper/epochs/collect/contribution.ts";

const A = "0x00000000000000000000000000000000000000A1";
const B = "0x00000000000000000000000000000000000000b2";
const addressOf = (id: string) => ({ pa: A, pa2: A, pb: B })[id];

describe("epochs/contribution", () => {
  it("weights bytes by (S + 1) / (S + F + 1), rounding down", () => {
    assert.equal(contributionOf(1000n, 0, 0), 1000n);
    assert.equal(contributionOf(1000n, 9, 0), 1000n);
    assert.equal(contributionOf(1000n, 1, 1), 666n);
    assert.equal(contributionOf(1000n, 0, 3), 250n);
    assert.equal(contributionOf(0n, 5, 0), 0n);
  });

  it("sums an account's peers, dedupes receipts by hash and ignores unknown providers", () => {
    const out = computeContributions({
      receipts: [
        { hash: "h1", provider: "pa", consumer: "c", bytes: 10n },
        { hash: "h1", provider: "pa", consumer: "c", bytes: 10n },
        { hash: "h2", provider: "pa2", consumer: "c", bytes: 5n },
        { hash: "h3", provider: "pb", consumer: "c", bytes: 8n },
        { hash: "h4", provider: "unknown", consumer: "c", bytes: 100n },
      ],
      outcomes: [
        { peerId: "pb", successes: 0, failures: 1 },
        { peerId: "pa2", successes: 3, failures: 0 },
      ],
      addressOf,
    });
    assert.deepEqual(
      out.map((c) => [c.account, c.bytes, c.contribution]),
      [
        [getAddress(A), 15n, 15n],
        [getAddress(B), 8n, 4n],
      ],
    );
    assert.equal(totalContribution(out), 19n);
  });

  it("caps R_total by the unreserved balance and pays nothing for an empty epoch", () => {
    assert.equal(rewardTotalFor({ rewardPerEpoch: 100n }, 1000n, 5n), 100n);
    assert.equal(rewardTotalFor({ rewardPerEpoch: 100n }, 40n, 5n), 40n);
    assert.equal(rewardTotalFor({ rewardPerEpoch: 100n }, 1000n, 0n), 0n);
  });

  it("never pays out more than R_total in sum", () => {
    const cs = [7n, 11n, 13n, 1n];
    const total = totalContribution(cs.map((contribution) => ({ contribution })));
    const paid = cs.reduce((s, c) => s + rewardOf(1000n, c, total), 0n);
    assert.ok(paid <= 1000n, `paid ${paid}`);
  });
});
