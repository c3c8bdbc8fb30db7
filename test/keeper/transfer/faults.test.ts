import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, it } from "node:test";

import { createLumoraNode, type LumoraNode } from "../../../keeper/p2p/node.ts";
import { MAX_FRAME_SIZE } from "../../../keeper/transfer/constants.ts";
import { readTransferFrame, sendFrame } from "../../../keeper/transfer/framing.ts";
import { FrameTooLargeError, NoProvidersError, type TransferErrorCode } from "../../../keeper/transfer/index.ts";
import { encodeVarint } from "../../../keeper/wire/index.ts";
import { buildManifest, toHex } from "../../../keeper/transfer/manifest.ts";
import { Compression, type Manifest } from "../../../keeper/transfer/pb/transfer.ts";
import { expectedObjectId, Harness, randomData, rogueProvider, type RogueSession } from "./helpers.ts";

const PART = 64 * 1024;

interface Failure {
  peerId: string;
  reason: string;
  penalise: boolean;
}

describe("transfer under faults", () => {
  const h = new Harness();
  const nodes: LumoraNode[] = [];
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map((n) => n.stop()));
    await h.cleanup();
  });

  it("detects a flipped bit from one provider, refetches the part elsewhere and reports the provider", async () => {
    const data = randomData(12 * PART);
    const failures: Failure[] = [];
    let tampered = -1;
    const bad = await h.peer({
      init: { partSize: PART },
      testHooks: {
        tamper: (index, bytes) => {
          if (tampered >= 0) return bytes;
          tampered = index;
          const copy = Buffer.from(bytes);
          copy[17] ^= 0x04;
          return copy;
        },
      },
    });
    const goodServed: number[] = [];
    const good = await h.peer({
      init: { partSize: PART },
      testHooks: { onPartServed: (_o, i) => goodServed.push(i) },
    });
    const consumer = await h.peer({
      // every source from the start, so the bad one is asked whichever handshake completes first
      init: { adaptiveSources: false },
      onProviderFailure: (peerId, reason, d) => failures.push({ peerId, reason, penalise: d.penalise }),
    });
    const path = await h.file(data);
    const { objectId } = await bad.transfer.publish(path, { announce: false });
    await good.transfer.publish(path, { announce: false });
    const to = join(await h.dir(), "out.bin");
    const result = await consumer.transfer.fetch(objectId, { providers: [bad.addr, good.addr], to });
    assert.ok((await readFile(to)).equals(data), "object correct");
    assert.ok(tampered >= 0, "the bad provider served a part");
    assert.ok(goodServed.includes(tampered), `part ${tampered} refetched from the good provider`);
    assert.deepEqual(failures, [{ peerId: bad.id, reason: "ERR_PART_CHECKSUM", penalise: true }]);
    const credited = consumer.transfer.contributions(objectId);
    assert.equal(
      credited.reduce((n, c) => n + c.bytes, 0),
      data.length + (data.length / PART) * 16,
      "exactly the bytes carried for the object's parts credited (random parts go raw, plus a GCM tag each)",
    );
    assert.ok(!result.providers.some((p) => p.peerId === bad.id && p.parts > 2 * 4), "bad provider dropped early");
  });

  const attacks: Array<{
    name: string;
    code: TransferErrorCode;
    penalise: boolean;
    keyProvider?: boolean;
    behave(s: RogueSession): Promise<void>;
  }> = [
    {
      name: "a part sealed under the wrong key",
      code: "ERR_AUTHENTICATION_FAILED",
      penalise: true,
      keyProvider: true,
      async behave(s) {
        const i = await s.request();
        await sendFrame(s.stream, s.part(i));
      },
    },
    {
      name: "a tampered tag",
      code: "ERR_AUTHENTICATION_FAILED",
      penalise: true,
      async behave(s) {
        const i = await s.request();
        const frame = s.part(i);
        frame[frame.length - 1] ^= 0x80;
        await sendFrame(s.stream, frame);
      },
    },
    {
      name: "a replayed part",
      code: "ERR_UNEXPECTED_PART",
      penalise: true,
      async behave(s) {
        const first = await s.request();
        const frame = s.part(first);
        await sendFrame(s.stream, frame);
        await s.request();
        await sendFrame(s.stream, frame);
      },
    },
    {
      name: "reordered parts",
      code: "ERR_UNEXPECTED_PART",
      penalise: true,
      async behave(s) {
        const a = await s.request();
        const b = await s.request();
        await sendFrame(s.stream, s.part(b, 0n));
        await sendFrame(s.stream, s.part(a, 1n));
      },
    },
    {
      name: "a stream truncated mid-frame",
      code: "ERR_STREAM_TRUNCATED",
      penalise: false,
      async behave(s) {
        const i = await s.request();
        const frame = s.part(i);
        s.stream.send(encodeVarint(frame.length));
        s.stream.send(frame.subarray(0, frame.length >> 1));
        await s.stream.close();
      },
    },
    {
      name: "an oversized frame",
      code: "ERR_FRAME_TOO_LARGE",
      penalise: true,
      async behave(s) {
        await s.request();
        s.stream.send(encodeVarint(MAX_FRAME_SIZE + 1));
        // then keep sending: the consumer must hang up without buffering any of it
        const junk = new Uint8Array(64 * 1024);
        for (let i = 0; i < 64; i++) if (!s.stream.send(junk)) await s.stream.onDrain();
      },
    },
  ];

  for (const attack of attacks) {
    it(`rejects ${attack.name} (${attack.code}) and reports the provider`, async () => {
      const data = randomData(4 * PART);
      const path = await h.file(data);
      const manifest = await buildManifest(path, { partSize: PART });
      const node = await createLumoraNode();
      nodes.push(node);
      await rogueProvider(node, data, manifest, attack.behave, {
        keyProvider: attack.keyProvider === true ? "12D3KooWSomeoneElse" : undefined,
      });
      const failures: Failure[] = [];
      const consumer = await h.peer({
        init: { partTimeoutMs: 5000 },
        onProviderFailure: (peerId, reason, d) => failures.push({ peerId, reason, penalise: d.penalise }),
      });
      const objectId = toHex(manifest.objectId);
      const to = join(await h.dir(), "out.bin");
      await assert.rejects(
        consumer.transfer.fetch(objectId, { providers: [node.getMultiaddrs()[0].toString()], to }),
        (err: unknown) => {
          assert.ok(err instanceof NoProvidersError, String(err));
          assert.deepEqual(err.failures, [{ peerId: node.peerId.toString(), code: attack.code }]);
          return true;
        },
      );
      assert.deepEqual(failures, [{ peerId: node.peerId.toString(), reason: attack.code, penalise: attack.penalise }]);
    });
  }

  for (const [name, forge] of [
    [
      "hashes of other bytes",
      async (m: Manifest) => {
        const fake = await buildManifest(await h.file(randomData(3 * PART)), { partSize: PART });
        m.partHashes = fake.partHashes;
      },
    ],
    [
      "two part hashes swapped",
      (m: Manifest) => void ([m.partHashes[0], m.partHashes[1]] = [m.partHashes[1], m.partHashes[0]]),
    ],
    ["another size", (m: Manifest) => void (m.size -= 1n)],
  ] as const) {
    it(`rejects a forged manifest (${name}) at the handshake, before any part is requested`, async () => {
      const data = randomData(3 * PART);
      const manifest = await buildManifest(await h.file(data), { partSize: PART });
      const objectId = toHex(manifest.objectId);
      await forge(manifest);
      const node = await createLumoraNode();
      nodes.push(node);
      let requested = 0;
      await rogueProvider(node, data, manifest, async (s) => {
        for (;;) {
          await s.request();
          requested++;
        }
      });
      const failures: Failure[] = [];
      const consumer = await h.peer({
        onProviderFailure: (peerId, reason, d) => failures.push({ peerId, reason, penalise: d.penalise }),
      });
      const to = join(await h.dir(), "out.bin");
      await assert.rejects(
        consumer.transfer.fetch(objectId, { providers: [node.getMultiaddrs()[0].toString()], to }),
        (err: unknown) => err instanceof NoProvidersError && err.failures[0]?.code === "ERR_INVALID_MANIFEST",
      );
      assert.deepEqual(failures, [{ peerId: node.peerId.toString(), reason: "ERR_INVALID_MANIFEST", penalise: true }]);
      assert.equal(requested, 0, "no part requested");
      await assert.rejects(readFile(to + ".lumora-part"), { code: "ENOENT" }, "nothing written");
    });
  }

  it("rejects a part whose bytes are another part's (swapped) with ERR_PART_CHECKSUM", async () => {
    const data = randomData(4 * PART);
    const manifest = await buildManifest(await h.file(data), { partSize: PART });
    const node = await createLumoraNode();
    nodes.push(node);
    // serve part i's bytes for index i+1 (and vice versa): each is authentic under the session key
    const swapped = Buffer.concat([data.subarray(PART, 2 * PART), data.subarray(0, PART), data.subarray(2 * PART)]);
    await rogueProvider(node, swapped, manifest, async (s) => {
      for (;;) await sendFrame(s.stream, s.part(await s.request()));
    });
    const failures: Failure[] = [];
    const consumer = await h.peer({
      onProviderFailure: (peerId, reason, d) => failures.push({ peerId, reason, penalise: d.penalise }),
    });
    await assert.rejects(
      consumer.transfer.fetch(toHex(manifest.objectId), {
        providers: [node.getMultiaddrs()[0].toString()],
        to: join(await h.dir(), "out.bin"),
      }),
      (err: unknown) => err instanceof NoProvidersError && err.failures[0]?.code === "ERR_PART_CHECKSUM",
    );
    assert.deepEqual(failures, [{ peerId: node.peerId.toString(), reason: "ERR_PART_CHECKSUM", penalise: true }]);
  });

  it("drops a provider whose manifest differs from the others'", async () => {
    const data = randomData(20 * PART);
    const path = await h.file(data);
    const good = await h.peer({
      init: { partSize: PART },
      testHooks: { beforeServe: () => new Promise((r) => setTimeout(r, 20)) },
    });
    await good.transfer.publish(path, { announce: false });
    // same id (the codec is not part of it), so the manifest validates, but its bytes differ from the good one's
    const manifest = await buildManifest(path, { partSize: PART, compression: Compression.ZSTD });
    const node = await createLumoraNode();
    nodes.push(node);
    // the rogue answers late, so the good provider's manifest is the transfer's and the rogue's the odd one out
    await rogueProvider(node, data, manifest, async (s) => void (await s.request()), { delayWelcomeMs: 100 });
    const failures: Failure[] = [];
    const consumer = await h.peer({
      // every source opened from the start (adaptive sources open a second only when a trial needs it)
      init: { adaptiveSources: false },
      onProviderFailure: (peerId, reason, d) => failures.push({ peerId, reason, penalise: d.penalise }),
    });
    const objectId = expectedObjectId(data, PART).toString("hex");
    const to = join(await h.dir(), "out.bin");
    const result = await consumer.transfer.fetch(objectId, {
      providers: [good.addr, node.getMultiaddrs()[0].toString()],
      to,
    });
    assert.ok((await readFile(to)).equals(data), "object correct");
    assert.deepEqual(
      result.providers.map((p) => p.peerId),
      [good.id],
    );
    assert.deepEqual(failures, [{ peerId: node.peerId.toString(), reason: "ERR_MANIFEST_MISMATCH", penalise: true }]);
  });

  it("resumes in process after an aborted fetch, without refetching verified parts", async () => {
    const data = randomData(40 * PART);
    const served = new Array<number>(40).fill(0);
    const controller = new AbortController();
    let total = 0;
    const provider = await h.peer({
      init: { partSize: PART },
      testHooks: {
        beforeServe: () => new Promise((r) => setTimeout(r, 5)),
        onPartServed: (_o, i) => {
          served[i]++;
          if (++total === 15) controller.abort(new Error("operator cancelled"));
        },
      },
    });
    const { objectId } = await provider.transfer.publish(await h.file(data), { announce: false });
    const consumer = await h.peer({ init: { checkpointBytes: 1 } });
    const to = join(await h.dir(), "out.bin");
    await assert.rejects(
      consumer.transfer.fetch(objectId, { providers: [provider.addr], to, signal: controller.signal }),
      /operator cancelled/,
    );
    const before = served.slice();
    const result = await consumer.transfer.fetch(objectId, { providers: [provider.addr], to });
    assert.ok(result.resumedParts >= 10, `resumed ${result.resumedParts}`);
    assert.equal(result.resumedParts + result.fetchedParts, 40);
    const refetched = served.filter((n, i) => n > before[i] && before[i] > 0).length;
    assert.ok(refetched <= 40 - result.resumedParts, "only parts not verified were fetched again");
    assert.ok((await readFile(to)).equals(data), "object correct");
    const credited = consumer.transfer.contributions(objectId)[0];
    assert.equal(credited.bytes, data.length + 40 * 16, "each part credited once (as carried) across both runs");
  });

  it("refuses an oversized length prefix before buffering any of the frame", async () => {
    let pulled = 0;
    async function* source() {
      pulled++;
      yield encodeVarint(MAX_FRAME_SIZE + 1);
      for (;;) {
        pulled++;
        yield new Uint8Array(1024 * 1024);
      }
    }
    await assert.rejects(readTransferFrame(source(), MAX_FRAME_SIZE), FrameTooLargeError);
    assert.equal(pulled, 1, "only the chunk holding the prefix was read");
  });

  it("completes from the remaining providers when one is killed mid-transfer", async () => {
    const data = randomData(48 * PART);
    const path = await h.file(data);
    const failures: Failure[] = [];
    // Whichever provider serves the fifth part (the scheduler picks who serves) stops there.
    let served = 0;
    let victim: Awaited<ReturnType<Harness["peer"]>> | undefined;
    const providers: Array<Awaited<ReturnType<Harness["peer"]>>> = [];
    for (let p = 0; p < 3; p++) {
      providers.push(
        await h.peer({
          init: { partSize: PART },
          testHooks: {
            beforeServe: () => new Promise((r) => setTimeout(r, 5)),
            onPartServed: () => {
              if (++served !== 5) return;
              victim = providers[p];
              void victim.node.stop();
            },
          },
        }),
      );
    }
    for (const p of providers) await p.transfer.publish(path, { announce: false });
    const consumer = await h.peer({
      onProviderFailure: (peerId, reason, d) => failures.push({ peerId, reason, penalise: d.penalise }),
    });
    const objectId = expectedObjectId(data, PART).toString("hex");
    const to = join(await h.dir(), "out.bin");
    const result = await consumer.transfer.fetch(objectId, { providers: providers.map((p) => p.addr), to });
    assert.ok((await readFile(to)).equals(data), "object correct");
    assert.ok(victim !== undefined, "a provider was stopped");
    assert.deepEqual(
      failures.map((f) => f.peerId),
      [victim.id],
      JSON.stringify(failures),
    );
    assert.equal(failures[0].penalise, false, "a provider that went away is not penalised");
    // Its parts in flight went back to the queue: the others served every part it did not deliver.
    const fromVictim = result.providers.find((p) => p.peerId === victim!.id)?.parts ?? 0;
    assert.ok(fromVictim <= 5, `the victim delivered at most what it served (${fromVictim})`);
    assert.equal(
      result.providers.reduce((n, p) => n + p.parts, 0),
      48,
      "every part delivered once",
    );
  });
});
