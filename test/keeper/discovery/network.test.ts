import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";

import { bootstrap, routingTableSize, type Bootstrapper } from "../../../keeper/p2p/index.ts";
import { defaultInit, silent, startNode, waitFor, withDiscovery, type TestKeeper } from "../helpers.ts";

const N = 10;

describe("discovery across a 10-keeper network bootstrapped from one node", () => {
  const keepers: TestKeeper[] = [];
  const boots: Bootstrapper[] = [];
  afterEach(async () => {
    await Promise.all(boots.splice(0).map((b) => b.stop()));
    await Promise.all(keepers.map((k) => k.discovery?.stop()));
    await Promise.all(keepers.splice(0).map((k) => k.node.stop()));
  });

  it("every keeper finds every other one and its signed record through the DHT", async () => {
    for (let i = 0; i < N; i++) keepers.push(await startNode());
    const seed = keepers[0].node;
    const seedAddr = seed.getMultiaddrs()[0].toString();
    for (const k of keepers.slice(1)) {
      const b = bootstrap({ peers: [seedAddr], minRoutingTableSize: N - 1, intervalMs: 500 })({
        node: k.node,
        logger: silent,
      });
      boots.push(b);
    }
    await Promise.all(boots.map((b) => b.start()));
    // Deadlines for a loaded 2-core machine: there ten keepers' handshakes and DHT walks (each refresh may spend
    // up to RECORD_FETCH_TIMEOUT_MS on its walk) take several times what they take on a quiet one.
    await waitFor(() => keepers.every((k) => routingTableSize(k.node) >= N - 1), 60_000, "full routing tables");

    const discos = keepers.map((k, i) => withDiscovery(k, defaultInit(i)));
    await Promise.all(discos.map((d) => d.start()));
    // A refresh fetches only records still missing, so repeating it converges without refetching.
    await waitFor(
      async () => (await Promise.all(discos.map((d) => d.refresh()))) && discos.every((d) => d.peers().length === N),
      90_000,
      "every directory to hold every record",
    );

    for (const [i, d] of discos.entries()) {
      const ids = new Set(d.peers().map((r) => r.peerId));
      for (const [j, other] of keepers.entries()) {
        assert.ok(ids.has(other.node.peerId.toString()), `keeper ${i} lacks the record of keeper ${j}`);
      }
    }
    // The records carry what each node advertised, intact after signing, DHT storage and verification.
    const r = discos[3].get(keepers[6].node.peerId.toString());
    assert.ok(r !== undefined);
    assert.deepEqual(r.capabilities, defaultInit(6).capabilities);
    assert.equal(r.bandwidthBps, defaultInit(6).bandwidthBps);
    assert.equal(r.shard, defaultInit(6).shard);
    assert.equal(r.rewardAddress, defaultInit(6).rewardAddress);
    assert.ok(
      r.addrs.some((a) => a.startsWith("/ip4/127.0.0.1/tcp/")),
      r.addrs.join(","),
    );
  });

  it("periodic refreshes skip the random walk, doubling the wait, while walks find nobody new", async () => {
    for (let i = 0; i < 3; i++) keepers.push(await startNode());
    const [a, b, c] = keepers;
    await a!.node.dial(b!.node.getMultiaddrs()[0]!);
    await b!.node.dial(c!.node.getMultiaddrs()[0]!);
    const [db, dc] = [withDiscovery(b!, defaultInit(1)), withDiscovery(c!, defaultInit(2))];
    await Promise.all([db.start(), dc.start()]);
    const da = withDiscovery(a!, { ...defaultInit(0), refreshIntervalMs: 60_000 });
    let walks = 0;
    const dht = a!.node.services.dht;
    const original = dht.getClosestPeers.bind(dht);
    dht.getClosestPeers = (key, options) => {
      walks++;
      return original(key, options);
    };
    try {
      // Ticks by hand (the timer's are a minute apart): each is what the periodic timer runs.
      const tick = () => da.refresh({ periodic: true });
      await waitFor(
        async () => (await tick()) >= 0 && da.peers().length === 2,
        30_000,
        () => `both records (${da.peers().length} held, ${walks} walks)`,
      );
      const first = walks;
      // Nothing new from here: each walk doubles the ticks skipped before the next (1, 2, 4, 8, then 8), whatever
      // the backoff the converging ticks left.
      const walked: number[] = [];
      for (let t = 0; t < 22; t++) {
        const before = walks;
        await tick();
        if (walks > before) walked.push(t);
      }
      const gaps = walked.slice(1).map((t, i) => t - walked[i]!);
      const what = `walked at ticks ${walked.join(",")} (${first} walks to converge)`;
      assert.ok(walked.length >= 3 && walked.length <= 6, what);
      assert.ok(
        gaps.every((g, i) => [2, 3, 5, 9].includes(g) && (i === 0 || g === 9 || g === 2 * gaps[i - 1]! - 1)),
        what,
      );
      assert.equal(gaps.at(-1), 9, what);
      const asked = walks;
      await da.refresh();
      assert.equal(walks, asked + 1, "a refresh asked for (not periodic) always walks");
    } finally {
      dht.getClosestPeers = original;
    }
  });

  it("a republished record with a higher sequence number replaces the old one", async () => {
    for (let i = 0; i < 3; i++) keepers.push(await startNode());
    const seedAddr = keepers[0].node.getMultiaddrs()[0].toString();
    for (const k of keepers.slice(1)) await k.node.dial((await import("@multiformats/multiaddr")).multiaddr(seedAddr));
    await waitFor(() => keepers.every((k) => routingTableSize(k.node) >= 1), 15_000, "routing tables");
    const [a, , c] = keepers.map((k, i) => withDiscovery(k, defaultInit(i)));
    const first = await a.publish();
    const second = await a.publish();
    assert.ok(second.seq > first.seq);
    const seen = await c.fetchRecord(keepers[0].node.peerId);
    assert.equal(seen.seq, second.seq);
  });

  it("tasks and objects are discoverable through provider records", async () => {
    for (let i = 0; i < 3; i++) keepers.push(await startNode());
    const { multiaddr } = await import("@multiformats/multiaddr");
    for (const k of keepers.slice(1)) await k.node.dial(multiaddr(keepers[0].node.getMultiaddrs()[0].toString()));
    await waitFor(() => keepers.every((k) => routingTableSize(k.node) >= 1), 15_000, "routing tables");
    const [a, , c] = keepers.map((k, i) => withDiscovery(k, defaultInit(i)));
    await a.provide("task", "task-42");
    // A provider record reaches the peers closest to the key asynchronously: ask until it is found (a DHT
    // lookup on a loaded machine may run before the record landed), then check it is exactly the provider.
    let providers: string[] = [];
    await waitFor(
      async () => (providers = await c.findProviders("task", "task-42")).length > 0,
      10_000,
      "the provider record",
    );
    assert.deepEqual(providers, [keepers[0].node.peerId.toString()]);
    assert.deepEqual(await c.findProviders("object", "task-42", { signal: AbortSignal.timeout(3000) }), []);
  });
});
