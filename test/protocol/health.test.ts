/**
 * /lumora/health/1.0.0 against a real keeper, from docs/PROTOCOL.md §3 alone.
 * Heartbeat = HeartbeatAck = { 1: seq uint64, 2: sent_at_ms uint64, 3: load uint32, 4: capacity uint32 }; body ≤ 64.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import type { Libp2p } from "@libp2p/interface";

import { testKeeper, type TestKeeper } from "./helpers/keeper.ts";
import { concat, encode, Message } from "./helpers/pb.ts";
import { dialRefused, open, plainPeer, until } from "./helpers/peer.ts";

const HEALTH = "/lumora/health/1.0.0";

const heartbeat = (seq: number, sentAtMs = Date.now()) =>
  encode([
    { n: 1, varint: seq },
    { n: 2, varint: sentAtMs },
    { n: 3, varint: 0 },
    { n: 4, varint: 1 },
  ]);

describe("/lumora/health/1.0.0", { timeout: 60_000 }, () => {
  let k: TestKeeper;
  const peers: Libp2p[] = [];
  const peer = async () => {
    const p = await plainPeer();
    peers.push(p);
    return p;
  };

  before(async () => {
    k = await testKeeper("health", { capacity: 7 });
  });
  after(async () => {
    await Promise.all(peers.map((p) => p.stop()));
    await k.stop();
  });

  it("answers a Heartbeat with a HeartbeatAck echoing seq, with its clock and capacity, then closes", async () => {
    const s = await open(await peer(), k.address, HEALTH);
    const before = Date.now();
    await s.send(heartbeat(42));
    const ack = Message.of((await s.readFrame())!);
    assert.equal(ack.uint(1), 42n, "seq echoed");
    assert.ok(ack.uint(2) >= BigInt(before) && ack.uint(2) <= BigInt(Date.now()), "sent_at_ms is the keeper's clock");
    assert.equal(ack.uint(4), 7n, "capacity is the keeper's");
    assert.equal(ack.uint(3), 0n, "no load");
    await s.closeWrite();
    assert.deepEqual(await s.readToEnd(), [], "nothing after the ack");
    assert.equal(s.end, "closed");
  });

  it("resets on a body above 64 bytes, from the prefix alone, and bans the sender", async () => {
    const p = await peer();
    const s = await open(p, k.address, HEALTH);
    await s.sendRaw(Uint8Array.of(65)); // prefix only: 65 > 64
    assert.deepEqual(await s.readToEnd(), [], "no answer");
    assert.equal(s.end, "reset");
    await until("the keeper to ban us", () => k.keeper.bans.isBanned(p.peerId));
    await until("the connection to drop", () => p.getConnections().length === 0);
    assert.ok(await dialRefused(p, k.address, HEALTH), "a banned peer cannot reconnect");
  });

  it("resets on a non-minimal length prefix (penalised)", async () => {
    const p = await peer();
    const s = await open(p, k.address, HEALTH);
    await s.sendRaw(concat(Uint8Array.of(0x81, 0x00), new Uint8Array(1)));
    assert.deepEqual(await s.readToEnd(), []);
    assert.equal(s.end, "reset");
    await until("the keeper to ban us", () => k.keeper.bans.isBanned(p.peerId));
  });

  it("resets on a body that is not protobuf (penalised)", async () => {
    const p = await peer();
    const s = await open(p, k.address, HEALTH);
    await s.send(Uint8Array.of(0x0a, 0x05, 0x01)); // field 1, length-delimited, 5 bytes announced, 1 present
    assert.deepEqual(await s.readToEnd(), []);
    assert.equal(s.end, "reset");
    await until("the keeper to ban us", () => k.keeper.bans.isBanned(p.peerId));
  });

  it("resets on seq = 0 (ERR_INVALID_FIELD, penalised)", async () => {
    const p = await peer();
    const s = await open(p, k.address, HEALTH);
    await s.send(heartbeat(0));
    assert.deepEqual(await s.readToEnd(), []);
    assert.equal(s.end, "reset");
    await until("the keeper to ban us", () => k.keeper.bans.isBanned(p.peerId));
  });

  it("resets on a field of the wrong wire type (seq as bytes), penalised", async () => {
    const p = await peer();
    const s = await open(p, k.address, HEALTH);
    await s.send(
      encode([
        { n: 1, bytes: "abc" },
        { n: 2, varint: Date.now() },
      ]),
    );
    assert.deepEqual(await s.readToEnd(), []);
    assert.equal(s.end, "reset");
    await until("the keeper to ban us", () => k.keeper.bans.isBanned(p.peerId));
  });

  it("does not penalise a stream that ends before the Heartbeat", async () => {
    const p = await peer();
    const s = await open(p, k.address, HEALTH);
    await s.closeWrite();
    assert.deepEqual(await s.readToEnd(), []);
    assert.equal(s.end, "reset");
    // The next exchange on the same connection still succeeds: we were not banned.
    const again = await open(p, k.address, HEALTH);
    await again.send(heartbeat(1));
    assert.equal(Message.of((await again.readFrame())!).uint(1), 1n);
    assert.equal(k.keeper.bans.isBanned(p.peerId), false);
  });
});
