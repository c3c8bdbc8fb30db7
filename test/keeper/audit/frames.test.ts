/**
 * An audit is an ordinary customer fetch on the wire: the frames a keeper sends on /lumora/transfer/2.0.0 when
 * it audits are recorded at its own streams' `send` and compared with those of a customer's fetch of the same
 * object from the same provider. An audit reads a random byte range, so the customer is a reader seeking into the
 * object: it reads that same range through the same public call. Same frames, same fields, same order, byte for
 * byte — apart from the fresh ephemeral key every session draws — and the audit's requests are a prefix of the
 * customer's (the audit stops at its budget).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { afterEach, it } from "node:test";

import { generateKeyPair } from "@libp2p/crypto/keys";
import type { Connection, Stream } from "@libp2p/interface";
import { multiaddr } from "@multiformats/multiaddr";
import { Uint8ArrayList } from "uint8arraylist";

import { Auditor } from "../../../keeper/audit/index.ts";
import { createLogger } from "../../../keeper/logger.ts";
import { createLumoraNode } from "../../../keeper/p2p/node.ts";
import { openStore } from "../../../keeper/store/index.ts";
import { transferService, type TransferNode } from "../../../keeper/transfer/index.ts";
import { ConsumerFrame } from "../../../keeper/transfer/pb/transfer.ts";
import { Harness, randomData } from "../transfer/helpers.ts";

const KiB = 1024;
const silent = createLogger("test", { level: "silent" });

let harness: Harness;
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await harness?.cleanup();
});

/** Forwards everything to `target`, except the one method replaced. */
function intercept<T extends object>(target: T, name: string, replacement: unknown): T {
  return new Proxy(target, {
    get(t, prop) {
      if (prop === name) return replacement;
      const v = Reflect.get(t, prop, t) as unknown;
      return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(t) : v;
    },
  });
}

/** Splits a byte stream into its varint-length-prefixed frames (docs/PROTOCOL.md: every frame is so prefixed). */
function frames(bytes: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let o = 0;
  while (o < bytes.length) {
    let length = 0;
    let scale = 1;
    for (;;) {
      const b = bytes[o++];
      length += (b & 0x7f) * scale;
      scale *= 128;
      if ((b & 0x80) === 0) break;
    }
    out.push(bytes.subarray(o, o + length));
    o += length;
  }
  return out;
}

/** A frame with its ephemeral key (random per session) zeroed, re-encoded; other frames as sent. */
function withoutEphemeral(frame: Uint8Array): Buffer {
  const f = ConsumerFrame.decode(frame);
  if (f.hello === undefined) return Buffer.from(frame);
  return Buffer.from(
    ConsumerFrame.encode({ hello: { ...f.hello, ephemeralKey: new Uint8Array(f.hello.ephemeralKey.length) } }),
  );
}

it("an audit's request frames have the same fields, shape and bytes as a customer's read of the same range", async () => {
  harness = new Harness();
  const provider = await harness.peer({ init: { partSize: 64 * KiB } });
  const published = await provider.transfer.publish(await harness.file(randomData(1024 * KiB)), { announce: false });

  // The keeper: a real node whose outbound transfer streams record what they send.
  const privateKey = await generateKeyPair("Ed25519");
  const node = await createLumoraNode({ privateKey });
  const store = openStore(":memory:");
  cleanups.push(
    async () => store.close(),
    async () => node.stop(),
  );
  const sessions: Uint8ArrayList[] = [];
  const recordStream = (stream: Stream): Stream => {
    const sent = new Uint8ArrayList();
    sessions.push(sent);
    return intercept(stream, "send", (data: Uint8Array | Uint8ArrayList, ...rest: unknown[]) => {
      sent.append(data instanceof Uint8Array ? data.slice() : data.subarray());
      return (stream.send as (...a: unknown[]) => boolean)(data, ...rest);
    });
  };
  const recordConnection = (connection: Connection): Connection =>
    intercept(connection, "newStream", async (...args: Parameters<Connection["newStream"]>) =>
      recordStream(await connection.newStream(...args)),
    );
  const recordingNode: TransferNode = {
    peerId: node.peerId,
    handle: (p, h, o) => node.handle(p, h, o),
    unhandle: (p) => node.unhandle(p),
    contentRouting: node.contentRouting,
    dial: async (target, options) => recordConnection(await node.dial(target, options)),
  };
  const transfer = transferService()({ node: recordingNode, privateKey, store, logger: silent });
  await transfer.start();
  cleanups.push(() => transfer.stop());
  await node.dial(multiaddr(provider.addr));

  // An audit of the object, then a customer's read of the same byte range, through the same service.
  const ranges: Array<{ offset: number; length: number } | undefined> = [];
  const auditor = new Auditor(
    {
      self: node.peerId.toString(),
      privateKey,
      store,
      logger: silent,
      fetchStream: (id, o) => {
        ranges.push(o.range);
        return transfer.fetchStream(id, o);
      },
      announcedBandwidth: () => undefined,
      currentEpoch: () => 1,
    },
    { ratePerHour: 0, seed: 5, minBytes: 256 * KiB, maxBytes: 512 * KiB },
  );
  const outcome = await auditor.audit({ provider: provider.id, objectId: published.objectId, size: published.size });
  assert.equal(outcome.outcome, "pass");
  const range = ranges[0];
  assert.ok(
    range !== undefined && range.offset >= 64 * KiB,
    `the audit reads from part 1 on or later: ${range?.offset}`,
  );
  for await (const _ of transfer.fetchStream(published.objectId, { providers: [provider.id], range }));
  // And a whole-object customer fetch: the same session from part 0.
  await transfer.fetch(published.objectId, { providers: [provider.id], to: join(await harness.dir(), "whole") });

  assert.equal(sessions.length, 3, "one transfer session each");
  const [audit, customer, whole] = sessions.map((s) => frames(s.subarray()));
  const shape = (f: Uint8Array) => {
    const d = ConsumerFrame.decode(f);
    return d.hello !== undefined
      ? `hello(version=${d.hello.version}, objectId=${d.hello.objectId.length}B, ephemeralKey=${d.hello.ephemeralKey.length}B)`
      : `request(index=${d.request?.index})`;
  };
  assert.equal(shape(customer[0]), "hello(version=2, objectId=32B, ephemeralKey=32B)");
  const first = Math.floor(range.offset / (64 * KiB));
  assert.equal(shape(audit[1]), `request(index=${first})`, "the audit's first request is the part holding its offset");
  assert.deepEqual(
    whole.slice(1 + first, 1 + first + customer.length - 1).map(shape),
    customer.slice(1).map(shape),
    "a ranged read requests a whole fetch's parts from its first part on, in the same order",
  );
  assert.ok(audit.length >= 5 && audit.length <= customer.length, `audit sent ${audit.length} frames`);
  assert.deepEqual(audit.map(shape), customer.slice(0, audit.length).map(shape), "same frames in the same order");
  for (let i = 0; i < audit.length; i++) {
    assert.deepEqual(
      withoutEphemeral(audit[i]),
      withoutEphemeral(customer[i]),
      `frame ${i} differs between the audit and the customer`,
    );
  }
  assert.notDeepEqual(
    Buffer.from(ConsumerFrame.decode(audit[0]).hello!.ephemeralKey),
    Buffer.from(ConsumerFrame.decode(customer[0]).hello!.ephemeralKey),
    "each session draws its own ephemeral key, audit or not",
  );
});
