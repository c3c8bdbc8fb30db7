/**
 * Identify must not amplify (issue 13, point 3): a peer completing identify costs a DHT GET only if it speaks a
 * Lumora protocol, and then at a bounded rate from a bounded queue. The strangers are bare libp2p nodes with
 * fresh identities; the keepers are real nodes with discovery. Wired exactly as keeper.ts wires it.
 */
import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";

import { DIRECTORY_PROTOCOL, RecordFetchQueue, type Discovery } from "../../../keeper/discovery/index.ts";
import { dialRetry, rawPeer, stopAll, type RawPeer } from "../../fuzz/raw-peer.ts";
import { defaultInit, silent, startNode, waitFor, withDiscovery, type TestKeeper } from "../helpers.ts";

/**
 * Dials every peer to `target`, at most 10 handshakes at a time and each retried within its deadline: on a loaded
 * 2-core machine 60 simultaneous Noise handshakes against one keeper time out, which is not what is tested here.
 */
async function dialAll(peers: RawPeer[], target: string): Promise<void> {
  for (let i = 0; i < peers.length; i += 10) {
    await Promise.all(peers.slice(i, i + 10).map((p) => dialRetry(p, target, 30_000)));
  }
}

/** keeper.ts's `peer:identify` listener. */
function listen(k: TestKeeper, d: Discovery, found: string[]): void {
  k.node.addEventListener("peer:identify", (evt) => {
    void d.onPeerIdentified(evt.detail.peerId, evt.detail.protocols).then((ok) => {
      if (ok) found.push(evt.detail.peerId.toString());
    });
  });
}

describe("record lookups of identified peers", () => {
  const keepers: TestKeeper[] = [];
  const strangers: RawPeer[] = [];
  afterEach(async () => {
    await stopAll(strangers.splice(0));
    await Promise.all(keepers.map((k) => k.discovery?.stop()));
    await Promise.all(keepers.splice(0).map((k) => k.node.stop()));
  });

  it("ignores strangers and rate-limits Lumora-speaking ones from a bounded queue", async () => {
    const k = await startNode();
    keepers.push(k);
    const d = withDiscovery(k, { ...defaultInit(0), lookups: { ratePerSecond: 2, burst: 2, maxQueue: 8 } });
    await d.start();
    const found: string[] = [];
    listen(k, d, found);
    const addr = k.node.getMultiaddrs()[0]!.toString();
    const stats = d.lookups.stats;

    // 60 strangers speaking no Lumora protocol: identify completes, no lookup at all.
    for (let i = 0; i < 60; i++) strangers.push(await rawPeer());
    await dialAll(strangers, addr);
    await waitFor(() => stats.ignored >= 60, 15_000, "identify of every stranger");
    assert.equal(stats.started, 0, "no DHT GET for peers that speak no Lumora protocol");

    // 40 peers that claim a Lumora protocol: lookups start at the rate, the rest waits in (or is dropped from)
    // a queue of 8.
    const liars: RawPeer[] = [];
    for (let i = 0; i < 40; i++) liars.push(await rawPeer({ protocols: ["/lumora/transfer/1.0.0"] }));
    strangers.push(...liars);
    const t0 = Date.now();
    await dialAll(liars, addr);
    await waitFor(() => stats.dropped + stats.queued + stats.started >= 40, 15_000, "every claimant seen");
    // Each claimant is started (at the rate), queued (at most 8) or dropped: nothing else is kept.
    assert.ok(stats.dropped >= 40 - 8 - stats.started, `claimants beyond the queue dropped (${stats.dropped})`);
    assert.ok(stats.queued <= 8, `queue bounded (${stats.queued})`);
    const elapsed = (Date.now() - t0) / 1000;
    assert.ok(stats.started <= 2 + Math.ceil(2 * elapsed) + 1, `${stats.started} lookups in ${elapsed.toFixed(1)} s`);
  });

  it("looks up a keeper that connects and does not speak the directory exchange, and finds its record", async () => {
    const k = await startNode();
    keepers.push(k);
    const d = withDiscovery(k, defaultInit(0));
    await d.start();
    const found: string[] = [];
    listen(k, d, found);
    const other = await startNode();
    keepers.push(other);
    const od = withDiscovery(other, defaultInit(1));
    await od.start();
    // A keeper that speaks it gets a directory exchange on identify instead (exchange.test.ts): the DHT lookup is
    // the fallback for those that do not.
    await other.node.unhandle(DIRECTORY_PROTOCOL);
    await other.node.dial(k.node.getMultiaddrs()[0]!);
    await waitFor(() => found.includes(other.node.peerId.toString()), 30_000, "the keeper's record found");
    assert.ok(d.get(other.node.peerId.toString()) !== undefined);
    assert.equal(d.lookups.stats.started, 1);
  });

  it("looks a keeper that connected before publishing its record up again while it stays connected", async () => {
    const k = await startNode();
    keepers.push(k);
    const d = withDiscovery(k, defaultInit(0));
    await d.start();
    const found: string[] = [];
    listen(k, d, found);
    const other = await startNode();
    keepers.push(other);
    const od = withDiscovery(other, defaultInit(1));
    const otherId = other.node.peerId.toString();
    // Connected, record not published yet: the first lookup finds nothing.
    await other.node.dial(k.node.getMultiaddrs()[0]!);
    await waitFor(() => d.lookups.stats.notFound >= 1, 30_000, "the first lookup to miss");
    await od.start();
    const publishedAt = Date.now();
    // Before, the next lookup waited for the directory's refresh a minute later.
    await waitFor(() => d.get(otherId) !== undefined, 40_000, "the record found by a lookup again");
    assert.ok(d.lookups.stats.retried >= 1, `looked up again (${JSON.stringify(d.lookups.stats)})`);
    await waitFor(() => found.includes(otherId), 5_000, "the identify listener told");
    console.log(`record found ${Date.now() - publishedAt} ms after the keeper published it`);
  });

  it("looks a peer not found up again only while it is connected, and at most once per delay", async () => {
    let connected = true;
    const lookedUp: string[] = [];
    const q = new RecordFetchQueue(
      {
        logger: silent,
        known: () => false,
        fetch: async (id) => {
          lookedUp.push(id);
          throw new Error("not found");
        },
        connected: () => connected,
      },
      { retryDelaysMs: [20, 20] },
    );
    try {
      const kad = ["/lumora/kad/1.0.0"];
      assert.equal(await q.onPeerIdentified("stays", kad), false);
      assert.deepEqual(lookedUp, ["stays", "stays", "stays"], "the first lookup and one after each delay");
      assert.equal(q.stats.retried, 2);
      assert.equal(await q.onPeerIdentified("stays", kad), false, "then not again before retryAfterMs");
      assert.equal(lookedUp.length, 3);
      connected = false;
      assert.equal(await q.onPeerIdentified("gone", kad), false);
      assert.deepEqual(lookedUp.slice(3), ["gone"], "a peer no longer connected is not looked up again");
    } finally {
      q.stop();
    }
  });
});
