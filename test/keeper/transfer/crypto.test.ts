import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { describe, it } from "node:test";

import { compressPart, decompressPart } from "../../../keeper/transfer/compression.ts";
import {
  deriveTransferKey,
  generateEphemeralKeyPair,
  openPart,
  openPartHashed,
  partNonce,
  sealPart,
} from "../../../keeper/transfer/crypto.ts";
import {
  AuthenticationFailedError,
  DecompressionFailedError,
  InvalidManifestError,
  MalformedFrameError,
} from "../../../keeper/transfer/errors.ts";
import { encodePartFrame, readPartView } from "../../../keeper/transfer/framing.ts";
import { varintLength } from "../../../keeper/wire/index.ts";
import { defaultPartSize, validateManifest } from "../../../keeper/transfer/manifest.ts";
import { DEFAULT_PART_SIZE, MAX_PART_SIZE, MAX_PARTS } from "../../../keeper/transfer/constants.ts";
import { Compression, ProviderFrame, type Manifest } from "../../../keeper/transfer/pb/transfer.ts";
import { Uint8ArrayList } from "uint8arraylist";
import { compressibleData, expectedObjectId } from "./helpers.ts";

const objectId = new Uint8Array(randomBytes(32));

function keys(consumer = "consumer", provider = "provider") {
  const c = generateEphemeralKeyPair();
  const p = generateEphemeralKeyPair();
  const ctx = { consumer, provider, objectId, consumerEphemeral: c.publicKey, providerEphemeral: p.publicKey };
  return {
    consumerKey: deriveTransferKey(c.privateKey, p.publicKey, ctx),
    providerKey: deriveTransferKey(p.privateKey, c.publicKey, ctx),
    c,
    p,
  };
}

describe("transfer crypto", () => {
  it("derives the same session key on both sides, and a different one per session and per peer pair", () => {
    const a = keys();
    assert.deepEqual(a.consumerKey, a.providerKey);
    assert.notDeepEqual(keys().consumerKey, a.consumerKey, "fresh ephemeral keys give a fresh session key");
    const ctx = {
      consumer: "consumer",
      provider: "someone-else",
      objectId,
      consumerEphemeral: a.c.publicKey,
      providerEphemeral: a.p.publicKey,
    };
    assert.notDeepEqual(deriveTransferKey(a.c.privateKey, a.p.publicKey, ctx), a.consumerKey, "bound to the peer ids");
  });

  it("never repeats a nonce within a session", () => {
    const seen = new Set<string>();
    for (let seq = 0n; seq < 10_000n; seq++) seen.add(partNonce(seq).toString("hex"));
    assert.equal(seen.size, 10_000);
    assert.equal(partNonce(2n ** 64n - 1n).length, 12);
  });

  it("refuses an ephemeral key of the wrong length or a low-order point", () => {
    const own = generateEphemeralKeyPair();
    const ctx = {
      consumer: "c",
      provider: "p",
      objectId,
      consumerEphemeral: own.publicKey,
      providerEphemeral: own.publicKey,
    };
    assert.throws(() => deriveTransferKey(own.privateKey, new Uint8Array(31), ctx), MalformedFrameError);
    assert.throws(() => deriveTransferKey(own.privateKey, new Uint8Array(32), ctx), MalformedFrameError);
  });

  it("authenticates the part index, sequence, compression and object id", () => {
    const { consumerKey: key } = keys();
    const plain = randomBytes(1000);
    const sealed = Buffer.concat(sealPart(key, 5n, objectId, 3, 0, plain));
    assert.deepEqual(openPart(key, 5n, objectId, 3, 0, sealed), plain);
    const other = new Uint8Array(randomBytes(32));
    for (const [what, open] of [
      ["index", () => openPart(key, 5n, objectId, 4, 0, sealed)],
      ["sequence", () => openPart(key, 6n, objectId, 3, 0, sealed)],
      ["compression", () => openPart(key, 5n, objectId, 3, 1, sealed)],
      ["object", () => openPart(key, 5n, other, 3, 0, sealed)],
      ["truncated", () => openPart(key, 5n, objectId, 3, 0, sealed.subarray(0, 10))],
    ] as const) {
      assert.throws(open, AuthenticationFailedError, what);
    }
  });

  it("compresses only when it pays and refuses to decompress beyond the declared size", () => {
    const text = compressibleData(256 * 1024);
    const packed = compressPart(Compression.ZSTD, text);
    assert.equal(packed.compression, Compression.ZSTD);
    assert.ok(packed.data.length < text.length / 2);
    assert.deepEqual(decompressPart(packed.compression, packed.data, text.length, 0), text);
    assert.throws(() => decompressPart(packed.compression, packed.data, text.length - 1, 0), DecompressionFailedError);
    assert.equal(compressPart(Compression.ZSTD, randomBytes(256 * 1024)).compression, Compression.NONE);
    assert.equal(compressPart(Compression.NONE, text).compression, Compression.NONE);
  });
});

describe("manifest validation", () => {
  it("publishes with the default part size, doubled only while an object would exceed MAX_PARTS parts", () => {
    assert.equal(defaultPartSize(0), DEFAULT_PART_SIZE);
    assert.equal(defaultPartSize(MAX_PARTS * DEFAULT_PART_SIZE), DEFAULT_PART_SIZE);
    assert.equal(defaultPartSize(MAX_PARTS * DEFAULT_PART_SIZE + 1), 2 * DEFAULT_PART_SIZE);
    assert.equal(defaultPartSize(MAX_PARTS * MAX_PART_SIZE * 2), MAX_PART_SIZE, "capped: publish then refuses it");
  });

  const partSize = 64 * 1024;
  const data = randomBytes(2 * partSize + 1);
  const id = new Uint8Array(expectedObjectId(data, partSize));
  const good = (): Manifest => ({
    objectId: id,
    size: BigInt(data.length),
    partSize,
    partHashes: [0, 1, 2].map(
      (i) =>
        new Uint8Array(
          createHash("sha256")
            .update(data.subarray(i * partSize, (i + 1) * partSize))
            .digest(),
        ),
    ),
    compression: Compression.NONE,
  });

  it("accepts a well-formed manifest whose part hashes hash to the id", () => {
    assert.doesNotThrow(() => validateManifest(good(), id));
  });

  const bad: Array<[string, (m: Manifest) => void]> = [
    ["another object", (m) => (m.objectId = new Uint8Array(32))],
    ["a part size below the minimum", (m) => (m.partSize = 1024)],
    ["a part size above the maximum", (m) => (m.partSize = 64 * 1024 * 1024)],
    ["too few part hashes", (m) => m.partHashes.pop()],
    ["too many part hashes", (m) => m.partHashes.push(new Uint8Array(32))],
    ["a short part hash", (m) => (m.partHashes[1] = new Uint8Array(31))],
    ["a size beyond the part limit", (m) => (m.size = 2n ** 40n)],
    ["an unknown codec", (m) => (m.compression = 7 as unknown as Compression)],
    ["two part hashes swapped", (m) => ([m.partHashes[0], m.partHashes[1]] = [m.partHashes[1], m.partHashes[0]])],
    ["a part hash of other bytes", (m) => (m.partHashes[2] = new Uint8Array(createHash("sha256").digest()))],
    ["a size one byte short (same part count)", (m) => (m.size -= 1n)],
    ["another part size", (m) => ((m.partSize = 2 * partSize), (m.partHashes = m.partHashes.slice(0, 2)))],
  ];
  for (const [name, mutate] of bad) {
    it(`rejects ${name}`, () => {
      const m = good();
      mutate(m);
      assert.throws(() => validateManifest(m, id), InvalidManifestError);
    });
  }
});

/** Splits `bytes` into chunks of the given sizes (the last takes the rest), as a stream would deliver them. */
function chunked(bytes: Uint8Array, sizes: number[]): Uint8ArrayList {
  const out = new Uint8ArrayList();
  let o = 0;
  for (const n of sizes) {
    out.append(bytes.subarray(o, Math.min(o + n, bytes.length)));
    o += n;
  }
  if (o < bytes.length) out.append(bytes.subarray(o));
  return out;
}

describe("zero-copy part frames", () => {
  const { consumerKey: key } = keys();
  const plain = randomBytes(100_000);
  const sealed = sealPart(key, 7n, objectId, 3, 0, plain);
  const framed = encodePartFrame(3, 7n, 0, sealed).subarray();
  // strip the frame's varint length prefix
  const prefix = [1, 2, 3, 4, 5].find((p) => varintLength(framed.length - p) === p)!;
  const frameBody = framed.subarray(prefix);

  it("reads a Part frame's fields and ciphertext views exactly as the protobuf decoder does", () => {
    const decoded = ProviderFrame.decode(frameBody).part!;
    for (const sizes of [[frameBody.length], [1, 2, 3], [4096, 4096], [frameBody.length - 10, 5]]) {
      const view = readPartView(chunked(frameBody, sizes));
      assert.ok(view !== undefined, `layout read with chunks ${sizes.join(",")}`);
      assert.equal(view.index, decoded.index);
      assert.equal(view.seq, decoded.seq);
      assert.equal(view.compression, 0);
      assert.equal(view.ciphertextLength, decoded.ciphertext.length);
      assert.ok(Buffer.concat(view.ciphertext).equals(decoded.ciphertext), "same ciphertext bytes");
    }
  });

  it("leaves other layouts to the decoder", () => {
    const error = ProviderFrame.encode({ error: { code: "NOT_FOUND" as never, message: "no" } });
    assert.equal(readPartView(new Uint8ArrayList(error)), undefined, "an Error frame");
    const trailing = Buffer.concat([frameBody, Buffer.from([0x08, 0x01])]);
    assert.equal(readPartView(new Uint8ArrayList(trailing)), undefined, "a field after the part");
  });

  it("decrypts and hashes in one pass whatever the chunking, the tag split across chunks included", () => {
    const ciphertext = Buffer.concat(sealed);
    const digest = createHash("sha256").update(plain).digest();
    for (const sizes of [[ciphertext.length], [65536, 65536], [ciphertext.length - 8, 4], [ciphertext.length - 16]]) {
      const list = chunked(ciphertext, sizes);
      const out = openPartHashed(key, 7n, objectId, 3, 0, [...list], ciphertext.length);
      assert.ok(Buffer.concat(out.plain).equals(plain), `plaintext with chunks ${sizes.join(",")}`);
      assert.ok(out.digest.equals(digest), "digest of the plaintext");
    }
  });

  it("refuses a tampered chunk or tag, whatever the chunking", () => {
    const ciphertext = Buffer.concat(sealed);
    for (const at of [0, 70_000, ciphertext.length - 1]) {
      const bad = Buffer.from(ciphertext);
      bad[at] ^= 1;
      assert.throws(
        () => openPartHashed(key, 7n, objectId, 3, 0, [...chunked(bad, [65536, 34000])], bad.length),
        AuthenticationFailedError,
        `byte ${at} flipped`,
      );
    }
    assert.throws(
      () => openPartHashed(key, 8n, objectId, 3, 0, [ciphertext], ciphertext.length),
      AuthenticationFailedError,
    );
    assert.throws(
      () => openPartHashed(key, 7n, objectId, 3, 0, [ciphertext.subarray(0, 10)], 10),
      AuthenticationFailedError,
    );
  });
});
