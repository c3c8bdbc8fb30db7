import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { describe, it } from "node:test";

import { compressPart, decompressPart } from "../../../keeper/transfer/compression.ts";
import {
  deriveTransferKey,
  generateEphemeralKeyPair,
  openPart,
  partNonce,
  sealPart,
} from "../../../keeper/transfer/crypto.ts";
import {
  AuthenticationFailedError,
  DecompressionFailedError,
  InvalidManifestError,
  MalformedFrameError,
} from "../../../keeper/transfer/errors.ts";
import { validateManifest } from "../../../keeper/transfer/manifest.ts";
import { Compression, type Manifest } from "../../../keeper/transfer/pb/transfer.ts";
import { compressibleData } from "./helpers.ts";

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
    const sealed = sealPart(key, 5n, objectId, 3, 0, plain);
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
  const partSize = 64 * 1024;
  const good = (): Manifest => ({
    objectId,
    size: BigInt(2 * partSize + 1),
    partSize,
    partHashes: [0, 1, 2].map(() => new Uint8Array(createHash("sha256").digest())),
    compression: Compression.NONE,
  });

  it("accepts a well-formed manifest", () => {
    assert.doesNotThrow(() => validateManifest(good(), objectId));
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
  ];
  for (const [name, mutate] of bad) {
    it(`rejects ${name}`, () => {
      const m = good();
      mutate(m);
      assert.throws(() => validateManifest(m, objectId), InvalidManifestError);
    });
  }
});
