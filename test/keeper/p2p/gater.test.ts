import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";

import { BanList, createLumoraNode, InvalidAddressRangeError, type LumoraNode } from "../../../keeper/p2p/index.ts";
import { startNode, waitFor, type TestKeeper } from "../helpers.ts";

describe("connection gater", () => {
  const keepers: TestKeeper[] = [];
  const nodes: LumoraNode[] = [];
  afterEach(async () => {
    await Promise.all([...keepers.splice(0).map((k) => k.node), ...nodes.splice(0)].map((n) => n.stop()));
  });

  it("hangs up on a banned peer and refuses its connections both ways until unbanned", async () => {
    for (let i = 0; i < 2; i++) keepers.push(await startNode());
    const [a, b] = keepers;
    await b.node.dial(a.node.getMultiaddrs()[0]);
    a.bans.ban(b.node.peerId, "test violation");
    await waitFor(() => a.node.getConnections(b.node.peerId).length === 0, 15_000, "hang-up");
    await assert.rejects(b.node.services.ping.ping(a.node.getMultiaddrs()[0], { signal: AbortSignal.timeout(3000) }));
    await assert.rejects(a.node.dial(b.node.getMultiaddrs()[0]));
    a.bans.unban(b.node.peerId);
    assert.ok((await b.node.services.ping.ping(a.node.getMultiaddrs()[0])) >= 0);
  });

  it("refuses dials to denied address ranges and rejects bad CIDR config", async () => {
    const a = await createLumoraNode({ addressPolicy: { deny: ["127.0.0.0/8"] }, bans: new BanList() });
    const b = await createLumoraNode();
    nodes.push(a, b);
    await assert.rejects(a.dial(b.getMultiaddrs()[0]));
    await assert.rejects(createLumoraNode({ addressPolicy: { allow: ["not-a-range"] } }), InvalidAddressRangeError);
  });
});
