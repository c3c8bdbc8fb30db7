import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";

import { BanList, createLumoraNode, InvalidAddressRangeError, type LumoraNode } from "../../../keeper/p2p/index.ts";
import { collectingLogger, startNode, waitFor, type TestKeeper } from "../helpers.ts";

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

  it("keeps the ban list bounded, expires bans, counts them and logs each ban once, rate-limited", (t) => {
    t.mock.timers.enable({ apis: ["Date"] });
    const { log, lines } = collectingLogger();
    const bans = new BanList({ log, maxEntries: 100, durationMs: 60_000 });
    // 27 000 fresh identities banned (the outside tester's figure): the list stays at its cap.
    for (let i = 0; i < 27_000; i++) bans.ban(`peer-${i}`, "malformed frame");
    assert.deepEqual(bans.stats(), { total: 27_000, active: 100, evicted: 26_900 });
    assert.ok(bans.isBanned("peer-26999"), "the newest bans are kept");
    assert.ok(!bans.isBanned("peer-0"), "the oldest are forgotten first");
    // A peer banned again while banned is neither counted nor logged again.
    bans.ban("peer-26999", "again");
    assert.equal(bans.stats().total, 27_000);
    const banLines = lines.filter((l) => l.msg === "peer banned");
    assert.ok(banLines.length >= 1 && banLines.length <= 5, `ban lines rate-limited (${banLines.length})`);
    // Bans expire: after their duration the list empties on its own.
    t.mock.timers.tick(60_001);
    assert.equal(bans.stats().active, 0);
    assert.ok(!bans.isBanned("peer-26999"));
  });
});
