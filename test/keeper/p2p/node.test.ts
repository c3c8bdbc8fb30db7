import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";

import {
  CONNECTION_MONITOR_INTERVAL_MS,
  DHT_QUERY_SELF_INTERVAL_MS,
  DHT_TABLE_REFRESH_INTERVAL_MS,
} from "../../../keeper/p2p/constants.ts";
import { createLumoraNode, DHT_PROTOCOL, type LumoraNode } from "../../../keeper/p2p/node.ts";

describe("p2p node", () => {
  const nodes: LumoraNode[] = [];
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map((n) => n.stop()));
  });

  it("listens on loopback, speaks the private DHT protocol and answers pings", async () => {
    const a = await createLumoraNode();
    const b = await createLumoraNode();
    nodes.push(a, b);
    const addr = a.getMultiaddrs()[0];
    assert.ok(addr.toString().startsWith("/ip4/127.0.0.1/tcp/"), addr.toString());
    const rtt = await b.services.ping.ping(addr);
    assert.ok(rtt >= 0 && rtt < 5000, `rtt ${rtt}`);
    assert.ok(a.getProtocols().includes(DHT_PROTOCOL), a.getProtocols().join(","));
    assert.ok(!a.getProtocols().includes("/ipfs/kad/1.0.0"), "must not speak the public IPFS DHT");
  });

  it("leaves liveness to SWIM: libp2p's connection monitor pings each connection every 5 min, not every 10 s", async () => {
    const a = await createLumoraNode();
    nodes.push(a);
    // libp2p keeps its components (the monitor among them) on the node object; not on the public type.
    const monitor = (a as unknown as { components: { connectionMonitor?: { pingIntervalMs?: number } } }).components
      .connectionMonitor;
    assert.equal(monitor?.pingIntervalMs, CONNECTION_MONITOR_INTERVAL_MS);
    assert.ok(CONNECTION_MONITOR_INTERVAL_MS >= 60_000);
  });

  it("refreshes the DHT routing table and walks to itself every 30 min, not kad-dht's 5 min", async () => {
    const a = await createLumoraNode();
    nodes.push(a);
    const dht = a.services.dht as unknown as {
      routingTableRefresh: { refreshInterval: number };
      querySelf: { interval: number };
    };
    assert.equal(dht.routingTableRefresh.refreshInterval, DHT_TABLE_REFRESH_INTERVAL_MS);
    assert.equal(dht.querySelf.interval, DHT_QUERY_SELF_INTERVAL_MS);
    assert.ok(DHT_TABLE_REFRESH_INTERVAL_MS >= 10 * 60_000 && DHT_QUERY_SELF_INTERVAL_MS >= 10 * 60_000);
  });

  it("schedules each routing-table refresh at the interval set (kad-dht reads the field it is set through)", async () => {
    const a = await createLumoraNode({ dhtTableRefreshIntervalMs: 100 });
    const b = await createLumoraNode();
    nodes.push(a, b);
    // With a peer the walks of a refresh end at once (alone, the first waits for its query timeout).
    await a.dial(b.getMultiaddrs()[0]!);
    const refresh = (a.services.dht as unknown as { routingTableRefresh: { refreshTable: () => unknown } })
      .routingTableRefresh;
    let runs = 0;
    const original = refresh.refreshTable;
    refresh.refreshTable = () => {
      runs++;
      return original();
    };
    // The refresh kad-dht ran at start, alone, waits for its query timeout before it schedules the next: run one now.
    original();
    const deadline = Date.now() + 10_000;
    while (runs < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.ok(runs >= 3, `${runs} refreshes in 10 s at a 100 ms interval`);
  });
});
