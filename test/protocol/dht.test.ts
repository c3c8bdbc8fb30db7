/**
 * The private DHT (/lumora/kad/1.0.0, §1) and peer records (§4) against real keepers on loopback: the protocol
 * id, the passthrough address mapper (127.0.0.1 addresses are handed out), the signed record fetched with a raw
 * GET_VALUE and verified byte by byte from the document, and a forged record refused without a ban.
 * kad Message { 1: type, 2: key, 3: record { 1: key, 2: value }, 8: closerPeers { 1: id, 2: addrs } };
 * type FIND_NODE = 4, GET_VALUE = 1, PUT_VALUE = 0.
 */
import assert from "node:assert/strict";
import { createPublicKey, verify } from "node:crypto";
import { after, before, describe, it } from "node:test";

import type { Libp2p } from "@libp2p/interface";
import { peerIdFromMultihash, peerIdFromString } from "@libp2p/peer-id";
import { multiaddr } from "@multiformats/multiaddr";
import * as Digest from "multiformats/hashes/digest";

import { testKeeper, type TestKeeper } from "./helpers/keeper.ts";
import { concat, encode, Message } from "./helpers/pb.ts";
import { open, plainPeer, until } from "./helpers/peer.ts";

const KAD = "/lumora/kad/1.0.0";
const FIND_NODE = 4;
const GET_VALUE = 1;
const PUT_VALUE = 0;
const utf8 = (s: string) => new TextEncoder().encode(s);

describe("/lumora/kad/1.0.0 and peer records", { timeout: 60_000 }, () => {
  let a: TestKeeper;
  let b: TestKeeper;
  const peers: Libp2p[] = [];
  const peer = async () => {
    const p = await plainPeer();
    peers.push(p);
    return p;
  };
  const kad = async (p: Libp2p, to: TestKeeper, body: Uint8Array) => {
    const s = await open(p, to.address, KAD);
    await s.send(body);
    const reply = await s.readFrame();
    await s.closeWrite();
    return { reply: reply === undefined ? undefined : Message.of(reply), stream: s };
  };
  const recordKey = (k: TestKeeper) => utf8("/lumora-peer/" + k.keeper.peerId.toString());
  const getRecord = async (p: Libp2p, from: TestKeeper, of: TestKeeper) => {
    const { reply } = await kad(
      p,
      from,
      encode([
        { n: 1, varint: GET_VALUE },
        { n: 2, bytes: recordKey(of) },
      ]),
    );
    return reply?.message(3)?.bytes(2);
  };

  before(async () => {
    a = await testKeeper("dht-a");
    b = await testKeeper("dht-b", { bootstrap: [a.keeper.addresses[0]!], dhtQuerySelfIntervalMs: 200 });
  });
  after(async () => {
    await Promise.all(peers.map((p) => p.stop()));
    await b?.stop();
    await a?.stop();
  });

  it("refuses the public /ipfs/kad/1.0.0", async () => {
    const p = await peer();
    await assert.rejects(
      p.dialProtocol(multiaddr(a.address), "/ipfs/kad/1.0.0", { signal: AbortSignal.timeout(5_000) }),
    );
  });

  it("answers FIND_NODE with closer peers carrying their 127.0.0.1 addresses (passthrough mapper)", async () => {
    const p = await peer();
    const key = peerIdFromString(a.keeper.peerId.toString()).toMultihash().bytes;
    let closer: Message[] = [];
    await until(
      "B to list A as a closer peer",
      async () => {
        const { reply } = await kad(
          p,
          b,
          encode([
            { n: 1, varint: FIND_NODE },
            { n: 2, bytes: key },
          ]),
        );
        assert.equal(reply?.uint(1), BigInt(FIND_NODE));
        closer = reply!.fields.filter((f) => f.n === 8).map((f) => Message.of(f.value as Uint8Array));
        return closer.length > 0;
      },
      10_000,
    );
    const entry = closer.find((c) => peerIdFromMultihash(Digest.decode(c.bytes(1))).equals(a.keeper.peerId));
    assert.ok(entry !== undefined, "A is among B's closer peers");
    const addrs = entry.repeatedBytes(2).map((x) => multiaddr(x).toString());
    assert.ok(
      addrs.some((x) => x.startsWith("/ip4/127.0.0.1/tcp/")),
      `loopback address kept: ${addrs.join(", ")}`,
    );
  });

  it("serves A's signed peer record under /lumora-peer/<id>, signed over 0x19 ‖ domain ‖ record", async () => {
    const value = await waitRecord(await peer(), a, a);
    // SignedPeerRecord { 1: record, 2: public_key, 3: signature }
    const signed = Message.of(value);
    const record = signed.bytes(1);
    const rec = Message.of(record);
    assert.ok(
      peerIdFromString(a.keeper.peerId.toString())
        .toMultihash()
        .bytes.every((x, i) => rec.bytes(1)[i] === x),
    );
    assert.ok(rec.uint(2) >= 1n, "seq ≥ 1");
    assert.deepEqual(rec.bytes(10).length, 20, "reward address");
    // libp2p PublicKey { 1: KeyType (Ed25519 = 1), 2: Data }
    const pub = Message.of(signed.bytes(2));
    assert.equal(pub.uint(1), 1n);
    const key = createPublicKey({
      key: Buffer.concat([Buffer.from("302a300506032b6570032100", "hex"), pub.bytes(2)]),
      format: "der",
      type: "spki",
    });
    const domain = utf8("/lumora/peer-record/1.0.0");
    assert.equal(domain.length, 0x19);
    assert.ok(verify(null, concat(Uint8Array.of(0x19), domain, record), key, signed.bytes(3)), "signature verifies");
  });

  it("refuses a PUT_VALUE of a forged record (keeps the valid one) and does not ban the sender", async () => {
    const p = await peer();
    const genuine = await waitRecord(p, a, a);
    const forged = Message.of(genuine);
    const tampered = encode([
      { n: 1, bytes: forged.bytes(1) },
      { n: 2, bytes: forged.bytes(2) },
      { n: 3, bytes: new Uint8Array(64) }, // a signature that cannot verify
    ]);
    const { stream } = await kad(
      p,
      a,
      encode([
        { n: 1, varint: PUT_VALUE },
        { n: 2, bytes: recordKey(a) },
        {
          n: 3,
          bytes: encode([
            { n: 1, bytes: recordKey(a) },
            { n: 2, bytes: tampered },
          ]),
        },
      ]),
    );
    assert.equal(stream.end, "reset", "the put is refused with a reset, no answer");
    assert.deepEqual(await getRecord(p, a, a), genuine, "the stored record is unchanged");
    assert.equal(a.keeper.bans.isBanned(p.peerId), false, "a rejected record never bans");
  });

  /** A's record as served by `from` (published asynchronously after start). */
  async function waitRecord(p: Libp2p, from: TestKeeper, of: TestKeeper): Promise<Uint8Array> {
    let value: Uint8Array | undefined;
    await until("the peer record", async () => (value = await getRecord(p, from, of)) !== undefined, 10_000);
    return value!;
  }
});
