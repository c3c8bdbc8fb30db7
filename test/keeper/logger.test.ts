/**
 * `log.throttled`: lines about peers cannot be used to fill the operator's disk (issue 13, point 5).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { createLogger, THROTTLE_LINES } from "../../keeper/logger.ts";

describe("throttled logging", () => {
  it("writes THROTTLE_LINES lines per key and window, shares the budget with children, and counts the rest", () => {
    const lines: Array<Record<string, unknown>> = [];
    const log = createLogger("keeper", { level: "debug", format: "json", sink: (l) => lines.push(JSON.parse(l)) });
    const child = log.child("transfer");
    for (let i = 0; i < 10_000; i++)
      child.throttled("consumer misbehaved", "warn", "consumer misbehaved", { peer: `p${i}` });
    child.throttled("other site", "warn", "another line");
    assert.equal(lines.filter((l) => l.msg === "consumer misbehaved").length, THROTTLE_LINES);
    assert.equal(lines.filter((l) => l.msg === "another line").length, 1, "keys have their own budget");
    // A second child with the same name shares the throttle state (it lives with the root logger).
    log.child("transfer").throttled("consumer misbehaved", "warn", "consumer misbehaved");
    assert.equal(lines.filter((l) => l.msg === "consumer misbehaved").length, THROTTLE_LINES);
  });

  it("reports the number of suppressed lines when the window ends", async (t) => {
    t.mock.timers.enable({ apis: ["setTimeout", "Date"] });
    const lines: Array<Record<string, unknown>> = [];
    const log = createLogger("k", { level: "info", format: "json", sink: (l) => lines.push(JSON.parse(l)) });
    for (let i = 0; i < THROTTLE_LINES + 7; i++) log.throttled("site", "warn", "bad frame");
    t.mock.timers.tick(60_000);
    const summary = lines.find((l) => l.msg === "similar lines suppressed");
    assert.ok(summary !== undefined, "a summary line is written");
    assert.equal(summary.suppressed, 7);
    assert.equal(summary.key, "site");
    // The next window starts afresh.
    log.throttled("site", "warn", "bad frame");
    assert.equal(lines.filter((l) => l.msg === "bad frame").length, THROTTLE_LINES + 1);
  });

  it("drops throttled lines below the level without counting them", () => {
    const lines: string[] = [];
    const log = createLogger("k", { level: "warn", format: "json", sink: (l) => lines.push(l) });
    for (let i = 0; i < 100; i++) log.throttled("site", "info", "noise");
    assert.equal(lines.length, 0);
  });
});
