/**
 * The routing feed under bond gating: a peer whose reward account is not bonded in NodeRegistry (a real registry on
 * a Hardhat node, read through the keeper's BondView) is never chosen; bonding makes it routable at the next
 * refresh once the cached answer is stale, unbonding takes it out again. Bonds are read by the feed's refresh;
 * `select` never touches the chain.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import { BondView } from "../../../keeper/chain/bonds.ts";
import type { PeerRecordData } from "../../../keeper/discovery/record.ts";
import { createLogger } from "../../../keeper/logger.ts";
import { RoutingFeed } from "../../../keeper/routing/feed.ts";
import { routing } from "../../../keeper/routing/table.ts";
import {
  LumoraToken__factory,
  NodeRegistry__factory,
  type NodeRegistry,
} from "../../../types/ethers-contracts/index.ts";
import { devWallet, rpcProvider, startHardhatNode, type HardhatNode } from "../chain/helpers.ts";

const logger = createLogger("test", { level: "silent" });
const MIN_BOND = 1000n;
const TTL_MS = 60_000;

function record(peerId: string, rewardAddress: string): PeerRecordData {
  return {
    ...{ peerId, seq: 1n, issuedAtMs: Date.now(), expiresAtMs: Date.now() + 3_600_000 },
    ...{ capabilities: ["executor", "provider"], bandwidthBps: 1_000_000, capacity: 10, load: 0, shard: 0 },
    ...{ rewardAddress: rewardAddress.toLowerCase(), addrs: [] },
  };
}

describe("routing/feed: bond gating", { timeout: 120_000 }, () => {
  let node: HardhatNode;
  let registry: NodeRegistry;
  let provider: ReturnType<typeof rpcProvider>;
  // Reward accounts: dev wallets 1..3, so each can unbond itself.
  const [bondedOwner, unbondedOwner, underOwner] = [1, 2, 3].map((i) => devWallet(i));

  before(async () => {
    node = await startHardhatNode();
    provider = rpcProvider(node.url);
    const deployer = devWallet(0).connect(provider);
    const token = await new LumoraToken__factory(deployer).deploy(deployer.address, 10n ** 27n);
    registry = await new NodeRegistry__factory(deployer).deploy(
      deployer.address,
      await token.getAddress(),
      MIN_BOND,
      0,
    );
    await (await token.approve(await registry.getAddress(), 10n ** 27n)).wait();
    await (await registry.bondFor(bondedOwner!.address, MIN_BOND)).wait();
    // Bonded, then 1 unit requested out: its active bond is below the minimum, so it does not count.
    await (await registry.bondFor(underOwner!.address, MIN_BOND)).wait();
    await (await registry.connect(underOwner!.connect(provider)).requestUnbond(1n)).wait();
  });
  after(async () => {
    provider?.destroy();
    await node?.stop();
  });

  it("never chooses a peer whose reward account is not bonded, and follows bonds at each refresh", async () => {
    const table = routing({ shards: 1, backups: 2 })({ logger });
    let now = 1_000_000;
    const bonds = new BondView(registry, { ttlMs: TTL_MS, now: () => now });
    let reads = 0;
    const peers = [
      record("bonded", bondedOwner!.address),
      record("unbonded", unbondedOwner!.address),
      record("underbonded", underOwner!.address),
    ];
    const feed = new RoutingFeed({
      logger,
      self: "me",
      records: () => peers,
      health: { status: () => undefined, watch: () => undefined },
      proximity: { view: () => ({ latencyMs: 10, proximity: 1, samples: 1 }) },
      isFlagged: () => false,
      table,
      bonds: {
        refresh: (accounts, opts) => (reads++, bonds.refresh(accounts, opts)),
        isBonded: (a) => bonds.isBonded(a),
      },
    });

    assert.equal(await feed.refresh(), 1, "only the bonded peer is routable");
    assert.equal(reads, 1, "the refresh read the bonds");
    for (let i = 0; i < 20; i++) {
      const s = table.select({ taskId: `t${i}` });
      assert.equal(s?.primary.peerId, "bonded", `task t${i} goes to the bonded peer`);
      assert.deepEqual(s?.backups, [], `task t${i} has no unbonded backup`);
    }
    assert.equal(table.get("unbonded"), undefined);
    assert.equal(table.get("underbonded"), undefined);
    assert.equal(reads, 1, "selection never read the chain");

    // The unbonded account bonds and the bonded one requests its unbond: the next refresh after the cached answers
    // went stale routes to the first and no longer to the second.
    await (await registry.bondFor(unbondedOwner!.address, MIN_BOND)).wait();
    await (await registry.connect(bondedOwner!.connect(provider)).requestUnbond(MIN_BOND)).wait();
    now += TTL_MS;
    assert.equal(await feed.refresh(), 1);
    assert.ok(table.get("unbonded") !== undefined, "a newly bonded peer is routed to");
    assert.equal(table.get("bonded"), undefined, "a peer whose account unbonded is removed");
    assert.equal(table.select({ taskId: "after" })?.primary.peerId, "unbonded");
  });
});
