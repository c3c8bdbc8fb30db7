/** Bootstrap maintenance on real loopback nodes: it re-walks a small table, and backs off when walks find nothing. */
import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";

import { bootstrap, routingTableSize, type Bootstrapper } from "../../../keeper/p2p/index.ts";
import { silent, startNode, waitFor, type TestKeeper } from "../helpers.ts";

describe("bootstrap maintenance", { timeout: 60_000 }, () => {
  const keepers: TestKeeper[] = [];
  const services: Bootstrapper[] = [];
  afterEach(async () => {
    await Promise.all(services.splice(0).map((s) => s.stop()));
    await Promise.all(keepers.splice(0).map((k) => k.node.stop()));
  });

  it("backs off when a network smaller than the minimum table is complete: few walks, not one per tick", async () => {
    for (let i = 0; i < 3; i++) keepers.push(await startNode());
    const [a, b, c] = keepers as [TestKeeper, TestKeeper, TestKeeper];
    const addr = (k: TestKeeper) => `${k.node.getMultiaddrs()[0]!.toString()}`;
    await c.node.dial(b.node.getMultiaddrs()[0]!);
    const TICK = 50;
    const boot = bootstrap({ peers: [addr(b)], intervalMs: TICK, minRoutingTableSize: 20 })({
      node: a.node,
      logger: silent,
    });
    services.push(boot);
    await boot.start();
    await waitFor(() => routingTableSize(a.node) >= 2, 20_000, "a to find both peers");
    // 60 ticks: with a backoff doubling after each walk that found nothing (1, 2, 4, 8, 16 … ticks skipped),
    // about log2(60) re-bootstraps; without it, nearly one per tick (a loopback walk takes a few ms).
    const before = boot.rebootstraps;
    const ticks = boot.ticks;
    await waitFor(() => boot.ticks - ticks >= 60, 60 * TICK + 20_000, "60 maintenance ticks");
    const walks = boot.rebootstraps - before;
    assert.ok(walks >= 1, "it still re-bootstraps a small table now and then");
    assert.ok(walks <= 8, `${walks} re-bootstraps in 60 ticks of a complete 3-node network`);
  });
});
