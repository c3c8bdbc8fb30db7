/**
 * /lumora/epoch/1.0.0 (evidence exchange, §9) and /lumora/proofs/1.0.0 (proofs, §10) against real keepers, from
 * docs/PROTOCOL.md alone. Keeper B fetches an object from keeper A (so B holds a receipt it signed for A), then
 * closes epoch 1 (A's reward address gets a leaf). A plain libp2p peer then asks B for both. The evidence exchange
 * answers registered keepers only (§9): the peer is registered with B first (its signed record handed over).
 */
import assert from "node:assert/strict";
import { createPublicKey, randomBytes, verify } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";

import type { Libp2p } from "@libp2p/interface";
import { peerIdFromString } from "@libp2p/peer-id";
import { AbiCoder, getAddress, keccak256 } from "ethers";

import { registeredPeer, testKeeper, type TestKeeper } from "./helpers/keeper.ts";
import { concat, Message, uvarint } from "./helpers/pb.ts";
import { open, plainPeer, until, type RawStream } from "./helpers/peer.ts";

const EPOCH = "/lumora/epoch/1.0.0";
const PROOFS = "/lumora/proofs/1.0.0";
const A_REWARD = "0x" + "aa".repeat(20);

const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
const parse = (b: Uint8Array) => JSON.parse(new TextDecoder().decode(b)) as Record<string, unknown>;

describe("/lumora/epoch/1.0.0 and /lumora/proofs/1.0.0", { timeout: 60_000 }, () => {
  let a: TestKeeper;
  let b: TestKeeper;
  const peers: Libp2p[] = [];
  let fetchedAt: number;
  const peer = async () => {
    const p = await plainPeer();
    peers.push(p);
    return p;
  };
  const keeperPeer = async () => {
    const { peer: p } = await registeredPeer(b.keeper, { capabilities: ["coordinator", "provider"] });
    peers.push(p);
    return p;
  };

  before(async () => {
    a = await testKeeper("epochs-a", { rewardAddress: A_REWARD });
    b = await testKeeper("epochs-b", { bootstrap: [a.keeper.addresses[0]!], dhtQuerySelfIntervalMs: 200 });
    // B needs A's signed peer record (reward address) to credit A at the close.
    await until(
      "B to know A's peer record",
      async () => {
        await b.keeper.refreshRouting({ refreshDirectory: true }).catch(() => 0);
        return b.keeper.discovery.get(a.keeper.peerId.toString()) !== undefined;
      },
      20_000,
    );
    const file = join(a.dir, "object.bin");
    writeFileSync(file, randomBytes(50_000));
    const published = await a.keeper.transfer.publish(file, { announce: false });
    await b.keeper.transfer.fetch(published.objectId, { providers: [a.address], to: join(b.dir, "copy.bin") });
    fetchedAt = Date.now();
    await until("a millisecond past the receipt", () => Date.now() > fetchedAt);
    await b.keeper.closeEpoch();
  });
  after(async () => {
    await Promise.all(peers.map((p) => p.stop()));
    await b?.stop();
    await a?.stop();
  });

  describe(EPOCH, () => {
    it("answers a stranger (no signed record) {error: not a registered keeper}, and does not ban it", async () => {
      const p = await peer();
      const s = await open(p, b.address, EPOCH);
      await s.send(json({ v: 1, toMs: Date.now() }));
      const frames = (await s.readToEnd()).map(parse);
      assert.deepEqual(frames, [{ error: "not a registered keeper" }]);
      assert.equal(b.keeper.bans.isBanned(p.peerId), false);
    });

    it("answers a receipts request with receipt frames, then {done: true}, then closes", async () => {
      const s = await open(await keeperPeer(), b.address, EPOCH);
      await s.send(json({ v: 1, toMs: Date.now() }));
      const frames = (await s.readToEnd()).map(parse);
      assert.equal(s.end, "closed");
      assert.deepEqual(frames.at(-1), { done: true });
      const receipts = frames.slice(0, -1).flatMap((f) => f.receipts as Array<Record<string, string>>);
      assert.equal(receipts.length, 1);
      const r = receipts[0]!;
      assert.equal(r.provider, a.keeper.peerId.toString());
      // ReceiptBody { 1: object_id, 2: provider, 3: consumer, 4: epoch, 5: bytes, 6: parts, 7: issued_at_ms,
      //               8: plain_bytes }
      const body = Buffer.from(r.body!, "base64");
      const receipt = Message.of(body);
      assert.equal(receipt.string(2), a.keeper.peerId.toString());
      assert.equal(receipt.string(3), b.keeper.peerId.toString());
      assert.equal(receipt.uint(4), 1n, "epoch 1");
      // Random bytes go uncompressed: the provider sent the 50 000 bytes sealed, plus the 16-byte GCM tag.
      assert.equal(receipt.uint(5), 50_016n, "bytes carried: the credit");
      assert.equal(receipt.uint(8), 50_000n, "plaintext bytes verified");
      // Signature: Ed25519 by the consumer over UTF-8("lumora/transfer/receipt/2") ‖ body.
      const raw = peerIdFromString(receipt.string(3)).publicKey!.raw;
      const key = createPublicKey({
        key: Buffer.concat([Buffer.from("302a300506032b6570032100", "hex"), raw]),
        format: "der",
        type: "spki",
      });
      const signed = concat(new TextEncoder().encode("lumora/transfer/receipt/2"), body);
      assert.ok(verify(null, signed, key, Buffer.from(r.signature!, "base64")), "consumer signature verifies");
    });

    it("answers a tasks request with {done: true} when the keeper coordinated no task", async () => {
      const s = await open(await keeperPeer(), b.address, EPOCH);
      await s.send(json({ v: 1, kind: "tasks", fromMs: Date.now() - 3_600_000, toMs: Date.now() }));
      assert.deepEqual((await s.readToEnd()).map(parse), [{ done: true }]);
      assert.equal(s.end, "closed");
    });

    it("answers an observations request of a keeper without a quorum with an empty set at once", async () => {
      const s = await open(await keeperPeer(), b.address, EPOCH);
      await s.send(json({ v: 1, kind: "observations", epoch: 1 }));
      assert.deepEqual((await s.readToEnd()).map(parse), [{ done: true }]);
      assert.equal(s.end, "closed");
    });

    const refusedAndBanned = async (send: (s: RawStream) => Promise<void>, reason: RegExp) => {
      const p = await keeperPeer();
      const s = await open(p, b.address, EPOCH);
      await send(s);
      const frames = (await s.readToEnd()).map(parse);
      assert.equal(frames.length, 1);
      assert.match(String(frames[0]!.error), reason);
      assert.equal(s.end, "reset");
      await until("B to ban the sender", () => b.keeper.bans.isBanned(p.peerId));
    };

    it("answers {error} then resets and bans on a request above 1 KiB", async () => {
      await refusedAndBanned((s) => s.sendRaw(uvarint(1025)), /exceeds/);
    });

    it("answers {error} then resets and bans on a request that is not a JSON object", async () => {
      await refusedAndBanned((s) => s.send(json([1, 2])), /not a JSON object/);
    });

    it("answers {error} then resets and bans on an observations request without an epoch", async () => {
      await refusedAndBanned((s) => s.send(json({ v: 1, kind: "observations" })), /epoch must be a positive integer/);
    });

    it("answers {error} then resets and bans on an unknown kind", async () => {
      await refusedAndBanned((s) => s.send(json({ v: 1, kind: "votes", toMs: 1 })), /kind/);
    });
  });

  describe(PROOFS, () => {
    const ask = async (request: unknown) => {
      const s = await open(await peer(), b.address, PROOFS);
      await s.send(json(request));
      const frames = await s.readToEnd();
      assert.equal(frames.length, 1, "one response frame");
      assert.equal(s.end, "closed");
      return parse(frames[0]!);
    };

    it("answers {epoch, account} with a proof that leads to the summary's reward root", async () => {
      const { proof } = (await ask({ epoch: 1, account: A_REWARD })) as {
        proof: { epoch: number; index: number; account: string; contribution: string; proof: string[]; root: string };
      };
      assert.equal(proof.epoch, 1);
      assert.equal(proof.account, getAddress(A_REWARD));
      const { summary } = (await ask({ epoch: 1 })) as { summary: { epoch: number; rewards: { root: string } } };
      assert.equal(summary.epoch, 1);
      assert.equal(proof.root, summary.rewards.root);
      // StandardMerkleTree leaf: keccak256(keccak256(abi.encode(uint64 epoch, uint256 index, address, uint256 C_i))),
      // pairs hashed sorted.
      let node = keccak256(
        keccak256(
          AbiCoder.defaultAbiCoder().encode(
            ["uint64", "uint256", "address", "uint256"],
            [proof.epoch, proof.index, proof.account, proof.contribution],
          ),
        ),
      );
      for (const sibling of proof.proof) {
        const [x, y] = [node, sibling].sort();
        node = keccak256(concat(Buffer.from(x!.slice(2), "hex"), Buffer.from(y!.slice(2), "hex")));
      }
      assert.equal(node, proof.root);
    });

    it("answers {error: {code: EPOCH_UNKNOWN}} for an epoch not published, then closes", async () => {
      const res = (await ask({ epoch: 99 })) as { error: { code: string } };
      assert.equal(res.error.code, "EPOCH_UNKNOWN");
    });

    it("answers {error: {code: BAD_REQUEST}} to a request that is not a JSON object, and does not ban", async () => {
      const p = await peer();
      const s = await open(p, b.address, PROOFS);
      await s.send(new TextEncoder().encode("{not json"));
      const frames = await s.readToEnd();
      assert.equal((parse(frames[0]!).error as { code: string }).code, "BAD_REQUEST");
      assert.equal(s.end, "closed");
      assert.equal(b.keeper.bans.isBanned(p.peerId), false);
    });

    it("resets without an answer on a request above 1 KiB, and does not ban", async () => {
      const p = await peer();
      const s = await open(p, b.address, PROOFS);
      await s.sendRaw(uvarint(1025));
      assert.deepEqual(await s.readToEnd(), []);
      assert.equal(s.end, "reset");
      assert.equal(b.keeper.bans.isBanned(p.peerId), false);
    });
  });
});
