/**
 * A ranged stream read (FetchOptions.range): a reader seeking into an object gets the verified parts that cover
 * its byte range, in order, over the ordinary session — what audits read too (keeper/audit/fetch.ts).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { afterEach, describe, it } from "node:test";

import { verifyReceipt } from "../../../keeper/transfer/index.ts";
import { Harness, randomData } from "./helpers.ts";

const PART = 64 * 1024;

describe("transfer ranged reads", () => {
  const h = new Harness();
  afterEach(() => h.cleanup());

  async function setup() {
    const data = randomData(10 * PART + 100);
    const provider = await h.peer({ init: { partSize: PART } });
    const consumer = await h.peer();
    const published = await provider.transfer.publish(await h.file(data), { announce: false });
    return { data, provider, consumer, objectId: published.objectId };
  }

  it("yields the whole parts covering the range, from the part holding its offset, and a receipt for those parts", async () => {
    const { data, provider, consumer, objectId } = await setup();
    // Bytes [3.5 parts, 6.25 parts): parts 3, 4, 5 and 6.
    const range = { offset: 3 * PART + PART / 2, length: 2 * PART + PART / 4 + PART / 2 };
    const chunks: Uint8Array[] = [];
    for await (const c of consumer.transfer.fetchStream(objectId, { providers: [provider.addr], range }))
      chunks.push(c);
    assert.ok(Buffer.concat(chunks).equals(data.subarray(3 * PART, 7 * PART)), "parts 3 to 6, byte for byte");
    const [signed] = consumer.transfer.receipts({ objectId });
    const receipt = await verifyReceipt(signed!);
    assert.deepEqual(receipt.parts, [3, 4, 5, 6], "the receipt names the parts read");
    assert.equal(receipt.plainBytes, BigInt(4 * PART));
  });

  it("reads the last, short part when the range reaches the end", async () => {
    const { data, provider, consumer, objectId } = await setup();
    const range = { offset: data.length - 10, length: 10 };
    const chunks: Uint8Array[] = [];
    for await (const c of consumer.transfer.fetchStream(objectId, { providers: [provider.addr], range }))
      chunks.push(c);
    assert.ok(Buffer.concat(chunks).equals(data.subarray(10 * PART)), "the 100-byte last part");
  });

  it("refuses a range beyond the object, an empty one, and a range into a file", async () => {
    const { data, provider, consumer, objectId } = await setup();
    const read = async (range: { offset: number; length: number }) => {
      for await (const _ of consumer.transfer.fetchStream(objectId, { providers: [provider.addr], range }));
    };
    await assert.rejects(read({ offset: data.length - 5, length: 6 }), { code: "ERR_INVALID_INPUT" });
    await assert.rejects(read({ offset: 0, length: 0 }), { code: "ERR_INVALID_INPUT" });
    const to = join(await h.dir(), "out.bin");
    await assert.rejects(
      consumer.transfer.fetch(objectId, { providers: [provider.addr], to, range: { offset: 0, length: 1 } }),
      { code: "ERR_INVALID_INPUT" },
    );
  });
});
