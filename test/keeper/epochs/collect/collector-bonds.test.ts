/**
 * Closing epochs under the bond rule (collect/bonded.ts) with bonds read from a real NodeRegistry on a Hardhat node
 * through the keeper's BondView: an unbonded provider's receipts credit nothing and it is not reported, an account's
 * share is capped by its bond (stake saturation) with R_total committed accordingly, the published evidence
 * carries the frozen bonds, and a finalize re-run after a crash uses the bonds frozen with the epoch — not the
 * registry's later state.
 */
import assert from "node:assert/strict";
import { after, afterEach, before, beforeEach, describe, it } from "node:test";

import { BondView } from "../../../../keeper/chain/bonds.ts";
import { EpochCollector } from "../../../../keeper/epochs/collect/collector.ts";
import { SHARE_SCALE } from "../../../../keeper/epochs/collect/constants.ts";
import {
  LumoraToken__factory,
  NodeRegistry__factory,
  type NodeRegistry,
} from "../../../../types/ethers-contracts/index.ts";
import { devWallet, rpcProvider, startHardhatNode, type HardhatNode } from "../../chain/helpers.ts";
import { silent } from "../../helpers.ts";
import { peer, world, type EpochWorld, type Peer } from "../fixtures.ts";

const MIN_BOND = 1000n;
const S = SHARE_SCALE;

describe("epochs/collect: bond rule", { timeout: 180_000 }, () => {
  let node: HardhatNode;
  let registry: NodeRegistry;
  let provider: ReturnType<typeof rpcProvider>;
  let w: EpochWorld;
  let consumer: Peer;
  let a: Peer;
  let b: Peer;
  let c: Peer;
  let n = 0;

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
  });
  after(async () => {
    provider?.destroy();
    await node?.stop();
  });

  const bondsOf = () => {
    const view = new BondView(registry);
    return (accounts: string[], opts: { signal?: AbortSignal }) => view.read(accounts, opts);
  };

  beforeEach(async () => {
    // Fresh accounts per test (the registry is shared): addresses 0x…<test><peer>.
    n += 1;
    [consumer, a, b, c] = await Promise.all([0xc0, 0xa1, 0xb2, 0x03].map((x) => peer(n * 0x1000 + x)));
    w = world({}, { bondsOf: bondsOf() });
    for (const p of [consumer, a, b, c]) w.addresses.set(p.id, p.address);
  });
  afterEach(() => w.close());

  const bond = async (p: Peer, amount: bigint) => (await registry.bondFor(p.address, amount)).wait();

  it("credits and reports only bonded accounts: an unbonded provider's receipts earn nothing", async () => {
    await bond(a, MIN_BOND);
    await w.receipt(consumer, a, 1_000, 1_100);
    await w.receipt(consumer, b, 50_000, 1_200); // b never bonded
    await w.receipt(consumer, c, 50_000, 1_300); // nor c
    w.counters.record(1, a.id, true);
    w.counters.record(1, b.id, true);
    w.counters.record(1, c.id, false);

    const bundle = await w.collector.close({ endMs: 2_000 });
    assert.deepEqual(
      bundle.contributions.map((e) => [e.account, e.contribution]),
      [[a.address, S]],
      "only a is credited: its whole share (its bond is all the bonds)",
    );
    assert.equal(bundle.rewardTotal, 1_000n, "R_total: a's share is uncapped");
    assert.deepEqual(
      bundle.reputation.map((r) => r.node),
      [a.address],
      "unbonded b and c are not reported",
    );
    assert.equal(
      w.collector.heldReceipts(),
      0,
      "nothing held: b's and c's receipts were counted as evidence, for nothing",
    );
  });

  it("caps an account's share by its bond (stake saturation) and commits R_total for what is paid", async () => {
    await bond(a, MIN_BOND);
    await bond(b, 3n * MIN_BOND);
    // Two consumers: what a's cap cuts from its consumer's pot has no other provider there to go to.
    await w.receipt(consumer, a, 3_000, 1_100); // s_a = 3/4, β_a = 1/4 → capped at 1/4
    await w.receipt(c, b, 1_000, 1_200); // s_b = 1/4, β_b = 3/4 → 1/4

    const bundle = await w.collector.close({ endMs: 2_000 });
    const byAccount = new Map(bundle.contributions.map((e) => [e.account, e.contribution]));
    assert.equal(byAccount.get(a.address), S / 4n, "a: capped at its bond share");
    assert.equal(byAccount.get(b.address), S / 4n, "b: its contribution share");
    assert.equal(bundle.rewardTotal, 500n, "R' = R · ΣC' / S: what the cap cut stays in the pool");

    // The published evidence carries the frozen bonds (its recomputation: test/keeper/epochs/proofs/evidence.test.ts).
    const evidence = w.collector.evidence(bundle.epoch);
    assert.deepEqual(
      evidence.bonds?.accounts.map((x) => [x.account, x.bond]),
      [
        [a.address, MIN_BOND],
        [b.address, 3n * MIN_BOND],
      ].sort((x, y) => ((x[0] as string).toLowerCase() < (y[0] as string).toLowerCase() ? -1 : 1)),
    );
    assert.equal(evidence.bonds?.rewardOffered, 1_000n);
  });

  it("hands what a capped provider's cap cuts to the same consumer's other providers, up to their caps", async () => {
    await bond(a, MIN_BOND);
    await bond(b, 3n * MIN_BOND);
    await w.receipt(consumer, a, 3_000, 1_100); // s_a = 3/4, β_a = 1/4 → capped at 1/4
    await w.receipt(consumer, b, 1_000, 1_200); // s_b = 1/4 + the 1/2 a could not take, within β_b = 3/4

    const bundle = await w.collector.close({ endMs: 2_000 });
    const byAccount = new Map(bundle.contributions.map((e) => [e.account, e.contribution]));
    assert.equal(byAccount.get(a.address), S / 4n, "a: capped at its bond share");
    assert.equal(byAccount.get(b.address), (3n * S) / 4n, "b: its share and a's excess, at its cap");
    assert.equal(bundle.rewardTotal, 1000n, "the consumer's whole payment is paid out");
  });

  it("finalizes a frozen epoch after a crash with the bonds frozen, whatever the registry says by then", async () => {
    await bond(a, MIN_BOND);
    await bond(b, 3n * MIN_BOND);
    await w.receipt(consumer, a, 3_000, 1_100);
    await w.receipt(c, b, 1_000, 1_200);
    // The close's first step, as the keeper runs it; then the process dies before finalizing.
    const read = await bondsOf()(w.collector.accountsToFreeze(2_000), {});
    const epoch = w.collector.freeze(2_000, 0, read);
    // Meanwhile a bonds far more: read now, it would be uncapped.
    await bond(a, 100n * MIN_BOND);

    const restarted = new EpochCollector(
      { store: w.store, logger: silent, addressOf: (id) => w.addresses.get(id), bondsOf: bondsOf() },
      { rewardPerEpoch: 1000n, genesisMs: 1_000 },
    );
    assert.deepEqual(restarted.unfinalizedEpochs(), [epoch]);
    const bundle = await restarted.finalize(epoch);
    const byAccount = new Map(bundle.contributions.map((e) => [e.account, e.contribution]));
    assert.equal(byAccount.get(a.address), S / 4n, "a capped by the bond frozen at the close");
    assert.equal(bundle.rewardTotal, 500n);
  });

  it("holds a receipt whose provider's bond was not read before the freeze, and credits it in the next epoch", async () => {
    await bond(a, MIN_BOND);
    await bond(c, MIN_BOND);
    await w.receipt(consumer, a, 1_000, 1_100);
    const read = await bondsOf()(w.collector.accountsToFreeze(2_000), {});
    await w.receipt(consumer, c, 1_000, 1_500); // stored between the read and the freeze
    const first = await w.collector.finalize(w.collector.freeze(2_000, 0, read));
    assert.deepEqual(
      first.contributions.map((e) => e.account),
      [a.address],
    );
    assert.equal(w.collector.heldReceipts(), 1, "c's receipt waits, not lost");

    const second = await w.collector.close({ endMs: 3_000 });
    assert.deepEqual(
      second.contributions.map((e) => e.account),
      [c.address],
      "c is credited once its bond was read",
    );
  });
});
