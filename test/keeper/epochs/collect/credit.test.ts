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

  it("splits an account's credited bytes by consumer; its unpaid bytes are a pot of its own", () => {
    const VD = "0x00000000000000000000000000000000000000D1";
    const [a] = computePaidContributions({
      ...base,
      consumerAccountOf: (id: string) => ({ c: VC, d: VD })[id],
      payment: { weiPerGiB: PRICE, subsidyBps: 5000n },
      receipts: [
        { hash: "h1", provider: "pa", consumer: "c", bytes: 2n * GIB },
        { hash: "h2", provider: "pa", consumer: "d", bytes: GIB },
        { hash: "h3", provider: "pa", consumer: "stranger", bytes: GIB },
      ],
      outcomes: [],
      paidOf: (consumer) => (consumer === VC ? 2n * PRICE : 0n),
    });
    // c paid its 2 GiB; d paid nothing, the stranger has no voucher: 2 GiB unpaid, 1 GiB of subsidy (50 % of the
    // paid bytes) shared in proportion to them.
    assert.deepEqual(a!.consumers, [
      { consumer: VC, bytes: 2n * GIB },
      { consumer: VD, bytes: GIB / 2n },
      { consumer: `unpaid:${A}`, bytes: GIB / 2n },
    ]);
    assert.equal(a!.bytes, 3n * GIB);
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
