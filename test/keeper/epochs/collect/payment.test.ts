import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { GIB } from "../../../../keeper/epochs/collect/constants.ts";
import { bytesPaidFor, creditBytes } from "../../../../keeper/epochs/collect/payment.ts";

const C1 = "0x00000000000000000000000000000000000000c1";
const C2 = "0x00000000000000000000000000000000000000C2";
const A = "0x00000000000000000000000000000000000000A1";
const B = "0x00000000000000000000000000000000000000b2";
const PRICE = 1000n; // token units per GiB
const terms = { weiPerGiB: PRICE, subsidyBps: 500n };

describe("epochs/collect/payment", () => {
  it("buys GiB at the price, rounding down", () => {
    assert.equal(bytesPaidFor(PRICE, PRICE), GIB);
    assert.equal(bytesPaidFor(1n, PRICE), GIB / 1000n);
    assert.equal(bytesPaidFor(0n, PRICE), 0n);
  });

  it("credits nothing to an account that was paid nothing, whatever it carried", () => {
    assert.deepEqual(creditBytes([{ consumer: C1, account: A, bytes: 100n * GIB, paid: 0n }], terms), []);
  });

  it("credits fully paid bytes, and no more than carried when the channel overpaid", () => {
    const [a] = creditBytes([{ consumer: C1, account: A, bytes: GIB, paid: 5n * PRICE }], terms);
    assert.deepEqual(a, { account: A, bytes: GIB, paidBytes: GIB, subsidisedBytes: 0n, credited: GIB });
  });

  it("adds unpaid bytes only up to the subsidy share of the paid bytes", () => {
    const [a] = creditBytes([{ consumer: C1, account: A, bytes: 10n * GIB, paid: 2n * PRICE }], terms);
    assert.equal(a!.paidBytes, 2n * GIB);
    assert.equal(a!.subsidisedBytes, (2n * GIB * 500n) / 10_000n, "5 % of 2 GiB, not the 8 GiB unpaid");
    assert.equal(a!.credited, 2n * GIB + (2n * GIB) / 20n);
  });

  it("credits all unpaid bytes when they are within the subsidy", () => {
    const [a] = creditBytes([{ consumer: C1, account: A, bytes: GIB + 1000n, paid: PRICE }], terms);
    assert.equal(a!.subsidisedBytes, 1000n);
    assert.equal(a!.credited, GIB + 1000n);
  });

  it("never moves a channel's payment to another channel's bytes", () => {
    // C1 overpays A's channel; C2 pays nothing for A's other bytes: the overpayment buys nothing there.
    const [a] = creditBytes(
      [
        { consumer: C1, account: A, bytes: GIB, paid: 10n * PRICE },
        { consumer: C2, account: A, bytes: 10n * GIB, paid: 0n },
      ],
      { ...terms, subsidyBps: 0n },
    );
    assert.equal(a!.credited, GIB);
    assert.equal(a!.bytes, 11n * GIB);
  });

  it("sums the flows of one channel before bounding them (addresses in any case)", () => {
    const out = creditBytes(
      [
        { consumer: C1, account: A, bytes: GIB, paid: 0n },
        { consumer: C1.toUpperCase().replace("0X", "0x"), account: A.toLowerCase(), bytes: GIB, paid: 2n * PRICE },
        { consumer: C2, account: B, bytes: GIB / 2n, paid: PRICE },
      ],
      terms,
    );
    assert.deepEqual(
      out.map((c) => [c.account, c.credited]),
      [
        [A, 2n * GIB],
        [B, GIB / 2n],
      ],
    );
  });

  it("refuses a zero price, a negative subsidy and negative flows", () => {
    assert.throws(() => creditBytes([], { weiPerGiB: 0n, subsidyBps: 0n }), RangeError);
    assert.throws(() => creditBytes([], { weiPerGiB: 1n, subsidyBps: -1n }), RangeError);
    assert.throws(() => creditBytes([{ consumer: C1, account: A, bytes: -1n, paid: 0n }], terms), RangeError);
  });

  it("bounds credit by (1 + subsidy) × paid bytes on random flows", () => {
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    for (let round = 0; round < 200; round++) {
      const flows = Array.from({ length: 1 + (next() % 6) }, () => ({
        consumer: next() % 2 ? C1 : C2,
        account: next() % 2 ? A : B,
        bytes: BigInt(next() % 5000) * 1_000_000n,
        paid: BigInt(next() % 7),
      }));
      for (const c of creditBytes(flows, terms)) {
        const paid = flows.filter((f) => f.account === c.account).reduce((s, f) => s + f.paid, 0n);
        assert.ok(c.credited <= c.bytes, `round ${round}: credited ≤ carried`);
        assert.ok(c.paidBytes <= bytesPaidFor(paid, PRICE), `round ${round}: paid bytes ≤ what was paid for`);
        assert.ok(c.credited <= c.paidBytes + (c.paidBytes * 500n) / 10_000n, `round ${round}: subsidy bounded`);
      }
    }
  });
});
