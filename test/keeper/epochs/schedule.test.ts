import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";

import { EpochScheduleError } from "../../../keeper/epochs/errors.ts";
import { EpochSchedule } from "../../../keeper/epochs/schedule.ts";
import { silent, waitFor } from "../helpers.ts";

describe("epochs/schedule", () => {
  let schedule: EpochSchedule | undefined;
  afterEach(async () => {
    await schedule?.stop();
  });

  it("asks for a close on every tick of a seconds expression, and none after stop()", async () => {
    let closes = 0;
    schedule = new EpochSchedule({ logger: silent, close: async () => void closes++ }, { cron: "* * * * * *" });
    await schedule.start();
    await waitFor(() => closes >= 2, 15_000, "two ticks");
    await schedule.stop();
    const count = closes;
    // A stopped node-cron task never fires again; give it more than one period to prove it.
    const later = Date.now() + 1_500;
    await waitFor(() => Date.now() >= later, 5_000, "one period after stop");
    assert.equal(closes, count, "no close after stop()");
  });

  it("skips and counts a tick while the previous close still runs, instead of queueing behind it", async () => {
    let release!: () => void;
    const blocked = new Promise<void>((r) => (release = r));
    let closes = 0;
    let skipped = 0;
    schedule = new EpochSchedule(
      {
        logger: silent,
        close: async () => {
          closes++;
          await blocked;
        },
        onSkipped: () => skipped++,
      },
      { cron: "* * * * * *" },
    );
    await schedule.start();
    await waitFor(() => skipped >= 2, 10_000, "two skipped ticks");
    assert.equal(closes, 1, "no second close while the first runs");
    assert.equal(schedule.skippedTicks, skipped);
    release();
    await waitFor(() => closes >= 2, 10_000, "a close once the first finished");
  });

  it("rejects an invalid expression", () => {
    assert.throws(
      () => new EpochSchedule({ logger: silent, close: async () => {} }, { cron: "every hour" }),
      EpochScheduleError,
    );
  });
});
