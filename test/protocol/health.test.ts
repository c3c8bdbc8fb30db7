/**
 * /lumora/health/2.0.0 against a real keeper, from docs/PROTOCOL.md §3 alone.
 * Probe = { 1: seq uint64, 2: target bytes, 3: incarnation uint64, 4: load uint32, 5: capacity uint32,
 * 6: updates repeated MemberUpdate }; Ack = the same with 2: reached bool; body ≤ 1024.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import type { Libp2p } from "@libp2p/interface";

import { testKeeper, type TestKeeper } from "./helpers/keeper.ts";
import { concat, encode, Message } from "./helpers/pb.ts";
import { dialRefused, open, plainPeer, until } from "./helpers/peer.ts";

const HEALTH = "/lumora/health/2.0.0";

const heartbeat = (seq: number, target?: Uint8Array) =>
  encode([
    { n: 1, varint: seq },
    ...(target === undefined ? [] : [{ n: 2, bytes: target }]),
    { n: 3, varint: 0 },
    { n: 4, varint: 0 },
    { n: 5, varint: 1 },
  ]);

describe("/lumora/health/2.0.0", { timeout: 60_000 }, () => {
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

  it("answers a stranger's Probe with a bare Ack echoing seq, reached, its capacity, no updates, then closes", async () => {
    const s = await open(await peer(), k.address, HEALTH);
    await s.send(heartbeat(42));
    const ack = Message.of((await s.readFrame())!);
    assert.equal(ack.uint(1), 42n, "seq echoed");
    assert.equal(ack.uint(2), 1n, "reached");
    assert.equal(ack.uint(3), 0n, "incarnation 0: never suspected");
    assert.equal(ack.uint(5), 7n, "capacity is the keeper's");
    assert.equal(ack.uint(4), 0n, "no load");
    assert.equal(ack.repeatedBytes(6).length, 0, "no membership updates for a stranger");
    await s.closeWrite();
    assert.deepEqual(await s.readToEnd(), [], "nothing after the ack");
    assert.equal(s.end, "closed");
  });

  it("resets a stranger's ping-req without relaying it, and does not ban", async () => {
    const p = await peer();
    const s = await open(p, k.address, HEALTH);
    await s.send(heartbeat(3, p.peerId.toMultihash().bytes));
    assert.deepEqual(await s.readToEnd(), [], "no answer");
    assert.equal(s.end, "reset");
    assert.equal(k.keeper.bans.isBanned(p.peerId), false);
  });

  it("resets on a body above 1024 bytes, from the prefix alone, and bans the sender", async () => {
    const p = await peer();
    const s = await open(p, k.address, HEALTH);
    await s.sendRaw(Uint8Array.of(0x81, 0x08)); // prefix only: 1025 > 1024
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

  it("resets on a membership update with a state outside ALIVE/SUSPECT/FAILED (penalised)", async () => {
    const p = await peer();
    const s = await open(p, k.address, HEALTH);
    const update = encode([
      { n: 1, bytes: p.peerId.toMultihash().bytes },
      { n: 2, varint: 7 },
      { n: 3, varint: 1 },
    ]);
    await s.send(concat(heartbeat(5), encode([{ n: 6, bytes: update }])));
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

  it("does not penalise a stream that ends before the Probe", async () => {
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
