import assert from "node:assert/strict";
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, it } from "node:test";

import { routingTableSize } from "../../../keeper/p2p/index.ts";
import { DEFAULT_PART_SIZE } from "../../../keeper/transfer/constants.ts";
import { objectCid, verifyReceipt } from "../../../keeper/transfer/index.ts";
import { waitFor } from "../helpers.ts";
import { compressibleData, expectedObjectId, Harness, randomData } from "./helpers.ts";

const PART = 64 * 1024;

describe("transfer round trips", () => {
  const h = new Harness();
  afterEach(() => h.cleanup());

  const cases: Array<[string, number, "random" | "compressible"]> = [
    ["0 bytes", 0, "random"],
    ["1 byte", 1, "random"],
    ["part size − 1", PART - 1, "random"],
    ["part size", PART, "compressible"],
    ["part size + 1", PART + 1, "random"],
    ["several parts, random", 7 * PART + 123, "random"],
    ["several parts, compressible", 9 * PART + 5, "compressible"],
  ];

  for (const [name, size, kind] of cases) {
    it(`fetches ${name} (${kind}) byte for byte, to a file and as a stream`, async () => {
      const data = kind === "random" ? randomData(size) : compressibleData(size);
      const provider = await h.peer({ init: { partSize: PART } });
      const consumer = await h.peer();
      const published = await provider.transfer.publish(await h.file(data), { announce: false });
      assert.equal(published.objectId, expectedObjectId(data, PART).toString("hex"), "id = root of part hashes");
      const to = join(await h.dir(), "out.bin");
      const result = await consumer.transfer.fetch(published.objectId, { providers: [provider.addr], to });
      assert.ok((await readFile(to)).equals(data), "file content");
      assert.equal(result.parts, Math.ceil(size / PART));
      const chunks: Uint8Array[] = [];
      for await (const c of consumer.transfer.fetchStream(published.objectId, { providers: [provider.addr] }))
        chunks.push(c);
      assert.ok(Buffer.concat(chunks).equals(data), "stream content");
      if (size > 0) {
        const [c] = consumer.transfer.contributions(published.objectId);
        assert.equal(c.provider, provider.id);
        const receipt = await verifyReceipt(result.receipts[0]);
        assert.equal(receipt.provider, provider.id);
        assert.equal(receipt.consumer, consumer.id);
        assert.equal(receipt.plainBytes, BigInt(size));
        assert.equal(receipt.bytes, BigInt(result.providers[0].wireBytes), "credited what was carried");
        assert.equal(c.bytes, 2 * Number(receipt.bytes), "two fetches credited");
        assert.equal(receipt.parts.length, result.parts);
      }
    });
  }

  it("sends compressible parts compressed and random parts raw", async () => {
    const provider = await h.peer();
    const consumer = await h.peer();
    for (const [data, compressed] of [
      [compressibleData(3 * DEFAULT_PART_SIZE), true],
      [randomData(3 * DEFAULT_PART_SIZE), false],
    ] as const) {
      const published = await provider.transfer.publish(await h.file(data), { announce: false });
      assert.equal(published.manifest.compression, compressed ? "ZSTD" : "NONE");
      const to = join(await h.dir(), "out.bin");
      const before = { ...provider.transfer.providerStats };
      await consumer.transfer.fetch(published.objectId, { providers: [provider.addr], to });
      assert.equal((await stat(to)).size, data.length);
      const sent = provider.transfer.providerStats.bytesSent - before.bytesSent;
      const served = provider.transfer.providerStats.bytesServed - before.bytesServed;
      assert.equal(served, data.length);
      if (compressed) assert.ok(sent < data.length / 2, `compressed: sent ${sent} for ${data.length}`);
      else assert.equal(sent, data.length + 3 * 16, "random parts go raw (plus GCM tags)");
    }
  });

  it("credits a highly compressible payload at its wire size, not its plaintext size", async () => {
    const provider = await h.peer();
    const consumer = await h.peer();
    const data = Buffer.alloc(8 * DEFAULT_PART_SIZE, "lumora "); // compresses ≈ 1000:1
    const { objectId } = await provider.transfer.publish(await h.file(data), { announce: false });
    const before = provider.transfer.providerStats.bytesSent;
    const result = await consumer.transfer.fetch(objectId, {
      providers: [provider.addr],
      to: join(await h.dir(), "out.bin"),
    });
    const sent = provider.transfer.providerStats.bytesSent - before;
    const receipt = await verifyReceipt(result.receipts[0]);
    assert.equal(receipt.bytes, BigInt(sent), "the receipt credits exactly the bytes the provider sent");
    assert.equal(receipt.plainBytes, BigInt(data.length));
    assert.ok(sent < data.length / 100, `sent ${sent} bytes for ${data.length}`);
    const [credit] = consumer.transfer.contributions(objectId);
    assert.equal(credit.bytes, sent, "the consumer's contribution record credits the same");
  });

  it("fetches 100 MiB of random data to a file", async () => {
    const data = randomData(100 * 1024 * 1024);
    const provider = await h.peer();
    const consumer = await h.peer();
    const { objectId, parts } = await provider.transfer.publish(await h.file(data), { announce: false });
    const to = join(await h.dir(), "out.bin");
    const result = await consumer.transfer.fetch(objectId, { providers: [provider.addr], to });
    assert.equal(result.parts, parts);
    assert.equal(expectedObjectId(await readFile(to), DEFAULT_PART_SIZE).toString("hex"), objectId);
  });

  it("announces a published object in the DHT under its CID", async () => {
    const provider = await h.peer();
    const consumer = await h.peer();
    await consumer.node.dial(provider.node.getMultiaddrs()[0]);
    await waitFor(
      () => routingTableSize(consumer.node) >= 1 && routingTableSize(provider.node) >= 1,
      15_000,
      "identify to put each peer in the other's DHT routing table",
    );
    const published = await provider.transfer.publish(await h.file(randomData(5000)), { announce: true });
    assert.equal(published.announced, true);
    assert.equal(published.cid.toString(), objectCid(Buffer.from(published.objectId, "hex")).toString());
    const found: string[] = [];
    for await (const p of consumer.node.contentRouting.findProviders(published.cid, {
      signal: AbortSignal.timeout(10_000),
    })) {
      found.push(p.id.toString());
      break;
    }
    assert.deepEqual(found, [provider.id]);
  });

  it("rejects a forged receipt", async () => {
    const provider = await h.peer();
    const consumer = await h.peer();
    const data = randomData(1000);
    const { objectId } = await provider.transfer.publish(await h.file(data), { announce: false });
    const result = await consumer.transfer.fetch(objectId, {
      providers: [provider.addr],
      to: join(await h.dir(), "o"),
    });
    const forged = { body: Uint8Array.from(result.receipts[0].body), signature: result.receipts[0].signature };
    forged.body[forged.body.length - 1] ^= 1;
    await assert.rejects(verifyReceipt(forged), /signature does not verify|does not decode/);
    assert.equal(consumer.transfer.receipts({ objectId }).length, 1);
  });
});
