/**
 * Stable, unique leaf indices: RewardPool keys its claimed bitmap by (epoch, index), so two leaves of one epoch
 * with the same index would leave the second unclaimable. AccountIndex gives each account one index for good,
 * and the tree builder refuses a bundle that repeats an index.
 */
import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";

import { getAddress, Wallet } from "ethers";

import { AccountIndex } from "../../../../keeper/epochs/collect/accounts.ts";
import { rewardLeaves } from "../../../../keeper/epochs/build.ts";
import { migrateEpochs } from "../../../../keeper/epochs/collect/store.ts";
import { openStore, type Store } from "../../../../keeper/store/index.ts";
import { mulberry32, testSeed } from "../../../seed.ts";

const address = () => getAddress(Wallet.createRandom().address);

describe("AccountIndex", () => {
  let store: Store;
  let index: AccountIndex;

  beforeEach(() => {
    store = openStore(":memory:");
    migrateEpochs(store, 0);
    index = new AccountIndex(store);
  });
  afterEach(() => store.close());

  it("assigns 0..n-1 in ascending address order, keeps them, and gives newcomers the next ones", () => {
    const first = [address(), address(), address()];
    const assigned = index.assign(first, 1);
    const sorted = [...first].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1));
    assert.deepEqual(
      sorted.map((a) => assigned.get(a)),
      [0, 1, 2],
    );
    const newcomer = address();
    const again = index.assign([first[2], newcomer, first[0]], 2);
    assert.equal(again.get(first[2]), assigned.get(first[2]));
    assert.equal(again.get(first[0]), assigned.get(first[0]));
    assert.equal(again.get(newcomer), 3);
    assert.equal(index.size(), 4);
  });

  it("never gives two accounts the same index, over random epochs, repeats and address spellings", () => {
    const random = mulberry32(testSeed());
    const pool = Array.from({ length: 60 }, address);
    const seen = new Map<number, string>();
    for (let epoch = 1; epoch <= 40; epoch++) {
      const accounts = pool.filter(() => random() < 0.3);
      // The same account twice in one call, once lower-cased: still one index.
      if (accounts.length > 0) accounts.push(accounts[0].toLowerCase());
      const assigned = index.assign(accounts, epoch);
      for (const [account, i] of assigned) {
        const owner = seen.get(i);
        assert.ok(
          owner === undefined || owner === account,
          `epoch ${epoch}: index ${i} of ${owner} given to ${account}`,
        );
        seen.set(i, account);
      }
      assert.equal(new Set(assigned.values()).size, assigned.size, `epoch ${epoch}: indices unique in the epoch`);
    }
    assert.deepEqual(
      [...seen.keys()].sort((a, b) => a - b),
      Array.from({ length: seen.size }, (_, i) => i),
      "indices are dense",
    );
  });
});

describe("rewardLeaves", () => {
  it("refuses a bundle whose contributions repeat a leaf index", () => {
    const [a, b] = [address(), address()];
    const bundle = {
      epoch: 7,
      contributions: [
        { account: a, index: 0, contribution: 3n },
        { account: b, index: 0, contribution: 5n },
      ],
    };
    assert.throws(
      () => rewardLeaves(bundle as unknown as Parameters<typeof rewardLeaves>[0]),
      /epoch 7: leaf index 0 is given to both/,
    );
  });
});
