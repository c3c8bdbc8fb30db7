/**
 * The directory exchange, `/lumora/directory/1.0.0` (keeper/discovery/exchange.ts, docs/PROTOCOL.md §4a), between
 * real libp2p nodes over loopback: push-pull of signed records, no re-verification of what is held, seq order,
 * hostile peers speaking the protocol by hand, and the periodic sync converging a line of keepers with no DHT GET.
 */
import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";

import { generateKeyPair } from "@libp2p/crypto/keys";
import type { PeerId, PrivateKey, Stream } from "@libp2p/interface";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";

import {
  discovery,
  DIRECTORY_MAX_INVALID_PER_MESSAGE,
  DIRECTORY_MAX_MESSAGE_BYTES,
  DIRECTORY_MAX_RECORDS_PER_MESSAGE,
  DIRECTORY_MAX_VERIFIED_PER_MESSAGE,
  DIRECTORY_PROTOCOL,
  signPeerRecord,
  type Discovery,
  type DiscoveryInit,
} from "../../../keeper/discovery/index.ts";
import { DirectorySync } from "../../../keeper/discovery/pb/directory.ts";
import { SignedPeerRecord } from "../../../keeper/discovery/pb/peer-record.ts";
import { encodeVarint, readFrame, readMessage, writeMessage } from "../../../keeper/wire/index.ts";
import { defaultInit, silent, startNode, waitFor, type TestKeeper } from "../helpers.ts";

const HOUR = 3_600_000;

/** A keeper whose discovery bans what it penalises, never walks the DHT on its own, and syncs only if asked to. */
function withExchange(k: TestKeeper, i: number, init: Partial<DiscoveryInit> = {}): Discovery {
  k.discovery = discovery({ ...defaultInit(i), refreshIntervalMs: HOUR, exchange: { syncIntervalMs: 0 }, ...init })({
    node: k.node,
    privateKey: k.privateKey,
    logger: silent,
    penalise: (peer, err) => k.bans.ban(peer, err.message),
  });
  return k.discovery;
}

/** Starts discovery with no connection (own record signed at once, the DHT PUT left in the background). */
async function startAlone(k: TestKeeper): Promise<void> {
  await k.discovery!.start();
  await waitFor(() => k.discovery!.get(k.node.peerId.toString()) !== undefined, 10_000, "own record");
}

/** A signed record of a keeper that runs nowhere. */
async function recordOf(
  key: PrivateKey,
  seq: bigint,
  overrides: { signature?: "bad"; expired?: boolean; rewardAddress?: string } = {},
): Promise<Uint8Array> {
  const now = Date.now() - (overrides.expired === true ? 2 * HOUR : 0);
  const bytes = await signPeerRecord(key, {
    seq,
    issuedAtMs: now,
    expiresAtMs: now + HOUR,
    capabilities: ["provider"],
    bandwidthBps: 1_000_000,
    capacity: 4,
    load: 0,
    shard: 0,
    rewardAddress: overrides.rewardAddress ?? "0x" + "ab".repeat(20),
    addrs: ["/ip4/127.0.0.1/tcp/4001"],
  });
  if (overrides.signature !== "bad") return bytes;
  const signed = SignedPeerRecord.decode(bytes);
  const signature = Uint8Array.from(signed.signature);
  signature[0] ^= 0xff;
  return SignedPeerRecord.encode({ ...signed, signature });
}

async function connect(a: TestKeeper, b: TestKeeper): Promise<void> {
  await a.node.dial(b.node.getMultiaddrs()[0]!);
}

/** Speaks the protocol by hand: message 1, the answer, an empty message 3. */
async function rawExchange(raw: TestKeeper, to: PeerId, records: Uint8Array[]): Promise<DirectorySync> {
  const s = await raw.node.dialProtocol(to, DIRECTORY_PROTOCOL);
  const signal = AbortSignal.timeout(5_000);
  await writeMessage(s, DirectorySync, { digest: [], records: records as Uint8Array<ArrayBuffer>[] }, 4 << 20, {
    signal,
  });
  const answer = await readMessage<DirectorySync>(s, DirectorySync, DIRECTORY_MAX_MESSAGE_BYTES, { signal });
  await writeMessage(s, DirectorySync, { digest: [], records: [] }, DIRECTORY_MAX_MESSAGE_BYTES, { signal });
  await s.close({ signal });
  return answer;
}

/** Resolves when the stream is reset or ends (a read that fails or finds the end), with how long it took. */
async function untilClosed(s: Stream): Promise<{ ms: number; reset: boolean }> {
  const t0 = Date.now();
  try {
    const body = await readFrame(s, DIRECTORY_MAX_MESSAGE_BYTES, { signal: AbortSignal.timeout(15_000) });
    assert.equal(body, undefined, "no answer to an oversized message");
    return { ms: Date.now() - t0, reset: false };
  } catch (err) {
    if ((err as Error).name === "TimeoutError") throw err;
    return { ms: Date.now() - t0, reset: true };
  }
}

describe("directory exchange /lumora/directory/1.0.0", () => {
  const keepers: TestKeeper[] = [];
  afterEach(async () => {
    await Promise.all(keepers.map((k) => k.discovery?.stop()));
    await Promise.all(keepers.splice(0).map((k) => k.node.stop()));
  });
  const node = async () => {
    const k = await startNode();
    keepers.push(k);
    return k;
  };

  it("push-pull: a newcomer gets a keeper's K records and its own, and that keeper gets the newcomer's", async () => {
    const K = 5;
    const hub = await node();
    const dh = withExchange(hub, 0);
    await startAlone(hub);
    const others = await Promise.all(Array.from({ length: K }, () => generateKeyPair("Ed25519")));
    for (const key of others) await dh.accept(await recordOf(key, 1n));
    assert.equal(dh.peers().length, K + 1);

    const newcomer = await node();
    const dn = withExchange(newcomer, 1);
    await startAlone(newcomer);
    await connect(newcomer, hub);
    const added = await dn.exchange.exchangeWith(hub.node.peerId);

    assert.equal(added, K + 1, "the hub's record and the K it holds");
    assert.equal(dn.peers().length, K + 2);
    assert.ok(dh.get(newcomer.node.peerId.toString()) !== undefined, "the hub holds the newcomer's record");
    assert.deepEqual(dh.get(newcomer.node.peerId.toString())?.shard, defaultInit(1).shard);
    assert.equal(dn.exchangeStats.completed, 1);
    assert.equal(dh.exchangeStats.served, 1);
    // Accepted records' addresses go to the peer store (as a DHT fetch puts them).
    const addrs = await newcomer.node.peerStore.get(hub.node.peerId).then((p) => p.addresses.length);
    assert.ok(addrs > 0);
  });

  it("records held with the same seq are not verified again; a newer seq replaces, an older one does not", async () => {
    const hub = await node();
    // Five exchanges in a row from one peer: a budget that lets them all through.
    const dh = withExchange(hub, 0, { exchange: { syncIntervalMs: 0, servePerPeerIntervalMs: 1 } });
    await startAlone(hub);
    const raw = await node();
    await connect(raw, hub);
    const keys = await Promise.all(Array.from({ length: 4 }, () => generateKeyPair("Ed25519")));
    const v5 = await Promise.all(keys.map((k) => recordOf(k, 5n)));

    await rawExchange(raw, hub.node.peerId, v5);
    assert.equal(dh.exchangeStats.verified, 4);
    assert.equal(dh.exchangeStats.accepted, 4);
    // The same records again: parsed, not verified.
    const answer = await rawExchange(raw, hub.node.peerId, v5);
    assert.equal(dh.exchangeStats.verified, 4, "no signature checked for records held with that seq");
    assert.equal(dh.exchangeStats.skipped, 4);
    // With an empty digest the raw peer is sent everything the hub holds: its own record and the four.
    assert.equal(answer.records.length, 5);

    const key0 = keys[0]!;
    const peer0 = peerIdFromPrivateKey(key0).toString();
    await rawExchange(raw, hub.node.peerId, [await recordOf(key0, 6n)]);
    assert.equal(dh.get(peer0)?.seq, 6n, "a newer seq replaces");
    await rawExchange(raw, hub.node.peerId, [await recordOf(key0, 3n)]);
    assert.equal(dh.get(peer0)?.seq, 6n, "an older seq does not");
    assert.equal(dh.exchangeStats.verified, 5, "the older one was skipped without a signature check");
  });

  it("a peer's own record with a bad signature resets the stream and bans it; a relayed one is only skipped", async () => {
    const hub = await node();
    const dh = withExchange(hub, 0);
    await startAlone(hub);
    const raw = await node();
    await connect(raw, hub);
    // Relayed: the relayer may have taken it in good faith (another version's rules), so it is not convicted.
    const good = await recordOf(await generateKeyPair("Ed25519"), 1n);
    const forged = await recordOf(await generateKeyPair("Ed25519"), 1n, { signature: "bad" });
    await rawExchange(raw, hub.node.peerId, [good, forged]);
    assert.equal(dh.exchangeStats.invalid, 1, "the forged relayed record counted");
    assert.equal(dh.exchangeStats.rejected, 0);
    assert.equal(dh.peers().length, 2, "the good record is kept, the forged one not");
    assert.ok(!hub.bans.isBanned(raw.node.peerId), "a relayer is not banned");
    // Its own: only the sender signs that one.
    await assert.rejects(rawExchange(raw, hub.node.peerId, [await recordOf(raw.privateKey, 1n, { signature: "bad" })]));
    assert.equal(dh.exchangeStats.rejected, 1);
    assert.equal(dh.get(raw.node.peerId.toString()), undefined, "its record is not kept");
    assert.ok(hub.bans.isBanned(raw.node.peerId), "the sender is banned");
  });

  it("records `relayable` refuses (no bond) are kept by who was handed them, never passed on", async () => {
    const UNBONDED = "0x" + "cd".repeat(20);
    const relayable = (r: { rewardAddress: string }) => r.rewardAddress.toLowerCase() !== UNBONDED;
    const hub = await node();
    const dh = withExchange(hub, 0, { relayable });
    await startAlone(hub);
    // A fresh identity hands over its own record, and relays another unbonded one and a bonded one.
    const sybil = await node();
    await connect(sybil, hub);
    const other = await generateKeyPair("Ed25519");
    const bondedKey = await generateKeyPair("Ed25519");
    await rawExchange(sybil, hub.node.peerId, [
      await recordOf(sybil.privateKey, 1n, { rewardAddress: UNBONDED }),
      await recordOf(other, 1n, { rewardAddress: UNBONDED }),
      await recordOf(bondedKey, 1n),
    ]);
    const sybilId = sybil.node.peerId.toString();
    assert.ok(dh.get(sybilId) !== undefined, "the hub learned the identity that dialled it");
    assert.equal(dh.peers().length, 4, "and holds every record it verified");
    // …but does not count it as a keeper (no connection slot kept for it, no reprieve from idle reaping).
    assert.equal(dh.isKeeper(sybilId), false);
    assert.equal(dh.isKeeper(peerIdFromPrivateKey(bondedKey).toString()), true);
    // A keeper syncing with the hub gets the hub's own record and the bonded one, not the unbonded two.
    const newcomer = await node();
    const dn = withExchange(newcomer, 1, { relayable });
    await startAlone(newcomer);
    await connect(newcomer, hub);
    assert.equal(await dn.exchange.exchangeWith(hub.node.peerId), 2);
    assert.ok(dn.get(peerIdFromPrivateKey(bondedKey).toString()) !== undefined, "the bonded record passed on");
    assert.equal(dn.get(sybilId), undefined, "the unbonded identity's record did not");
    assert.equal(dn.get(peerIdFromPrivateKey(other).toString()), undefined);
    // Nor does the hub's answer to a raw exchange carry them (the digest neither).
    const answer = await rawExchange(sybil, hub.node.peerId, []);
    assert.equal(answer.records.length, 3, "the hub's own, the bonded one and the newcomer's");
    assert.equal(answer.digest.length, 3);
  });

  it("peers' own records, handed over directly, fill the directory only up to a quarter over its cap", async () => {
    const hub = await node();
    const dh = withExchange(hub, 0, { maxRecords: 4 });
    await startAlone(hub);
    // Each identity connects, hands over its own record and leaves: the directory takes 4 + 1 of them (the hub's
    // own record is one of the 5), then refuses the rest without a violation.
    let kept = 0;
    for (let i = 0; i < 7; i++) {
      const id = await node();
      await connect(id, hub);
      await rawExchange(id, hub.node.peerId, [await recordOf(id.privateKey, 1n)]);
      if (dh.get(id.node.peerId.toString()) !== undefined) kept++;
      assert.ok(!hub.bans.isBanned(id.node.peerId));
      await id.node.stop();
    }
    assert.equal(kept, 4, "4 + ⌈4/4⌉ = 5 records with the hub's own");
    assert.equal(dh.peers().length, 5);
  });

  it("an oversized length prefix is refused before any of the body is read", async () => {
    const hub = await node();
    withExchange(hub, 0);
    await startAlone(hub);
    const raw = await node();
    await connect(raw, hub);
    const s = await raw.node.dialProtocol(hub.node.peerId, DIRECTORY_PROTOCOL);
    // The prefix alone, no body: a reader that waited for the body would time out (5 s idle), not reset at once.
    s.send(encodeVarint(DIRECTORY_MAX_MESSAGE_BYTES + 1));
    const { ms, reset } = await untilClosed(s);
    assert.ok(reset, "the stream is reset");
    assert.ok(ms < 3_000, `reset after ${ms} ms`);
    await waitFor(() => hub.bans.isBanned(raw.node.peerId), 5_000, "the sender banned");
  });

  it("more records than a message may carry is a violation; verification and relayed newcomers are bounded", async () => {
    const hub = await node();
    const dh = withExchange(hub, 0, { maxRecords: 200 });
    await startAlone(hub);
    const keys = await Promise.all(
      Array.from({ length: DIRECTORY_MAX_RECORDS_PER_MESSAGE }, () => generateKeyPair("Ed25519")),
    );
    const records = await Promise.all(keys.map((k) => recordOf(k, 1n)));

    const flood = await node();
    await connect(flood, hub);
    await assert.rejects(rawExchange(flood, hub.node.peerId, [...records, records[0]!]));
    assert.equal(dh.peers().length, 1, "nothing stored from an over-cap message");
    assert.ok(hub.bans.isBanned(flood.node.peerId));

    // At the cap exactly: at most DIRECTORY_MAX_VERIFIED_PER_MESSAGE verified and kept, the rest counted.
    const raw = await node();
    await connect(raw, hub);
    await rawExchange(raw, hub.node.peerId, records);
    assert.equal(dh.exchangeStats.verified, DIRECTORY_MAX_VERIFIED_PER_MESSAGE);
    assert.equal(dh.peers().length, 1 + DIRECTORY_MAX_VERIFIED_PER_MESSAGE);
    assert.equal(dh.exchangeStats.unverified, DIRECTORY_MAX_RECORDS_PER_MESSAGE - DIRECTORY_MAX_VERIFIED_PER_MESSAGE);
    // The rest in a later exchange, up to the directory's cap (200): relayed newcomers beyond it are dropped.
    await rawExchange(raw, hub.node.peerId, records.slice(DIRECTORY_MAX_VERIFIED_PER_MESSAGE));
    assert.equal(dh.peers().length, 200);
    const kept = 200 - 1 - DIRECTORY_MAX_VERIFIED_PER_MESSAGE;
    assert.equal(
      dh.exchangeStats.droppedOverCap,
      DIRECTORY_MAX_RECORDS_PER_MESSAGE - DIRECTORY_MAX_VERIFIED_PER_MESSAGE - kept,
    );
  });

  it("a digest entry with an overlong peer id is a violation, refused before any entry is used", async () => {
    const hub = await node();
    const dh = withExchange(hub, 0);
    await startAlone(hub);
    const raw = await node();
    await connect(raw, hub);
    const s = await raw.node.dialProtocol(hub.node.peerId, DIRECTORY_PROTOCOL);
    // Base58 of a 512 KiB id would hold the event loop for minutes; it must never be encoded.
    const peerId = new Uint8Array(512 * 1024).fill(7);
    await writeMessage(s, DirectorySync, { digest: [{ peerId, seq: 1n }], records: [] }, 4 << 20, {
      signal: AbortSignal.timeout(5_000),
    });
    const { ms, reset } = await untilClosed(s);
    assert.ok(reset && ms < 3_000, `reset ${reset} after ${ms} ms`);
    await waitFor(() => hub.bans.isBanned(raw.node.peerId), 5_000, "the sender banned");
    assert.equal(dh.exchangeStats.served, 0);
  });

  it("one record per peer a message, and a few stale ones stop the verification of the rest", async () => {
    const hub = await node();
    const dh = withExchange(hub, 0);
    await startAlone(hub);
    const raw = await node();
    await connect(raw, hub);
    // The same pre-signed expired record 200 times: checked once.
    const stale = await recordOf(await generateKeyPair("Ed25519"), 1n, { expired: true });
    await rawExchange(
      raw,
      hub.node.peerId,
      Array.from({ length: 200 }, () => stale),
    );
    assert.equal(dh.exchangeStats.verified, 1);
    assert.equal(dh.exchangeStats.invalid, 1);
    // 40 distinct expired records: verification stops after DIRECTORY_MAX_INVALID_PER_MESSAGE; nobody is banned.
    const many = await Promise.all(
      Array.from({ length: 40 }, async () => recordOf(await generateKeyPair("Ed25519"), 1n, { expired: true })),
    );
    const raw2 = await node(); // its own per-peer budget
    await connect(raw2, hub);
    await rawExchange(raw2, hub.node.peerId, many);
    assert.equal(dh.exchangeStats.verified, 1 + DIRECTORY_MAX_INVALID_PER_MESSAGE);
    assert.ok(!hub.bans.isBanned(raw.node.peerId) && !hub.bans.isBanned(raw2.node.peerId), "stale is no violation");
    assert.equal(dh.peers().length, 1, "only the hub's own record");
  });

  it("a peer's silent stream holds one serving slot, not two, and only for 2 s", async () => {
    const hub = await node();
    const dh = withExchange(hub, 0);
    await startAlone(hub);
    const raw = await node();
    await connect(raw, hub);
    const silent1 = await raw.node.dialProtocol(hub.node.peerId, DIRECTORY_PROTOCOL);
    await waitFor(() => dh.exchange.servingNow === 1, 5_000, "one stream served");
    const silent2 = await raw.node.dialProtocol(hub.node.peerId, DIRECTORY_PROTOCOL);
    // Refused at once: reset before anything is read (the reader may see the reset or just the end of the stream).
    const second = await untilClosed(silent2);
    assert.ok(second.ms < 1_000, `the second stream ended after ${second.ms} ms`);
    assert.equal(dh.exchangeStats.refused, 1, "a second concurrent exchange of the same peer is refused");
    const first = await untilClosed(silent1);
    assert.ok(first.reset && first.ms < 3_000, `the silent one is dropped after ${first.ms} ms`);
  });

  it("a flood of exchanges over the per-peer budget is refused and counted; the keeper stays responsive", async () => {
    const hub = await node();
    const dh = withExchange(hub, 0);
    await startAlone(hub);
    const raw = await node();
    await connect(raw, hub);
    let ok = 0;
    for (let i = 0; i < 8; i++) {
      await rawExchange(raw, hub.node.peerId, []).then(
        () => ok++,
        () => {},
      );
    }
    assert.ok(ok >= 1 && ok <= 3, `${ok} of 8 served`);
    assert.equal(dh.exchangeStats.refused, 8 - ok);
    assert.ok(!hub.bans.isBanned(raw.node.peerId), "over budget is not a violation");
    // Another keeper is served at once.
    const other = await node();
    const dother = withExchange(other, 1);
    await startAlone(other);
    await connect(other, hub);
    assert.equal(await dother.exchange.exchangeWith(hub.node.peerId), 1);
    assert.ok(dh.get(other.node.peerId.toString()) !== undefined);
  });

  it("periodic sync: 5 keepers in a line converge to every record with no DHT GET", async () => {
    const N = 5;
    const line = await Promise.all(Array.from({ length: N }, () => node()));
    let gets = 0;
    const ds = line.map((k, i) => {
      const d = withExchange(k, i, { exchange: { syncIntervalMs: 300 } });
      const dht = k.node.services.dht;
      const get = dht.get.bind(dht);
      dht.get = (key, options) => {
        gets++;
        return get(key, options);
      };
      // What keeper.ts wires: identify → an exchange (or the DHT lookup as fallback).
      k.node.addEventListener("peer:identify", (evt) => {
        void d.onPeerIdentified(evt.detail.peerId, evt.detail.protocols);
      });
      return d;
    });
    // A line it stays: the DHT's self-queries would otherwise connect everyone to everyone (the gater refuses).
    for (const [i, k] of line.entries())
      for (const [j, other] of line.entries())
        if (Math.abs(i - j) > 1) k.bans.ban(other.node.peerId, "not a neighbour");
    await Promise.all(line.map((k) => startAlone(k)));
    // In order: the identify exchanges alone bring the last keeper's record no further than its neighbour.
    for (let i = 0; i + 1 < N; i++) await connect(line[i]!, line[i + 1]!);
    await waitFor(
      () => ds.every((d) => d.peers().length === N),
      30_000,
      () => `every keeper to hold ${N} records (${ds.map((d) => d.peers().length).join(",")})`,
    );
    assert.equal(gets, 0, `no DHT GET: ${JSON.stringify(ds.map((d) => [d.exchangeStats, d.lookups.stats]))}`);
    assert.ok(
      ds.every((d) => d.lookups.stats.started === 0),
      "no record lookup",
    );
    assert.ok(ds.reduce((n, d) => n + d.exchangeStats.completed, 0) >= N - 1);
    for (const [i, k] of line.entries()) assert.ok(k.node.getPeers().length <= (i === 0 || i === N - 1 ? 1 : 2));
  });
});
