import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";

import type { Stream } from "@libp2p/interface";

import { hopCountFromEvents, proximity, RttEstimator, toNodeView } from "../../../keeper/proximity/index.ts";
import { routing } from "../../../keeper/routing/index.ts";
import { defaultInit, silent, startNode, type TestKeeper } from "../helpers.ts";

const PING_PROTOCOL = "/ipfs/ping/1.0.0";
// Large against scheduling noise: beside a CPU hog a loopback ping takes ~100+ ms of its own.
const DELAY_MS = 250;

/** Replaces a node's ping handler with one that echoes after `ms`: an artificially distant peer. */
async function delayPings(k: TestKeeper, ms: number): Promise<void> {
  await k.node.handle(
    PING_PROTOCOL,
    async (stream: Stream) => {
      for await (const chunk of stream) {
        await new Promise((r) => setTimeout(r, ms));
        if (!stream.send(chunk)) await stream.onDrain();
      }
      await stream.close();
    },
    { force: true, maxInboundStreams: 2 },
  );
}

describe("RTT estimator (RFC 6298)", () => {
  it("seeds SRTT with the first sample and RTTVAR with half of it, then applies α = 1/8, β = 1/4", () => {
    const e = new RttEstimator();
    e.add(100);
    assert.equal(e.srttMs, 100);
    assert.equal(e.rttvarMs, 50);
    e.add(200);
    assert.equal(e.rttvarMs, 0.75 * 50 + 0.25 * 100);
    assert.equal(e.srttMs, 0.875 * 100 + 0.125 * 200);
    assert.equal(e.rtoMs, e.srttMs + 4 * e.rttvarMs);
  });
});

describe("hop count", () => {
  it("is 1 for a peer queried from our table and h+1 for a peer referred by a peer at hop h", () => {
    const id = (s: string) => ({ toString: () => s }) as never;
    const path = { index: 0, queued: 0, running: 0, total: 0 };
    const events = [
      { name: "SEND_QUERY", to: id("B"), path },
      { name: "PEER_RESPONSE", from: id("B"), closer: [{ id: id("C"), multiaddrs: [] }], providers: [], path },
      { name: "SEND_QUERY", to: id("C"), path },
      { name: "PEER_RESPONSE", from: id("C"), closer: [{ id: id("D"), multiaddrs: [] }], providers: [], path },
      { name: "SEND_QUERY", to: id("D"), path },
      { name: "PEER_RESPONSE", from: id("D"), closer: [], providers: [], path },
    ] as never[];
    assert.equal(hopCountFromEvents("B", events), 1);
    assert.equal(hopCountFromEvents("C", events), 2);
    assert.equal(hopCountFromEvents("D", events), 3);
    assert.equal(hopCountFromEvents("E", events), undefined);
  });
});

describe("proximity on real nodes", () => {
  const keepers: TestKeeper[] = [];
  afterEach(async () => {
    await Promise.all(keepers.splice(0).map((k) => k.node.stop()));
  });

  it("pings a bounded number of peers per round, longest-unpinged first, and looks up few hop counts", async () => {
    for (let i = 0; i < 6; i++) keepers.push(await startNode());
    const [a, ...peers] = keepers;
    for (const p of peers) await a.node.dial(p.node.getMultiaddrs()[0]);
    const ids = peers.map((p) => p.node.peerId.toString());
    const prox = proximity({ probesPerRound: 2, hopLookupsPerRound: 1, rttRefreshMs: 0 })({
      node: a.node,
      logger: silent,
      peersToProbe: () => [...ids],
    });
    try {
      const samples = () => ids.map((id) => prox.view(id).samples);
      const hops = () => ids.filter((id) => prox.view(id).proximity !== undefined).length;
      await prox.probeAll();
      assert.equal(
        samples().reduce((x, y) => x + y, 0),
        2,
        `two pings in a round of 5 peers (${samples()})`,
      );
      assert.equal(hops(), 1, "one hop lookup per round");
      await prox.probeAll();
      await prox.probeAll();
      assert.deepEqual(
        [...samples()].sort(),
        [1, 1, 1, 1, 2],
        "three rounds of 2 reach all 5 peers before any twice but one",
      );
      assert.equal(hops(), 3, "one hop lookup per round, never-measured first");
    } finally {
      await prox.stop();
    }
  });

  it("pings only peers whose last RTT sample (a ping or a health probe) is older than rttRefreshMs", async () => {
    for (let i = 0; i < 4; i++) keepers.push(await startNode());
    const [a, ...peers] = keepers;
    for (const p of peers) await a.node.dial(p.node.getMultiaddrs()[0]);
    const ids = peers.map((p) => p.node.peerId.toString());
    const prox = proximity({ probesPerRound: 8, hopLookupsPerRound: 0, rttRefreshMs: 60_000 })({
      node: a.node,
      logger: silent,
      peersToProbe: () => [...ids],
    });
    try {
      const samples = () => ids.map((id) => prox.view(id).samples);
      // A health probe answered for ids[0] before the first round: it needs no ping.
      prox.observeRtt(ids[0]!, 3);
      assert.equal(prox.view(ids[0]!).latencyMs, 3);
      await prox.probeAll();
      assert.deepEqual(samples(), [1, 1, 1], "the observed peer is not pinged; the two others are");
      await prox.probeAll();
      assert.deepEqual(samples(), [1, 1, 1], "nobody is pinged again within rttRefreshMs");
      prox.observeRtt(ids[1]!, 2);
      assert.deepEqual(samples(), [1, 2, 1], "an observed sample feeds the estimator");
      prox.observeRtt(ids[1]!, Number.NaN);
      assert.equal(prox.view(ids[1]!).samples, 2, "a bad sample is ignored");
    } finally {
      await prox.stop();
    }
  });

  it("records observed samples only for keepers", async () => {
    for (let i = 0; i < 2; i++) keepers.push(await startNode());
    const [a, k] = keepers;
    const keeper = k!.node.peerId.toString();
    const prox = proximity()({ node: a!.node, logger: silent, isKeeper: (id) => id === keeper });
    try {
      prox.observeRtt("12D3KooWStrangerStrangerStrangerStrangerStrangerStra", 1);
      assert.equal(prox.measured, 0, "a stranger's sample is not kept");
      prox.observeRtt(keeper, 1);
      assert.equal(prox.measured, 1);
    } finally {
      await prox.stop();
    }
  });

  it("pings only connected keepers, so strangers cannot crowd them out, and forgets peers that left", async () => {
    for (let i = 0; i < 6; i++) keepers.push(await startNode());
    const [a, k1, k2, ...strangers] = keepers as [TestKeeper, ...TestKeeper[]];
    for (const p of [k1!, k2!, ...strangers]) await a.node.dial(p.node.getMultiaddrs()[0]!);
    const keeperIds = new Set([k1!, k2!].map((k) => k.node.peerId.toString()));
    // One ping a round: with strangers in the pool a keeper would wait its turn behind them.
    const prox = proximity({ probesPerRound: 1, hopLookupsPerRound: 0, rttRefreshMs: 0 })({
      node: a.node,
      logger: silent,
      isKeeper: (id) => keeperIds.has(id),
    });
    try {
      await prox.probeAll();
      await prox.probeAll();
      for (const id of keeperIds) assert.equal(prox.view(id).samples, 1, "each keeper measured in two rounds");
      for (const s of strangers)
        assert.equal(prox.view(s.node.peerId.toString()).samples, 0, "a stranger is never pinged");
      assert.equal(prox.measured, 2);
      await a.node.hangUp(k2!.node.peerId);
      await prox.probeAll();
      assert.equal(prox.view(k2!.node.peerId.toString()).samples, 0, "a keeper no longer connected is forgotten");
      assert.equal(prox.measured, 1);
    } finally {
      await prox.stop();
    }
  });

  it("counts a peer in our DHT routing table at hop 1 without a walk, and walks only for one outside it", async () => {
    for (let i = 0; i < 3; i++) keepers.push(await startNode());
    const [a, b, c] = keepers;
    // a knows b directly; c only through b (b's table holds c, a's does not).
    await b.node.dial(c.node.getMultiaddrs()[0]);
    await a.node.dial(b.node.getMultiaddrs()[0]);
    const dht = a.node.services.dht as unknown as {
      routingTable: { find(p: unknown): Promise<unknown>; size: number };
      getClosestPeers: (...args: unknown[]) => AsyncIterable<unknown>;
    };
    const deadline = Date.now() + 10_000;
    while ((await dht.routingTable.find(b.node.peerId)) === undefined && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    let walks = 0;
    const walk = dht.getClosestPeers.bind(dht);
    dht.getClosestPeers = (...args: unknown[]) => {
      walks++;
      return walk(...args);
    };
    const prox = proximity()({ node: a.node, logger: silent });
    try {
      assert.equal(await prox.measureHops(b.node.peerId), 1);
      assert.equal(walks, 0, "a peer in the routing table needs no lookup");
      assert.equal(await dht.routingTable.find(c.node.peerId), undefined, "c is not in a's table");
      const hops = await prox.measureHops(c.node.peerId);
      assert.equal(walks, 1, "a peer outside the table is looked up");
      assert.ok(Number.isInteger(hops) && hops >= 1, `hops ${hops}`);
    } finally {
      await prox.stop();
    }
  });

  it("measures a larger smoothed RTT for a peer that delays its answers, and hop counts ≥ 1", async () => {
    for (let i = 0; i < 3; i++) keepers.push(await startNode());
    const [a, near, far] = keepers;
    await delayPings(far, DELAY_MS);
    await a.node.dial(near.node.getMultiaddrs()[0]);
    await a.node.dial(far.node.getMultiaddrs()[0]);
    const prox = proximity()({ node: a.node, logger: silent });
    try {
      for (let i = 0; i < 5; i++) {
        await prox.measureRtt(near.node.peerId);
        await prox.measureRtt(far.node.peerId);
      }
      const n = prox.view(near.node.peerId.toString());
      const f = prox.view(far.node.peerId.toString());
      assert.ok(n.latencyMs !== undefined && f.latencyMs !== undefined);
      assert.ok(f.latencyMs >= DELAY_MS, `far SRTT ${f.latencyMs} ms must include the ${DELAY_MS} ms delay`);
      assert.ok(f.latencyMs - n.latencyMs >= DELAY_MS * 0.75, `near ${n.latencyMs} ms vs far ${f.latencyMs} ms`);
      assert.equal(f.samples, 5);

      const hops = await prox.measureHops(far.node.peerId);
      assert.ok(Number.isInteger(hops) && hops >= 1, `hops ${hops}`);
      const d = defaultInit(1);
      const record = {
        ...d,
        capabilities: [...d.capabilities],
        peerId: far.node.peerId.toString(),
        seq: 1n,
        issuedAtMs: 0,
        expiresAtMs: 1,
        load: 0,
        addrs: [],
      };
      const view = toNodeView(record, prox.view(far.node.peerId.toString()));
      assert.equal(view.latencyMs, f.latencyMs);
      assert.equal(view.proximity, hops);

      // Routing on these measurements: same advertised bandwidth and hop count, so the artificially delayed
      // peer must lose on the latency term; give the far peer more bandwidth and it wins back when α dominates.
      const nearView = toNodeView(
        { ...record, peerId: near.node.peerId.toString() },
        prox.view(near.node.peerId.toString()),
      );
      const table = routing({ shards: 1, backups: 1 })({ logger: silent });
      table.upsert({ ...nearView, proximity: 1 });
      table.upsert({ ...view, proximity: 1 });
      assert.equal(
        table.select({ taskId: "t-latency", capabilities: [], minBandwidth: 0 })?.primary.peerId,
        near.node.peerId.toString(),
      );
      const bandwidthFirst = routing({ shards: 1, backups: 1, alpha: 1, beta: 0, gamma: 0.01 })({ logger: silent });
      bandwidthFirst.upsert({ ...nearView, proximity: 1 });
      bandwidthFirst.upsert({ ...view, proximity: 1, bandwidth: view.bandwidth * 10 });
      assert.equal(
        bandwidthFirst.select({ taskId: "t-bandwidth", capabilities: [], minBandwidth: 0 })?.primary.peerId,
        far.node.peerId.toString(),
      );
    } finally {
      await prox.stop();
    }
  });
});
