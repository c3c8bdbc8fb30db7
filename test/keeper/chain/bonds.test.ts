/**
 * BondView against NodeRegistry on a real Hardhat node: batched reads, the TTL, fail-closed answers and the minimum
 * bond.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import { getAddress, keccak256, toBeHex } from "ethers";

import { BondView } from "../../../keeper/chain/bonds.ts";
import {
  LumoraToken__factory,
  NodeRegistry__factory,
  type NodeRegistry,
} from "../../../types/ethers-contracts/index.ts";
import { devWallet, rpcProvider, startHardhatNode, type HardhatNode } from "./helpers.ts";

const MIN_BOND = 1000n;
const account = (i: number) => getAddress("0x" + keccak256(toBeHex(i + 1, 32)).slice(26));

describe("chain/bonds: BondView", { timeout: 120_000 }, () => {
  let node: HardhatNode;
  let registry: NodeRegistry;
  let provider: ReturnType<typeof rpcProvider>;
  let reads = 0;

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
    await (await registry.bondFor(account(0), MIN_BOND)).wait();
    await (await registry.bondFor(account(1), 5n * MIN_BOND)).wait();
  });
  after(async () => {
    provider?.destroy();
    await node?.stop();
  });

  /** The registry, counting its bondsOf calls. */
  const reader = () => ({
    bondsOf: (accounts: string[]) => {
      reads += 1;
      return registry.bondsOf(accounts);
    },
    minBond: () => registry.minBond(),
  });

  it("reads bonds in batches and answers from the cache until the TTL passes", async () => {
    let now = 1_000;
    const view = new BondView(reader(), { ttlMs: 100, batch: 2, now: () => now });
    reads = 0;
    await view.refresh([account(0), account(1), account(2), account(0)]);
    assert.equal(reads, 2, "3 distinct accounts in batches of 2");
    assert.equal(view.bondOf(account(1)), 5n * MIN_BOND);
    assert.equal(view.isBonded(account(0)), true);
    assert.equal(view.isBonded(account(2)), false, "no bond");
    await view.refresh([account(0), account(1)]);
    assert.equal(reads, 2, "fresh answers are not read again");
    now += 100;
    assert.equal(view.bondOf(account(0)), undefined, "stale after the TTL");
    assert.equal(view.isBonded(account(0)), false, "a stale answer fails closed");
    await view.refresh([account(0)]);
    assert.equal(reads, 3);
    assert.equal(view.isBonded(account(0)), true);
  });

  it("fails closed for accounts it never read", () => {
    const view = new BondView(reader());
    assert.equal(view.bondOf(account(0)), undefined);
    assert.equal(view.isBonded(account(0)), false);
  });

  it("sees an unbond request at the next read (the bond stops counting at once on chain)", async () => {
    const view = new BondView(reader());
    await view.refresh([account(3)]);
    assert.equal(view.isBonded(account(3)), false);
    const operator = devWallet(1).connect(provider);
    const deployer = devWallet(0).connect(provider);
    const token = LumoraToken__factory.connect(await registry.token(), deployer);
    await (await token.transfer(operator.address, MIN_BOND)).wait();
    await (await token.connect(operator).approve(await registry.getAddress(), MIN_BOND)).wait();
    await (await registry.connect(operator).bond(MIN_BOND)).wait();
    await view.refresh([operator.address], { force: true });
    assert.equal(view.isBonded(operator.address), true);
    await (await registry.connect(operator).requestUnbond(1n)).wait();
    await view.refresh([operator.address], { force: true });
    assert.equal(view.bondOf(operator.address), MIN_BOND - 1n);
    assert.equal(view.isBonded(operator.address), false, "below the minimum after the request");
  });

  it("stops before reading when aborted, and refuses a bad TTL or batch", async () => {
    const view = new BondView(reader());
    await assert.rejects(view.refresh([account(0)], { signal: AbortSignal.abort() }), { name: "AbortError" });
    assert.throws(() => new BondView(reader(), { ttlMs: 0 }), RangeError);
    assert.throws(() => new BondView(reader(), { batch: 0 }), RangeError);
  });
});
