/**
 * `/lumora/epoch/1.0.0` on 127.0.0.1: a keeper pulls the consumer-signed receipts another keeper stored, in
 * several frames; the server refuses malformed requests and keeps serving; a peer that answers out of protocol
 * makes the pull fail with EpochExchangeError and is penalised. RemoteReceipts keeps each receipt once.
 */
import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";

import type { PeerId, Stream } from "@libp2p/interface";

import type { RawReceipt } from "../../../../keeper/epochs/collect/collector.ts";
import { transferReceiptsBetween } from "../../../../keeper/epochs/collect/collector.ts";
import {
  EPOCH_PROTOCOL,
  MAX_EXCHANGE_REQUEST_BYTES,
  MAX_EXCHANGE_RESPONSE_BYTES,
  PULL_OVERLAP_MS,
  RECEIPTS_PER_FRAME,
  STRANGER_READ_TIMEOUT_MS,
} from "../../../../keeper/epochs/exchange/constants.ts";
import { EpochExchangeError } from "../../../../keeper/epochs/exchange/errors.ts";
import { EpochExchange } from "../../../../keeper/epochs/exchange/protocol.ts";
import { RemoteReceipts, RemoteTasks } from "../../../../keeper/epochs/exchange/remote.ts";
import type { TaskRecordValue } from "../../../../keeper/epochs/types.ts";
import { THROTTLE_LINES, type Logger } from "../../../../keeper/logger.ts";
import { openStore, type Store } from "../../../../keeper/store/index.ts";
import { verifyReceipt } from "../../../../keeper/transfer/receipt.ts";
import { encodeVarint, readFrame, writeFrame } from "../../../../keeper/wire/index.ts";
import { collectingLogger, silent, startNode, waitFor, type TestKeeper } from "../../helpers.ts";
import { peer, world, type EpochWorld } from "../fixtures.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const json = (v: unknown) => encoder.encode(JSON.stringify(v));
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const key = (r: RawReceipt) => `${r.provider}:${hex(r.body)}:${hex(r.signature)}`;

/** Stored before the close, in the window the pull asks for. */
const CLOSE_MS = 1_000_000;
/** 2 full frames and a partial one. */
const STORED = 2 * RECEIPTS_PER_FRAME + 57;

describe("epoch receipt exchange", { timeout: 180_000 }, () => {
  const nodes: TestKeeper[] = [];
  const services: EpochExchange[] = [];
  const worlds: EpochWorld[] = [];
  const stores: Store[] = [];

  afterEach(async () => {
    await Promise.all(services.splice(0).map((s) => s.stop()));
    await Promise.all(nodes.splice(0).map((n) => n.node.stop()));
    for (const w of worlds.splice(0)) w.close();
    for (const s of stores.splice(0)) s.close();
  });

  async function node(): Promise<TestKeeper> {
    const n = await startNode();
    nodes.push(n);
    return n;
  }

  async function exchange(
    n: TestKeeper,
    ownReceipts: (fromMs: number, toMs: number) => RawReceipt[],
    logger: Logger = silent,
    isKeeper: (peerId: string) => boolean = () => true,
  ): Promise<{ service: EpochExchange; penalised: { peer: string; err: Error }[] }> {
    const penalised: { peer: string; err: Error }[] = [];
    const service = new EpochExchange({
      node: n.node,
      logger,
      ownReceipts,
      isKeeper,
      penalise: (p: PeerId, err: Error) => penalised.push({ peer: p.toString(), err }),
    });
    services.push(service);
    await service.start();
    return { service, penalised };
  }

  /** A keeper that stored `before` receipts before CLOSE_MS and `after` at or after it, signed by real consumers. */
  async function keeperWithReceipts(before: number, after: number): Promise<EpochWorld> {
    const w = world();
    worlds.push(w);
    const consumers = [await peer(1), await peer(2)];
    const providers = [await peer(3), await peer(4), await peer(5)];
    for (let i = 0; i < before + after; i++) {
      const at = i < before ? CLOSE_MS - 1 - (i % 1000) : CLOSE_MS + (i % 1000);
      await w.receipt(consumers[i % 2]!, providers[i % 3]!, 1000 + i, at);
    }
    return w;
  }

  async function connect(from: TestKeeper, to: TestKeeper): Promise<void> {
    await from.node.dial(to.node.getMultiaddrs()[0]!);
  }

  /** Every frame the server sends for one raw request, until it ends or resets the stream. */
  async function rawExchange(from: TestKeeper, to: TestKeeper, bytes: Uint8Array): Promise<Record<string, unknown>[]> {
    const stream: Stream = await from.node.dialProtocol(to.node.getMultiaddrs()[0]!, EPOCH_PROTOCOL);
    try {
      stream.send(bytes);
    } catch {
      // a server refusing a stranger answers and resets without reading the request
    }
    const frames: Record<string, unknown>[] = [];
    try {
      for (;;) {
        const body = await readFrame(stream, MAX_EXCHANGE_RESPONSE_BYTES, { signal: AbortSignal.timeout(5_000) });
        if (body === undefined) break;
        frames.push(JSON.parse(decoder.decode(body)) as Record<string, unknown>);
      }
    } catch {
      // the server resets the stream after an error frame
    }
    return frames;
  }

  it(`pulls exactly the receipts the peer stored before the close, over several frames (${STORED} receipts)`, async () => {
    const stored = await keeperWithReceipts(STORED, 40);
    const [server, client] = [await node(), await node()];
    const asked: [number, number][] = [];
    const own = transferReceiptsBetween(stored.store);
    const s = await exchange(server, (fromMs, toMs) => (asked.push([fromMs, toMs]), own(fromMs, toMs)));
    const c = await exchange(client, () => []);
    await connect(client, server);

    const pulled = await c.service.pull(server.node.peerId, CLOSE_MS);
    assert.deepEqual(asked, [[0, CLOSE_MS]], "the server is asked for the receipts before the close");
    const expected = own(0, CLOSE_MS);
    assert.equal(expected.length, STORED);
    assert.equal(pulled.length, STORED);
    assert.deepEqual(pulled.map(key), expected.map(key), "same receipts, same order, byte for byte");
    for (const [i, r] of pulled.entries()) {
      const receipt = await verifyReceipt(r);
      assert.equal(receipt.provider, r.provider, `receipt ${i}: provider matches its signed body`);
    }
    assert.deepEqual(s.penalised, []);
    assert.deepEqual(c.penalised, []);

    // On the wire: full frames of RECEIPTS_PER_FRAME, the rest, then done.
    const frames = await rawExchange(
      client,
      server,
      Uint8Array.from([...encodeVarint(json({ v: 1, toMs: CLOSE_MS }).length), ...json({ v: 1, toMs: CLOSE_MS })]),
    );
    assert.deepEqual(
      frames.map((f) => (Array.isArray(f.receipts) ? f.receipts.length : f)),
      [RECEIPTS_PER_FRAME, RECEIPTS_PER_FRAME, STORED - 2 * RECEIPTS_PER_FRAME, { done: true }],
    );
  });

  it("pulls an empty list from a keeper that stored nothing", async () => {
    const [server, client] = [await node(), await node()];
    await exchange(server, () => []);
    const c = await exchange(client, () => []);
    await connect(client, server);
    assert.deepEqual(await c.service.pull(server.node.peerId.toString(), CLOSE_MS), []);
  });

  it("RemoteReceipts keeps a receipt once by the hash of its body and reads back a [from, to) window", async () => {
    const w = await keeperWithReceipts(10, 0);
    const receipts = transferReceiptsBetween(w.store)(0, CLOSE_MS);
    const store = openStore(":memory:");
    stores.push(store);
    const remote = new RemoteReceipts(store);

    assert.equal(remote.add(receipts.slice(0, 4), 100), 4);
    assert.equal(remote.add(receipts.slice(4, 7), 200), 3);
    // The same bodies again, even with another signature or provider string, and in the same batch twice.
    const resent = receipts.slice(0, 7).map((r) => ({ ...r, signature: new Uint8Array(64).fill(1) }));
    assert.equal(remote.add([...resent, ...resent], 300), 0, "receipts already held are ignored");
    assert.equal(
      remote.add([receipts[7]!, receipts[7]!, receipts[8]!], 300),
      2,
      "a duplicate inside one batch counts once",
    );

    const keys = (rs: RawReceipt[]) => new Set(rs.map(key));
    assert.deepEqual(keys(remote.between(0, 1000)), keys(receipts.slice(0, 9)));
    assert.deepEqual(keys(remote.between(100, 200)), keys(receipts.slice(0, 4)), "from is inclusive, to exclusive");
    assert.deepEqual(keys(remote.between(101, 201)), keys(receipts.slice(4, 7)));
    assert.deepEqual(keys(remote.between(200, 301)), keys([...receipts.slice(4, 7), receipts[7]!, receipts[8]!]));
    assert.deepEqual(remote.between(301, 1000), []);
    assert.deepEqual(remote.between(0, 100), []);
    for (const r of remote.between(100, 200)) {
      assert.notDeepEqual(r.signature, new Uint8Array(64).fill(1), "the first copy's signature is kept");
    }
  });

  it("answers malformed requests with an error, penalises where the peer is at fault, and keeps serving", async () => {
    const stored = await keeperWithReceipts(5, 0);
    const [server, client] = [await node(), await node()];
    const { log, lines } = collectingLogger();
    const own = transferReceiptsBetween(stored.store);
    const s = await exchange(server, (fromMs, toMs) => own(fromMs, toMs), log);
    const c = await exchange(client, () => []);
    await connect(client, server);
    const withPrefix = (body: Uint8Array) => Uint8Array.from([...encodeVarint(body.length), ...body]);

    const cases: { name: string; bytes: Uint8Array; error: RegExp }[] = [
      { name: "not JSON", bytes: withPrefix(encoder.encode("{v:1,toMs")), error: /not a JSON object/ },
      { name: "a JSON array", bytes: withPrefix(json([1, 2])), error: /not a JSON object/ },
      { name: "missing toMs", bytes: withPrefix(json({ v: 1 })), error: /non-negative integer toMs/ },
      { name: "negative toMs", bytes: withPrefix(json({ v: 1, toMs: -1 })), error: /non-negative integer toMs/ },
      { name: "fractional toMs", bytes: withPrefix(json({ v: 1, toMs: 1.5 })), error: /non-negative integer toMs/ },
      { name: "toMs as a string", bytes: withPrefix(json({ v: 1, toMs: "1000" })), error: /non-negative integer toMs/ },
      { name: "wrong version", bytes: withPrefix(json({ v: 2, toMs: 1000 })), error: /v = 1/ },
      {
        name: "oversized frame",
        bytes: Uint8Array.from([...encodeVarint(MAX_EXCHANGE_REQUEST_BYTES + 1), ...new Uint8Array(64)]),
        error: new RegExp(`exceeds the limit of ${MAX_EXCHANGE_REQUEST_BYTES} bytes`),
      },
    ];
    for (const cs of cases) {
      const frames = await rawExchange(client, server, cs.bytes);
      assert.equal(frames.length, 1, `${cs.name}: one answer frame, got ${JSON.stringify(frames)}`);
      assert.equal(typeof frames[0]!.error, "string", `${cs.name}: the answer is an error`);
      assert.match(String(frames[0]!.error), cs.error, `${cs.name}: error says why`);
      assert.equal(frames[0]!.receipts, undefined, `${cs.name}: no receipts sent`);
    }
    await waitFor(() => s.penalised.length === cases.length, 15_000, "every malformed request penalised");
    // Logged, but rate-limited: a peer cannot turn rejections into log volume.
    const rejected = lines.filter((l) => l.msg === "epoch exchange request rejected");
    assert.equal(rejected.length, Math.min(cases.length, THROTTLE_LINES));
    for (const l of rejected) {
      assert.equal(typeof l.reason, "string", "every rejection carries a reason");
      assert.equal(l.peer, client.node.peerId.toString(), "and names the peer");
    }

    // A stream closed before any request is not the peer's fault.
    const stream = await client.node.dialProtocol(server.node.getMultiaddrs()[0]!, EPOCH_PROTOCOL);
    await stream.close();
    // Still serving.
    const pulled = await c.service.pull(server.node.peerId, CLOSE_MS);
    assert.deepEqual(pulled.map(key), own(0, CLOSE_MS).map(key));
    assert.equal(s.penalised.length, cases.length, "an empty stream is not penalised");
  });

  it("answers a peer that is not a registered keeper with a refusal only, without penalising it", async () => {
    const stored = await keeperWithReceipts(20, 0);
    const [server, stranger] = [await node(), await node()];
    const own = transferReceiptsBetween(stored.store);
    const asked: number[] = [];
    const keepers = new Set<string>();
    const s = await exchange(
      server,
      (f, t) => (asked.push(t), own(f, t)),
      silent,
      (id) => keepers.has(id),
    );
    const c = await exchange(stranger, () => []);
    await connect(stranger, server);
    const request = json({ v: 1, kind: "tasks", fromMs: 0, toMs: CLOSE_MS });
    const frames = await rawExchange(stranger, server, Uint8Array.from([...encodeVarint(request.length), ...request]));
    assert.deepEqual(frames, [{ error: "not a registered keeper" }]);
    await assert.rejects(c.service.pull(server.node.peerId, CLOSE_MS), /peer refused: not a registered keeper/);
    // A stranger that sends nothing holds the stream for STRANGER_READ_TIMEOUT_MS, then gets the same refusal.
    const silentStart = Date.now();
    assert.deepEqual(await rawExchange(stranger, server, new Uint8Array()), [{ error: "not a registered keeper" }]);
    assert.ok(Date.now() - silentStart < STRANGER_READ_TIMEOUT_MS + 2_000, "refused within about a second");
    assert.deepEqual(asked, [], "the store is never read for a stranger");
    assert.equal(s.service.stats.refusedStrangers, 3);
    assert.deepEqual(s.penalised, []);
    // Once its signed record is known, the same peer is served.
    keepers.add(stranger.node.peerId.toString());
    assert.equal((await c.service.pull(server.node.peerId, CLOSE_MS)).length, 20);
  });

  it("pages long answers with a cursor and refuses windows over the maximum", async () => {
    const stored = await keeperWithReceipts(STORED, 0);
    const [server, client] = [await node(), await node()];
    const own = transferReceiptsBetween(stored.store);
    const windows: [number, number][] = [];
    const penalised: string[] = [];
    const init = { maxEntriesPerResponse: 100, maxWindowMs: 500_000 };
    const serving = new EpochExchange(
      {
        node: server.node,
        logger: silent,
        ownReceipts: (f, t) => (windows.push([f, t]), own(f, t)),
        isKeeper: () => true,
        penalise: (p) => penalised.push(p.toString()),
      },
      init,
    );
    const asking = new EpochExchange({ node: client.node, logger: silent, ownReceipts: () => [] }, init);
    services.push(serving, asking);
    await serving.start();
    await connect(client, server);

    // The client pages: ceil(569 / 100) requests, same receipts in the same order as one read of the window.
    const pulled = await asking.pull(server.node.peerId, CLOSE_MS);
    assert.deepEqual(pulled.map(key), own(CLOSE_MS - 500_000, CLOSE_MS).map(key));
    assert.equal(windows.length, Math.ceil(STORED / 100));
    assert.ok(
      windows.every(([f, t]) => f === CLOSE_MS - 500_000 && t === CLOSE_MS),
      "the client asks for at most the window",
    );
    assert.equal(serving.stats.truncated, Math.ceil(STORED / 100) - 1);

    // On the wire: 100 entries then a cursor.
    const raw = (v: unknown) => {
      const b = json(v);
      return Uint8Array.from([...encodeVarint(b.length), ...b]);
    };
    const first = await rawExchange(client, server, raw({ v: 1, fromMs: CLOSE_MS - 1000, toMs: CLOSE_MS }));
    assert.deepEqual(
      first.map((f) => (Array.isArray(f.receipts) ? f.receipts.length : f)),
      [100, { done: true, next: 100 }],
    );
    // A window over the maximum is refused, without penalty (the peer may run other limits).
    const wide = await rawExchange(client, server, raw({ v: 1, fromMs: 0, toMs: 600_000 }));
    assert.deepEqual(wide, [{ error: "window longer than 500000 ms" }]);
    assert.equal(serving.stats.refusedWindow, 1);
    assert.deepEqual(penalised, []);
  });

  describe("a peer answering out of protocol", () => {
    async function misbehaving(respond: (stream: Stream) => Promise<void>) {
      const [bad, client] = [await node(), await node()];
      await bad.node.handle(EPOCH_PROTOCOL, async (stream) => {
        try {
          await readFrame(stream, MAX_EXCHANGE_REQUEST_BYTES);
          await respond(stream);
          await stream.close();
        } catch (err) {
          stream.abort(err as Error);
        }
      });
      const c = await exchange(client, () => []);
      await connect(client, bad);
      return { bad, c };
    }

    const good = async () => {
      const p = await peer(9);
      return {
        provider: p.id,
        body: Buffer.from("receipt body").toString("base64"),
        signature: Buffer.from("sig").toString("base64"),
      };
    };
    const send = (stream: Stream, v: unknown) => writeFrame(stream, json(v), MAX_EXCHANGE_RESPONSE_BYTES);

    const penalising: { name: string; respond: (s: Stream) => Promise<void>; message: RegExp }[] = [
      {
        name: "a receipt without a signature",
        respond: async (s) => {
          const r = await good();
          await send(s, { receipts: [r, { provider: r.provider, body: r.body }] });
          await send(s, { done: true });
        },
        message: /lacks provider, body or signature/,
      },
      {
        name: `more than ${RECEIPTS_PER_FRAME} receipts in a frame`,
        respond: async (s) => {
          const r = await good();
          await send(s, { receipts: Array.from({ length: RECEIPTS_PER_FRAME + 1 }, () => r) });
          await send(s, { done: true });
        },
        message: /receipts array of allowed size/,
      },
      {
        name: "a frame that is not JSON",
        respond: async (s) => {
          await writeFrame(s, encoder.encode("receipts: none"), MAX_EXCHANGE_RESPONSE_BYTES);
        },
        message: /not a JSON object/,
      },
      {
        name: "a frame without receipts or done",
        respond: async (s) => {
          await send(s, { hello: "world" });
        },
        message: /receipts array of allowed size/,
      },
      {
        name: "a receipt body over the size bound",
        respond: async (s) => {
          const r = await good();
          await send(s, { receipts: [{ ...r, body: Buffer.alloc(4097).toString("base64") }] });
          await send(s, { done: true });
        },
        message: /out of size bounds/,
      },
    ];
    for (const p of penalising) {
      it(`fails the pull with a penalising EpochExchangeError on ${p.name}`, async () => {
        const { bad, c } = await misbehaving(p.respond);
        await assert.rejects(c.service.pull(bad.node.peerId, CLOSE_MS), (err: unknown) => {
          assert.ok(err instanceof EpochExchangeError, `expected EpochExchangeError, got ${String(err)}`);
          assert.equal(err.penalise, true);
          assert.match(err.message, p.message);
          return true;
        });
        assert.deepEqual(
          c.penalised.map((x) => x.peer),
          [bad.node.peerId.toString()],
          "the misbehaving peer is penalised once",
        );
      });
    }

    it("fails the pull without penalising when the peer refuses or ends before done", async () => {
      const refusing = await misbehaving((s) => send(s, { error: "busy" }));
      await assert.rejects(refusing.c.service.pull(refusing.bad.node.peerId, CLOSE_MS), (err: unknown) => {
        assert.ok(err instanceof EpochExchangeError, `expected EpochExchangeError, got ${String(err)}`);
        assert.equal(err.penalise, false);
        assert.match(err.message, /peer refused: busy/);
        return true;
      });
      const ending = await misbehaving(async (s) => send(s, { receipts: [await good()] }));
      await assert.rejects(ending.c.service.pull(ending.bad.node.peerId, CLOSE_MS), (err: unknown) => {
        assert.ok(err instanceof EpochExchangeError, `expected EpochExchangeError, got ${String(err)}`);
        assert.equal(err.penalise, false);
        assert.match(err.message, /ended the stream before done/);
        return true;
      });
      assert.deepEqual(refusing.c.penalised, []);
      assert.deepEqual(ending.c.penalised, []);
    });
  });
});

describe("epoch task-record exchange", { timeout: 180_000 }, () => {
  const nodes: TestKeeper[] = [];
  const services: EpochExchange[] = [];
  const stores: Store[] = [];
  afterEach(async () => {
    await Promise.all(services.splice(0).map((s) => s.stop()));
    await Promise.all(nodes.splice(0).map((n) => n.node.stop()));
    for (const s of stores.splice(0)) s.close();
  });

  const record = (i: number, endedAtS: bigint): TaskRecordValue => [
    "0x" + i.toString(16).padStart(64, "0"),
    "0x" + "11".repeat(20),
    "0x" + "22".repeat(20),
    1_048_576n + BigInt(i),
    endedAtS - 5n,
    endedAtS,
    1,
    "0x" + "ab".repeat(32),
    2,
    "0x" + "00".repeat(32),
  ];

  it("pulls the records a coordinator holds for a window, in several frames, and keeps each task once", async () => {
    const held = Array.from({ length: RECEIPTS_PER_FRAME + 40 }, (_, i) => record(i + 1, 2_000n + BigInt(i % 50)));
    const server = await startNode();
    const client = await startNode();
    nodes.push(server, client);
    const windows: [number, number][] = [];
    const serving = new EpochExchange({
      node: server.node,
      logger: silent,
      ownReceipts: () => [],
      isKeeper: () => true,
      ownTasks: (fromMs, toMs) => {
        windows.push([fromMs, toMs]);
        return held;
      },
    });
    const asking = new EpochExchange({ node: client.node, logger: silent, ownReceipts: () => [] });
    services.push(serving, asking);
    await serving.start();
    await asking.start();
    await client.node.dial(server.node.getMultiaddrs()[0]!);

    const pulled = await asking.pullTasks(server.node.peerId, 1_000_000, 3_000_000);
    assert.deepEqual(windows, [[1_000_000, 3_000_000]]);
    assert.deepEqual(pulled, held);

    const store = openStore(":memory:");
    stores.push(store);
    const remote = new RemoteTasks(store);
    // Records belong to the window they arrived in; a task id is kept once, whenever it is sent again.
    assert.equal(remote.add(pulled.slice(0, 100), 5_000), 100);
    assert.equal(remote.add(pulled, 6_000), held.length - 100);
    assert.equal(remote.add(pulled.slice(0, 10), 7_000), 0, "a task id is kept once");
    assert.deepEqual(remote.between(5_000, 6_000), pulled.slice(0, 100));
    assert.deepEqual(
      remote.between(6_000, 7_001).map((v) => v[0]),
      pulled
        .slice(100)
        .map((v) => v[0])
        .sort(),
    );
    assert.equal(remote.between(7_000, 8_000).length, 0);
    // The next pull from a peer reaches back PULL_OVERLAP_MS before the last window's end.
    assert.equal(remote.nextPullFrom("peer-a"), 0);
    remote.pulled("peer-a", 3_000_000);
    assert.equal(remote.nextPullFrom("peer-a"), 3_000_000 - PULL_OVERLAP_MS);
    remote.pulled("peer-a", 4_000_000);
    assert.equal(remote.nextPullFrom("peer-a"), 4_000_000 - PULL_OVERLAP_MS);
  });

  it("rejects a task record entry that breaks the schema and penalises the peer", async () => {
    const bad = await startNode();
    const client = await startNode();
    nodes.push(bad, client);
    await bad.node.handle(EPOCH_PROTOCOL, async (stream: Stream) => {
      await readFrame(stream, MAX_EXCHANGE_REQUEST_BYTES);
      const entry = record(1, 2_000n) as unknown as unknown[];
      entry[6] = 7; // no such status
      await writeFrame(
        stream,
        json({ tasks: [entry.map((x) => (typeof x === "bigint" ? x.toString() : x))] }),
        MAX_EXCHANGE_RESPONSE_BYTES,
      );
      await writeFrame(stream, json({ done: true }), MAX_EXCHANGE_RESPONSE_BYTES);
      await stream.close();
    });
    const penalised: string[] = [];
    const asking = new EpochExchange({
      node: client.node,
      logger: silent,
      ownReceipts: () => [],
      penalise: (p: PeerId) => penalised.push(p.toString()),
    });
    services.push(asking);
    await client.node.dial(bad.node.getMultiaddrs()[0]!);
    await assert.rejects(asking.pullTasks(bad.node.peerId, 0, 10), (err: unknown) => {
      assert.ok(err instanceof EpochExchangeError, String(err));
      assert.match(err.message, /status/);
      assert.equal(err.penalise, true);
      return true;
    });
    assert.deepEqual(penalised, [bad.node.peerId.toString()]);
  });
});
