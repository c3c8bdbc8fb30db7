import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";

import { EpochScheduleError } from "../../../keeper/epochs/epoch-errors.ts";
import { EpochSchedule } from "../../../keeper/epochs/schedule.ts";
import type { BuiltEpoch } from "../../../keeper/epochs/types.ts";
import { silent, waitFor } from "../helpers.ts";
import { peer, world, type EpochWorld } from "./fixtures.ts";

describe("epochs/schedule", () => {
  let w: EpochWorld | undefined;
  let schedule: EpochSchedule | undefined;
  afterEach(async () => {
    await schedule?.stop();
    w?.close();
  });

  it("closes an epoch on every tick of a seconds expression, and stops cleanly", async () => {
    w = world({ genesisMs: Date.now() - 1 });
    const [consumer, provider] = await Promise.all([peer(1), peer(2)]);
    w.addresses.set(provider.id, provider.address);
    await w.receipt(consumer, provider, 42, Date.now());
    const closed: BuiltEpoch[] = [];
    schedule = new EpochSchedule(
      { collector: w.collector, logger: silent, onClosed: async (built) => void closed.push(built) },
      { cron: "* * * * * *" },
    );
    await schedule.start();
    await waitFor(() => closed.length >= 2, 15_000, "two epoch closes");
    await schedule.stop();
    const count = closed.length;
    assert.equal(closed[0]!.bundle.epoch, 1);
    assert.equal(closed[1]!.bundle.epoch, 2);
    assert.equal(closed[0]!.rewardTree?.size, 1, "the receipt went into epoch 1");
    await new Promise((r) => setTimeout(r, 1_200));
    assert.equal(closed.length, count, "no close after stop()");
  });

  it("rejects an invalid expression", () => {
    w = world();
    assert.throws(
      () => new EpochSchedule({ collector: w!.collector, logger: silent }, { cron: "every hour" }),
      EpochScheduleError,
    );
  });
});
