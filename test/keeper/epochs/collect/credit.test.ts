import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { GIB } from "../../../../keeper/epochs/collect/constants.ts";
import { computePaidContributions } from "../../../../keeper/epochs/collect/credit.ts";

const A = "0x00000000000000000000000000000000000000A1";
const B = "0x00000000000000000000000000000000000000b2";
const VC = "0x00000000000000000000000000000000000000C1";
const PRICE = 1000n;

const base = {
  addressOf: (id: string) => ({ pa: A, pa2: A, pb: B })[id],
  consumerAccountOf: (id: string) => (id === "c" ? VC : undefined),
  payment: { weiPerGiB: PRICE, subsidyBps: 0n },
};

describe("epochs/collect/credit", () => {
  it("credits a provider's receipts only as far as their consumer paid on its channel", () => {
    const out = computePaidContributions({
      ...base,
      receipts: [
        { hash: "h1", provider: "pa", consumer: "c", bytes: 3n * GIB },
        { hash: "h2", provider: "pa2", consumer: "c", bytes: GIB },
        { hash: "h3", provider: "pb", consumer: "c", bytes: GIB },
      ],
      outcomes: [],
      paidOf: (consumer, account) => (consumer === VC && account === A ? 2n * PRICE : consumer === VC ? PRICE : 0n),
    });
    assert.deepEqual(
      out.map((c) => [c.account, c.bytes, c.contribution]),
      [
        [A, 2n * GIB, 2n * GIB],
        [B, GIB, GIB],
      ],
    );
  });

  it("counts a receipt once, never a consumer's receipt to itself, and nothing for consumers without vouchers", () => {
    const out = computePaidContributions({
      ...base,
      receipts: [
        { hash: "h1", provider: "pa", consumer: "c", bytes: GIB },
        { hash: "h1", provider: "pa", consumer: "c", bytes: GIB },
        { hash: "h2", provider: "pb", consumer: "pb", bytes: GIB },
        { hash: "h3", provider: "pb", consumer: "stranger", bytes: 5n * GIB },
        { hash: "h4", provider: "unknown", consumer: "c", bytes: GIB },
      ],
      outcomes: [],
      paidOf: () => 100n * PRICE,
    });
    assert.deepEqual(
      out.map((c) => [c.account, c.bytes]),
      [[A, GIB]],
    );
  });

  it("weights the credited bytes by the account's outcomes as contribution.ts does", () => {
    const [a] = computePaidContributions({
      ...base,
      receipts: [{ hash: "h1", provider: "pa", consumer: "c", bytes: 3n * GIB }],
      outcomes: [{ peerId: "pa", successes: 0, failures: 2 }],
      paidOf: () => 3n * PRICE,
    });
    assert.equal(a!.contribution, GIB);
  });
});
