/**
 * /lumora/transfer/2.0.0 against a real keeper (as provider), from docs/PROTOCOL.md §7 alone: the envelopes
 * (ConsumerFrame, ProviderFrame), the X25519 + HKDF session key with its byte layout, AES-256-GCM nonce and AAD,
 * zstd, the manifest and part hashes, the provider's Error frames — and that consumer violations never ban.
 */
import assert from "node:assert/strict";
import {
  createDecipheriv,
  createHash,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  randomBytes,
} from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { zstdDecompressSync } from "node:zlib";

import type { Libp2p } from "@libp2p/interface";
import { CID } from "multiformats/cid";

import { testKeeper, type TestKeeper } from "./helpers/keeper.ts";
import { concat, encode, Message } from "./helpers/pb.ts";
import { open, plainPeer, type RawStream } from "./helpers/peer.ts";

const TRANSFER = "/lumora/transfer/2.0.0";
const PART_SIZE = 16 * 1024;
// ErrorCode enum (§7).
const NOT_FOUND = 1n;
const BAD_REQUEST = 2n;
const UNSUPPORTED_VERSION = 5n;

const sha256 = (b: Uint8Array) => new Uint8Array(createHash("sha256").update(b).digest());
const u32be = (n: number) => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n);
  return b;
};
const lp = (b: Uint8Array) => concat(u32be(b.length), b);
const utf8 = (s: string) => new TextEncoder().encode(s);

/** A fresh X25519 key pair; the raw public key is the last 32 bytes of the SPKI DER. */
function ephemeral() {
  const { publicKey, privateKey } = generateKeyPairSync("x25519");
  const der = publicKey.export({ format: "der", type: "spki" });
  return { pub: new Uint8Array(der.subarray(der.length - 32)), privateKey };
}

// ConsumerFrame { 1: Hello { 1: version, 2: object_id, 3: ephemeral_key }, 2: PartRequest { 1: index } }
const hello = (version: number, objectId: Uint8Array, eph: Uint8Array) =>
  encode([
    {
      n: 1,
      bytes: encode([
        { n: 1, varint: version },
        { n: 2, bytes: objectId },
        { n: 3, bytes: eph },
      ]),
    },
  ]);
const partRequest = (index: number) => encode([{ n: 2, bytes: encode([{ n: 1, varint: index }]) }]);

/** ProviderFrame { 1: Welcome, 2: Part, 3: Error { 1: code, 2: message } } → the Error, or undefined. */
const errorOf = (body: Uint8Array) => Message.of(body).message(3);

describe("/lumora/transfer/2.0.0", { timeout: 60_000 }, () => {
  let k: TestKeeper;
  const peers: Libp2p[] = [];
  let data: Uint8Array;
  let objectId: Uint8Array;
  const peer = async () => {
    const p = await plainPeer();
    peers.push(p);
    return p;
  };

  before(async () => {
    k = await testKeeper("transfer");
    // Part 0 compresses (zeros), parts 1 and 2 do not (random): both codecs on the wire.
    data = concat(new Uint8Array(PART_SIZE), randomBytes(PART_SIZE + 1000));
    const file = join(k.dir, "object.bin");
    writeFileSync(file, data);
    // A lone keeper has no DHT peer to announce to: its provide() stores the local provider record at once, then
    // waits for peers until the signal ends it (publish serves the object anyway).
    await k.keeper.transfer.publish(file, { partSize: PART_SIZE, signal: AbortSignal.timeout(1_000) });
    // §7: object_id = SHA-256("lumora/object/2" ‖ u64be(size) ‖ u32be(part_size) ‖ part_hash_0 ‖ … ‖ part_hash_n−1).
    const partHashes: Uint8Array[] = [];
    for (let at = 0; at < data.length; at += PART_SIZE) partHashes.push(sha256(data.subarray(at, at + PART_SIZE)));
    const size = new Uint8Array(8);
    new DataView(size.buffer).setBigUint64(0, BigInt(data.length));
    objectId = sha256(concat(utf8("lumora/object/2"), size, u32be(PART_SIZE), ...partHashes));
  });
  after(async () => {
    await Promise.all(peers.map((p) => p.stop()));
    await k.stop();
  });

  it("announces the object under CIDv1(raw, multihash(sha2-256, object id)) — the object id itself as digest", async () => {
    const cidBytes = concat(Uint8Array.of(0x01, 0x55, 0x12, 0x20), objectId);
    const found: string[] = [];
    for await (const p of k.keeper.node.contentRouting.findProviders(CID.decode(cidBytes), {
      signal: AbortSignal.timeout(5_000),
    })) {
      found.push(p.id.toString());
      break;
    }
    assert.deepEqual(found, [k.keeper.peerId.toString()]);
  });

  it("serves a whole object: Hello → Welcome, PartRequests → sealed Parts in order, then closes", async () => {
    const p = await peer();
    const s = await open(p, k.address, TRANSFER);
    const mine = ephemeral();
    await s.send(hello(2, objectId, mine.pub));

    const welcome = Message.of((await s.readFrame())!).message(1);
    assert.ok(welcome !== undefined, "first ProviderFrame is a welcome");
    const theirs = welcome.bytes(1);
    assert.equal(theirs.length, 32);
    const manifest = welcome.message(2)!;
    assert.deepEqual(manifest.bytes(1), objectId);
    assert.equal(manifest.uint(2), BigInt(data.length));
    assert.equal(manifest.uint(3), BigInt(PART_SIZE));
    const hashes = manifest.repeatedBytes(4);
    assert.equal(hashes.length, Math.ceil(data.length / PART_SIZE));
    assert.equal(manifest.uint(5), 1n, "ZSTD offered: a part compresses");

    // Session key: HKDF-SHA-256(X25519, salt = c_eph ‖ p_eph, info = LP(label) ‖ LP(consumer) ‖ LP(provider) ‖ LP(id)).
    const shared = diffieHellman({
      privateKey: mine.privateKey,
      publicKey: createPublicKey({
        key: Buffer.concat([Buffer.from("302a300506032b656e032100", "hex"), theirs]),
        format: "der",
        type: "spki",
      }),
    });
    const info = concat(
      lp(utf8("lumora/transfer/2.0.0/key")),
      lp(utf8(p.peerId.toString())),
      lp(utf8(k.keeper.peerId.toString())),
      lp(objectId),
    );
    const key = Buffer.from(hkdfSync("sha256", shared, concat(mine.pub, theirs), info, 32));

    // Pipelined, out of index order: parts come back in request order with seq 0, 1, 2.
    const order = [2, 0, 1];
    for (const i of order) await s.send(partRequest(i));
    const out = new Uint8Array(data.length);
    const codecs: bigint[] = [];
    for (const [seq, index] of order.entries()) {
      const part = Message.of((await s.readFrame())!).message(2)!;
      assert.equal(part.uint(1), BigInt(index), "index in request order");
      assert.equal(part.uint(2), BigInt(seq), "seq counts Part frames");
      const compression = Number(part.uint(3));
      codecs[index] = BigInt(compression);
      const sealed = part.bytes(4);
      const nonce = concat(new Uint8Array(4), new Uint8Array(8));
      new DataView(nonce.buffer).setBigUint64(4, BigInt(seq));
      const d = createDecipheriv("aes-256-gcm", key, nonce, { authTagLength: 16 });
      d.setAAD(concat(objectId, u32be(index), Uint8Array.of(compression)));
      d.setAuthTag(sealed.subarray(sealed.length - 16));
      let plain = Buffer.concat([d.update(sealed.subarray(0, sealed.length - 16)), d.final()]);
      if (compression === 1) plain = zstdDecompressSync(plain);
      assert.deepEqual(sha256(plain), hashes[index], `part ${index} matches its hash`);
      out.set(plain, index * PART_SIZE);
    }
    assert.deepEqual(codecs, [1n, 0n, 0n], "zeros sent ZSTD, random bytes NONE");
    assert.deepEqual(
      out,
      data,
      "the parts reassemble the object (each checked against the manifest, the manifest against the id)",
    );
    await s.closeWrite();
    assert.deepEqual(await s.readToEnd(), []);
    assert.equal(s.end, "closed");
  });

  const refused = async (s: RawStream) => {
    const frames = await s.readToEnd();
    assert.equal(frames.length, 1, "exactly one frame: the Error");
    return errorOf(frames[0]!)!;
  };

  it("answers Error{UNSUPPORTED_VERSION} to a Hello of another version, then closes cleanly", async () => {
    const s = await open(await peer(), k.address, TRANSFER);
    await s.send(hello(1, objectId, ephemeral().pub));
    assert.equal((await refused(s)).uint(1), UNSUPPORTED_VERSION);
    assert.equal(s.end, "closed");
  });

  it("answers Error{NOT_FOUND} for an object it does not serve, then closes cleanly", async () => {
    const s = await open(await peer(), k.address, TRANSFER);
    await s.send(hello(2, randomBytes(32), ephemeral().pub));
    assert.equal((await refused(s)).uint(1), NOT_FOUND);
    assert.equal(s.end, "closed");
  });

  it("answers Error{BAD_REQUEST} then resets on an oversized first frame, and never bans", async () => {
    const p = await peer();
    const s = await open(p, k.address, TRANSFER);
    await s.sendRaw(Uint8Array.of(0x81, 0x08)); // prefix 1025 > 1 KiB
    const err = await refused(s);
    assert.equal(err.uint(1), BAD_REQUEST);
    assert.match(err.string(2), /exceeds/);
    assert.equal(s.end, "reset");
    assert.equal(k.keeper.bans.isBanned(p.peerId), false, "transfer violations do not ban");
  });

  it("answers Error{BAD_REQUEST} to an ephemeral key of the wrong length (a malformed Hello)", async () => {
    const p = await peer();
    const s = await open(p, k.address, TRANSFER);
    await s.send(hello(2, objectId, randomBytes(31)));
    assert.equal((await refused(s)).uint(1), BAD_REQUEST);
    assert.equal(s.end, "reset");
    assert.equal(k.keeper.bans.isBanned(p.peerId), false);
  });

  it("answers Error{BAD_REQUEST} to a part index beyond the manifest, after the Welcome", async () => {
    const p = await peer();
    const s = await open(p, k.address, TRANSFER);
    await s.send(hello(2, objectId, ephemeral().pub));
    assert.ok(Message.of((await s.readFrame())!).message(1) !== undefined, "welcome");
    await s.send(partRequest(3));
    assert.equal((await refused(s)).uint(1), BAD_REQUEST);
    assert.equal(s.end, "reset");
    assert.equal(k.keeper.bans.isBanned(p.peerId), false);
  });
});
