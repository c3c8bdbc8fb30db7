import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";

import { CONNECTION_MONITOR_INTERVAL_MS } from "../../../keeper/p2p/constants.ts";
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
});
