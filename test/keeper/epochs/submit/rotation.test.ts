import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";

import { Chain } from "../../../../keeper/chain/index.ts";
import { eligibleKeepers, submitterOrder, turnStartsAt } from "../../../../keeper/epochs/submit/rotation.ts";
import { EpochSubmitter, type EpochAlarmDetail } from "../../../../keeper/epochs/submit/submitter.ts";
import { EpochTurns } from "../../../../keeper/epochs/submit/turns.ts";
import { openStore, type Store } from "../../../../keeper/store/index.ts";
import { deployLumora, devWallet, makeBuiltEpoch, startHardhatNode, type HardhatNode } from "../../chain/helpers.ts";
import { silent } from "../../helpers.ts";

const KEEPERS = [devWallet(5), devWallet(6), devWallet(7)];
const NO_ROLE = devWallet(8).address;
// Each keeper's turn to submit. It must hold the designated keeper's whole submission (build, sign, send three
// contracts' transactions): at load 11 on a 2-core machine 1.5 s did not, and a backup took over beside it.
const DEADLINE_MS = 5000;
const SHAPE = { tasks: 6, contributors: 5, reports: 4 };

interface Keeper {
  address: string;
  chain: Chain;
  store: Store;
  submitter: EpochSubmitter;
  turns: EpochTurns;
  alarms: EpochAlarmDetail[];
}

describe("submitter rotation among keepers", () => {
  let node: HardhatNode;
  let dir: string;
  let keepers: Keeper[] = [];

  before(async () => {
    node = await startHardhatNode();
    dir = await mkdtemp(path.join(tmpdir(), "lumora-rotation-"));
    const { record } = await deployLumora(node.url, { keepers: KEEPERS.map((k) => k.address), fund: 10n ** 24n });
    keepers = await Promise.all(
      KEEPERS.map(async (w, i) => {
        const chain = new Chain(
          { logger: silent },
          { rpcUrl: node.url, deployment: record, privateKey: w.privateKey, receiptPollMs: 50 },
        );
        await chain.start();
        const store = openStore(path.join(dir, `k${i}.db`));
        const submitter = new EpochSubmitter({ chain, store, logger: silent });
        const alarms: EpochAlarmDetail[] = [];
        submitter.addEventListener("alarm", (e) => alarms.push((e as CustomEvent<EpochAlarmDetail>).detail));
        const turns = new EpochTurns(
          { chain, submitter, logger: silent },
          {
            keepers: [...KEEPERS.map((k) => k.address), NO_ROLE],
            takeoverDeadlineMs: DEADLINE_MS,
            pollMs: 100,
            retryMs: 200,
          },
        );
        return { address: w.address, chain, store, submitter, turns, alarms };
      }),
    );
  });
  after(async () => {
    for (const k of keepers) {
      await k.turns.stop();
      await k.submitter.stop();
      await k.chain.stop();
      k.store.close();
    }
    await node.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const byAddress = (a: string) => keepers.find((k) => k.address === a)!;

  it("orders submitters by epoch among the keepers holding KEEPER_ROLE", async () => {
    const eligible = await eligibleKeepers(keepers[0]!.chain, [...KEEPERS.map((k) => k.address), NO_ROLE]);
    assert.equal(eligible.length, 3, "the address without the role is not eligible");
    const order1 = submitterOrder(1, eligible);
    const order2 = submitterOrder(2, eligible);
    assert.notEqual(order1[0], order2[0], "the designated submitter rotates");
    assert.equal(turnStartsAt(1, order1[2]!, eligible, 1000, DEADLINE_MS), 1000 + 2 * DEADLINE_MS);
  });

  it("the designated keeper submits, the others verify; nothing is submitted twice", async () => {
    const built = makeBuiltEpoch(1, SHAPE);
    const closedAtMs = Date.now();
    const outcomes = await Promise.all(keepers.map((k) => k.turns.handle(built, { closedAtMs })));
    const submitted = outcomes.filter((o) => o.role === "submitted");
    assert.equal(submitted.length, 1, "one keeper submitted");
    const eligible = await eligibleKeepers(
      keepers[0]!.chain,
      KEEPERS.map((k) => k.address),
    );
    const designated = submitterOrder(1, eligible)[0]!;
    const idx = outcomes.findIndex((o) => o.role === "submitted");
    assert.equal(keepers[idx]!.address, designated);
    assert.equal(submitted[0]!.takeover, false);
    for (const o of outcomes) {
      assert.equal(o.verify.taskLog, "match", "TaskLog root matches");
      assert.equal(o.verify.rewardPool, "match", "RewardPool root matches");
      assert.equal(o.verify.reputationMissing, 0, "every node reported");
    }
    const { taskLog, rewardPool } = keepers[0]!.chain.contracts;
    assert.equal((await taskLog.queryFilter(taskLog.filters.EpochCommitted(1))).length, 1);
    assert.equal((await rewardPool.queryFilter(rewardPool.filters.EpochCommitted(1))).length, 1);
  });

  it("a backup takes over after the deadline when the designated keeper is silent", async () => {
    const built = makeBuiltEpoch(2, SHAPE);
    const eligible = await eligibleKeepers(
      keepers[0]!.chain,
      KEEPERS.map((k) => k.address),
    );
    const [designated, backup, third] = submitterOrder(2, eligible) as [string, string, string];
    const closedAtMs = Date.now();
    // The designated keeper is down: only the two others run.
    const [b, t] = await Promise.all([
      byAddress(backup).turns.handle(built, { closedAtMs }),
      byAddress(third).turns.handle(built, { closedAtMs }),
    ]);
    assert.equal(b.role, "submitted");
    assert.equal(b.takeover, true);
    assert.ok(Date.now() - closedAtMs >= DEADLINE_MS, "the takeover waited for the deadline");
    assert.equal(t.role, "verified");
    assert.ok(designated);
    const { taskLog, rewardPool } = keepers[0]!.chain.contracts;
    assert.equal((await taskLog.queryFilter(taskLog.filters.EpochCommitted(2))).length, 1);
    assert.equal((await rewardPool.queryFilter(rewardPool.filters.EpochCommitted(2))).length, 1);
    // The designated keeper comes back: it finds the epoch on chain and only verifies.
    const late = await byAddress(designated).turns.handle(built, { closedAtMs });
    assert.equal(late.role, "verified");
  });

  it("a keeper whose own records differ raises the alarm on the mismatching roots", async () => {
    const k = keepers[2]!;
    const ours = makeBuiltEpoch(2, { ...SHAPE, tasks: SHAPE.tasks + 1, contributors: SHAPE.contributors + 1 });
    const result = await k.submitter.verify(ours);
    assert.equal(result.taskLog, "mismatch");
    assert.equal(result.rewardPool, "mismatch");
    assert.deepEqual(
      k.alarms.map((a) => [a.epoch, a.contract]),
      [
        [2, "TaskLog"],
        [2, "RewardPool"],
      ],
    );
  });
});
