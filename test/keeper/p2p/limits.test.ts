/**
 * The connection table under idle floods from fresh identities (issue 13, point 2): strangers cannot take the
 * slots reserved for keepers, idle strangers are reaped, one IP holds at most its cap. The strangers are bare
 * libp2p nodes (test/fuzz/raw-peer.ts), one fresh identity each.
 */
import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";

import { multiaddr } from "@multiformats/multiaddr";

import { connectionLimits, createLumoraNode, type LumoraNode } from "../../../keeper/p2p/index.ts";
import { dialInWaves, rawPeer, stopAll, type RawPeer } from "../../fuzz/raw-peer.ts";
import { waitFor } from "../helpers.ts";

async function flood(peers: RawPeer[], target: string): Promise<number> {
  const results = await Promise.allSettled(
    peers.map((p) => p.dial(multiaddr(target), { signal: AbortSignal.timeout(10_000) })),
  );
  return results.filter((r) => r.status === "fulfilled").length;
}

describe("connection limits", () => {
  const nodes: LumoraNode[] = [];
  const strangers: RawPeer[] = [];
  afterEach(async () => {
    await stopAll(strangers.splice(0));
    await Promise.all(nodes.splice(0).map((n) => n.stop()));
  });

  async function keeperNode(limits: Parameters<typeof createLumoraNode>[0], keepers = new Set<string>()) {
    const node = await createLumoraNode({
      inboundConnectionsPerHostPerSecond: 10_000,
      isKeeper: (id) => keepers.has(id),
      ...limits,
    });
    nodes.push(node);
    return { node, addr: node.getMultiaddrs()[0]!.toString(), limits: connectionLimits(node)! };
  }

  it("keeps slots for keepers when strangers fill the table", async () => {
    const keepers = new Set<string>();
    const k = await keeperNode(
      { limits: { maxConnections: 24, reservedForKeepers: 8, idleTimeoutMs: 600_000 } },
      keepers,
    );
    for (let i = 0; i < 30; i++) strangers.push(await rawPeer());
    const errors = await dialInWaves(strangers, k.addr, () => k.limits.stats.refusedReserved > 0);
    await waitFor(
      () => k.limits.stats.refusedReserved > 0,
      10_000,
      () => `strangers refused at the reserve (dial errors ${JSON.stringify([...errors])})`,
    );
    await waitFor(() => k.node.getConnections().length <= 16, 5_000, "strangers over their share closed");
    assert.ok(
      k.node.getConnections().length <= 16,
      `strangers hold at most 24 − 8 (${k.node.getConnections().length})`,
    );
    // A keeper (a peer with a signed record) still gets in.
    const keeper = await rawPeer();
    strangers.push(keeper);
    keepers.add(keeper.peerId.toString());
    await keeper.dial(multiaddr(k.addr), { signal: AbortSignal.timeout(10_000) });
    await waitFor(() => k.node.getConnections(keeper.peerId).length > 0, 5_000, "the keeper connected");
    // And a new stranger does not.
    const late = await rawPeer();
    strangers.push(late);
    const refused = k.limits.stats.refusedReserved;
    // The dialer may finish its side of the upgrade before the keeper refuses: judge from the keeper's side.
    await late.dial(multiaddr(k.addr), { signal: AbortSignal.timeout(10_000) }).catch(() => {});
    await waitFor(
      () => k.limits.stats.refusedReserved > refused && k.node.getConnections(late.peerId).length === 0,
      5_000,
      "the late stranger refused",
    );
  });

  it("reaps idle strangers, so newcomers get in again", async () => {
    const k = await keeperNode({ limits: { maxConnections: 20, reservedForKeepers: 4, idleTimeoutMs: 500 } });
    for (let i = 0; i < 16; i++) strangers.push(await rawPeer({ identify: false }));
    assert.equal(await flood(strangers, k.addr), 16);
    await waitFor(() => k.limits.stats.reaped >= 6, 10_000, "idle strangers reaped");
    await waitFor(() => k.node.getConnections().length <= 10, 10_000, "the table back to at most half full");
    const newcomer = await rawPeer();
    strangers.push(newcomer);
    await newcomer.dial(multiaddr(k.addr), { signal: AbortSignal.timeout(10_000) });
  });

  it("caps connections per IP", async () => {
    const k = await keeperNode({ limits: { maxConnectionsPerIp: 4, exemptLoopback: false } });
    for (let i = 0; i < 8; i++) strangers.push(await rawPeer({ identify: false }));
    for (const s of strangers) await s.dial(multiaddr(k.addr), { signal: AbortSignal.timeout(5_000) }).catch(() => {});
    assert.equal(k.node.getConnections().length, 4);
    assert.equal(k.limits.stats.refusedPerIp, 4);
  });
});
