/**
 * /lumora/task/1.0.0 against a real keeper (as executor), from docs/PROTOCOL.md §8 alone. The sender is a plain
 * libp2p peer. The executor takes requests only from registered nodes (a valid signed peer record, §4) and only
 * for providers named by peer id with a record: otherwise TaskResult{ok = false, code} at once (§8, admission).
 * Registering the test peer (handing its signed record to the keeper) is set-up, not the protocol under test.
 * TaskRequest { 1: task_id, 2: object_id, 3: size, 4: providers (repeated), 5: deadline_ms };
 * TaskAccepted { 1: task_id }; TaskResult { 1: task_id, 2: ok, 3: bytes, 4: sha256, 5: error, 6: code }.
 */
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";

import { generateKeyPair } from "@libp2p/crypto/keys";
import type { Libp2p } from "@libp2p/interface";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";

import { registeredPeer, testKeeper, type TestKeeper } from "./helpers/keeper.ts";
import { encode, Message, uvarint } from "./helpers/pb.ts";
import { open, plainPeer, until } from "./helpers/peer.ts";

const TASK = "/lumora/task/1.0.0";

const request = (r: { taskId: string; objectId: Uint8Array; size: number; providers: string[]; deadlineMs: number }) =>
  encode([
    { n: 1, bytes: r.taskId },
    { n: 2, bytes: r.objectId },
    { n: 3, varint: r.size },
    ...r.providers.map((p) => ({ n: 4, bytes: p })),
    { n: 5, varint: r.deadlineMs },
  ]);

describe("/lumora/task/1.0.0", { timeout: 60_000 }, () => {
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
    k = await testKeeper("task");
    data = randomBytes(20_000);
    const file = join(k.dir, "object.bin");
    writeFileSync(file, data);
    const published = await k.keeper.transfer.publish(file, { announce: false });
    // The keeper's object id for it (§7's part-hash root); this suite tests the task protocol, not its derivation.
    objectId = new Uint8Array(Buffer.from(published.objectId, "hex"));
  });
  after(async () => {
    await Promise.all(peers.map((p) => p.stop()));
    await k.stop();
  });

  /** A plain peer with a signed record the keeper knows (a registered node). */
  const registered = async (addrs?: string[]) => {
    const r = await registeredPeer(k.keeper, { ...(addrs !== undefined && { addrs }) });
    peers.push(r.peer);
    return { p: r.peer, key: r.key };
  };

  it("refuses a task from a peer without a signed record: TaskResult{ok: false, code: NOT_REGISTERED} at once", async () => {
    const s = await open(await peer(), k.address, TASK);
    await s.send(
      request({ taskId: "t-0", objectId, size: data.length, providers: [k.address], deadlineMs: Date.now() + 30_000 }),
    );
    const result = Message.of((await s.readFrame())!);
    assert.equal(result.string(1), "t-0");
    assert.equal(result.bool(2), false);
    assert.equal(result.string(6), "NOT_REGISTERED");
    assert.match(result.string(5), /no valid signed peer record/);
  });

  it("accepts a task from a registered node, then answers TaskResult{ok, bytes: 0, sha256} when it is the provider", async () => {
    const { p } = await registered();
    const s = await open(p, k.address, TASK);
    await s.send(
      request({
        taskId: "t-1",
        objectId,
        size: data.length,
        providers: [k.address],
        deadlineMs: Date.now() + 30_000,
      }),
    );
    const accepted = Message.of((await s.readFrame())!);
    assert.equal(accepted.string(1), "t-1");
    assert.equal(accepted.string(5), "", "no error: accepted");
    const result = Message.of((await s.readFrame())!);
    assert.equal(result.string(1), "t-1");
    assert.equal(result.bool(2), true);
    assert.equal(result.uint(3), 0n, "nothing moved: the executor is the provider");
    assert.deepEqual(result.bytes(4), objectId);
    await s.closeWrite();
    assert.deepEqual(await s.readToEnd(), []);
    assert.equal(s.end, "closed");
  });

  it("refuses a provider without a record (PROVIDER_UNKNOWN) and never dials the address the request names", async () => {
    const { p } = await registered();
    const nobody = peerIdFromPrivateKey(await generateKeyPair("Ed25519")).toString();
    const s = await open(p, k.address, TASK);
    await s.send(
      request({
        taskId: "t-2a",
        objectId: randomBytes(32),
        size: 10,
        providers: [`/ip4/127.0.0.1/tcp/1/p2p/${nobody}`],
        deadlineMs: Date.now() + 30_000,
      }),
    );
    const result = Message.of((await s.readFrame(10_000))!);
    assert.equal(result.bool(2), false);
    assert.equal(result.string(6), "PROVIDER_UNKNOWN");
  });

  it("answers ok = false with code NO_LIVE_PROVIDER when no listed provider can be reached", async () => {
    const { p } = await registered();
    // A registered provider whose signed address is a closed port.
    const { key: providerKey } = await registered(["/ip4/127.0.0.1/tcp/1"]);
    const provider = peerIdFromPrivateKey(providerKey).toString();
    const s = await open(p, k.address, TASK);
    await s.send(
      request({
        taskId: "t-2",
        objectId: randomBytes(32),
        size: 10,
        providers: [provider],
        deadlineMs: Date.now() + 30_000,
      }),
    );
    assert.equal(Message.of((await s.readFrame())!).string(1), "t-2");
    const result = Message.of((await s.readFrame(10_000))!);
    assert.equal(result.bool(2), false);
    assert.equal(result.string(6), "NO_LIVE_PROVIDER");
    assert.notEqual(result.string(5), "");
  });

  const rejected = async (body: Uint8Array | { raw: Uint8Array }) => {
    const p = await peer();
    const s = await open(p, k.address, TASK);
    if (body instanceof Uint8Array) await s.send(body);
    else await s.sendRaw(body.raw);
    assert.deepEqual(await s.readToEnd(), [], "no answer");
    assert.equal(s.end, "reset");
    await until("the keeper to ban the sender", () => k.keeper.bans.isBanned(p.peerId));
  };

  it("resets and bans on a frame above 16 KiB (from the prefix alone)", async () => {
    await rejected({ raw: uvarint(16 * 1024 + 1) });
  });

  it("resets and bans on an object_id that is not 32 bytes", async () => {
    await rejected(
      request({
        taskId: "t-3",
        objectId: randomBytes(31),
        size: 1,
        providers: [k.address],
        deadlineMs: Date.now() + 30_000,
      }),
    );
  });

  it("resets and bans on a deadline already passed", async () => {
    await rejected(request({ taskId: "t-4", objectId, size: 1, providers: [k.address], deadlineMs: Date.now() - 1 }));
  });

  it("resets and bans on a field of the wrong wire type (task_id as a varint)", async () => {
    await rejected(
      encode([
        { n: 1, varint: 5 },
        { n: 2, bytes: objectId },
      ]),
    );
  });
});
